//! The worktree lifecycle in real git repositories: atlas-ports.toml committed, `up` and
//! `down`, and the post-checkout hook that runs `up` in every new worktree.

use crate::support::*;
use std::path::{Path, PathBuf};
use std::process::Command;

const PROJECT: &str = r#"# The services every worktree runs.
[services.web]
description = "Frontend dev server"
[services.database]
[env]
DATABASE_URL = "postgres://localhost:{port:database}/app"
"#;

/// git with this build's atlas-ports first on PATH (the hook looks it up there).
fn git(cwd: &Path, args: &[&str]) -> Run {
    let bin_dir = Path::new(bin()).parent().unwrap().to_owned();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@t"])
        .args(args)
        .current_dir(cwd)
        .env("PATH", path)
        .env_remove("ATLAS_PORTS_REGISTRY")
        .output()
        .unwrap()
        .into()
}

/// `PORT_…=…` and other `NAME=value` lines of an env file.
fn env_of(path: &Path) -> std::collections::BTreeMap<String, String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())))
        .collect()
}

/// A repository with the project file committed and a registry whose ranges are free here.
fn project_repo() -> (Repo, u16) {
    let repo = Repo::new();
    let base = free_block(8);
    std::fs::write(repo.main.join("atlas-ports.toml"), PROJECT).unwrap();
    std::fs::write(repo.main.join(".gitignore"), ".atlas/\n.env.ports\n").unwrap();
    git(&repo.main, &["add", "."]).success();
    git(&repo.main, &["commit", "-q", "-m", "project file"]).success();
    repo.write_registry(&[("web", base, base + 3), ("database", base + 4, base + 7)]);
    (repo, base)
}

#[test]
fn up_writes_the_env_file_once_and_down_removes_only_its_own() {
    let (repo, base) = project_repo();
    let up = repo.run(&["up"]).success();
    assert_eq!(
        up.stdout,
        format!(
            "Worktree 'repo': wrote .env.ports\n  web          {base:<5}  PORT_WEB\n  database     {:<5}  PORT_DATABASE\n",
            base + 4
        )
    );
    let env_file = repo.main.join(".env.ports");
    let env = env_of(&env_file);
    assert_eq!(env["PORT_WEB"], base.to_string());
    assert_eq!(env["DATABASE_URL"], format!("postgres://localhost:{}/app", base + 4));
    let written = std::fs::metadata(&env_file).unwrap().modified().unwrap();
    let registry = repo.registry_bytes();
    let again = repo.run(&["up"]).success();
    assert!(again.stdout.starts_with("Worktree 'repo': unchanged: .env.ports\n"), "{}", again.stdout);
    assert_eq!(std::fs::metadata(&env_file).unwrap().modified().unwrap(), written, "a second run writes nothing");
    assert_eq!(repo.registry_bytes(), registry);

    let down = repo.run(&["down"]).success();
    assert_eq!(
        down.stdout,
        format!("Worktree 'repo': released {base} (web), {} (database)\n  removed .env.ports\n", base + 4)
    );
    assert!(!env_file.exists());
    assert_eq!(repo.registry_json()["allocations"], serde_json::json!([]));

    // A file of the same name that `up` did not write: up refuses to replace it, down keeps it.
    std::fs::write(&env_file, "MINE=1\n").unwrap();
    let refused = repo.run(&["up"]).code(2);
    assert!(
        refused.stderr.contains("invalid env file \".env.ports\": exists and was not written by `atlas-ports up`"),
        "{}",
        refused.stderr
    );
    assert_eq!(repo.registry_json()["allocations"], serde_json::json!([]), "refused before any allocation");
    let down = repo.run(&["down"]).success();
    assert!(down.stdout.ends_with("  kept .env.ports: `atlas-ports up` did not write it\n"), "{}", down.stdout);
    assert_eq!(std::fs::read_to_string(&env_file).unwrap(), "MINE=1\n");
}

#[test]
fn a_new_worktree_gets_its_ports_from_the_hook_and_a_branch_switch_changes_nothing() {
    let (repo, base) = project_repo();
    repo.run(&["up"]).success();
    // The user's own post-checkout hook, which must keep running.
    let hooks = repo.main.join(".git/hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    let marker = repo.tmp.path().join("user-hook-ran");
    std::fs::write(hooks.join("post-checkout"), format!("#!/bin/sh\necho \"$3\" >> '{}'\nexit 0\n", marker.display()))
        .unwrap();
    make_executable(&hooks.join("post-checkout"));
    let installed = repo.run(&["hooks", "install"]).success();
    assert!(
        installed.stdout.starts_with("Post-checkout hook added to the existing hook: .git/hooks/post-checkout\n"),
        "{}",
        installed.stdout
    );
    assert!(
        repo.run(&["hooks", "install"]).success().stdout.starts_with("The post-checkout hook already runs atlas-ports")
    );

    let wt2 = repo.tmp.path().join("wt2");
    let added = git(&repo.main, &["worktree", "add", "-q", "-b", "feature", wt2.to_str().unwrap()]).success();
    // git shows a hook's output on its stderr.
    assert!(added.stderr.contains("Worktree 'wt2': wrote .env.ports"), "{}{}", added.stdout, added.stderr);
    let (main_env, wt2_env) = (env_of(&repo.main.join(".env.ports")), env_of(&wt2.join(".env.ports")));
    assert_eq!(main_env["PORT_WEB"], base.to_string());
    assert_eq!(wt2_env["PORT_WEB"], (base + 1).to_string(), "distinct from the main worktree's");
    assert_eq!(wt2_env["PORT_DATABASE"], (base + 5).to_string());
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "1\n", "the user's hook still ran");

    // A plain branch switch: the hook runs, atlas-ports does nothing.
    let registry = repo.registry_bytes();
    let env_before = std::fs::read(repo.main.join(".env.ports")).unwrap();
    git(&repo.main, &["checkout", "-q", "-b", "other"]).success();
    git(&repo.main, &["checkout", "-q", "-"]).success();
    assert_eq!(repo.registry_bytes(), registry, "a branch switch allocates nothing");
    assert_eq!(std::fs::read(repo.main.join(".env.ports")).unwrap(), env_before);
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "1\n1\n1\n");

    // The env file resolves a Compose file's ports.
    let compose = repo.tmp.path().join("compose.yml");
    std::fs::write(&compose, "version: \"3.8\"\nservices:\n  web:\n    image: nginx:alpine\n    ports: [\"${PORT_WEB}:80\"]\n  db:\n    image: postgres:16-alpine\n    ports: [\"${PORT_DATABASE}:5432\"]\n    environment:\n      URL: \"${DATABASE_URL}\"\n").unwrap();
    let config = Command::new("docker-compose")
        .args(["--env-file", wt2.join(".env.ports").to_str().unwrap(), "-f", compose.to_str().unwrap(), "config"])
        .output()
        .expect("docker-compose is installed (scripts/setup.sh installs Debian's package)");
    let config = String::from_utf8_lossy(&config.stdout);
    assert!(
        config.contains(&format!("published: {}", base + 1)) || config.contains(&format!("{}:80", base + 1)),
        "{config}"
    );
    assert!(config.contains(&format!("postgres://localhost:{}/app", base + 5)), "{config}");

    // down in the new worktree gives back its ports and its file only.
    run_in(&wt2, &["down"]).success();
    assert!(!wt2.join(".env.ports").exists());
    assert!(repo.main.join(".env.ports").exists());
    let held: Vec<String> = repo.registry_json()["allocations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["worktree"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(held, ["repo", "repo"]);

    // uninstall removes exactly the block.
    repo.run(&["hooks", "uninstall"]).success();
    assert_eq!(
        std::fs::read_to_string(hooks.join("post-checkout")).unwrap(),
        format!("#!/bin/sh\necho \"$3\" >> '{}'\nexit 0\n", marker.display())
    );
}

#[test]
fn hooks_follow_core_hooks_path_and_a_hook_we_created_is_removed_whole() {
    let (repo, _) = project_repo();
    git(&repo.main, &["config", "core.hooksPath", "githooks"]).success();
    repo.run(&["hooks", "install"]).success();
    let hook: PathBuf = repo.main.join("githooks/post-checkout");
    assert!(std::fs::read_to_string(&hook).unwrap().starts_with("#!/bin/sh\n# >>> atlas-ports >>>"));
    let wt = repo.tmp.path().join("wt-h");
    git(&repo.main, &["worktree", "add", "-q", "-b", "h", wt.to_str().unwrap()]).success();
    assert!(wt.join(".env.ports").exists(), "the hook under core.hooksPath ran");
    repo.run(&["hooks", "uninstall"]).success();
    assert!(!hook.exists(), "the hook we created is removed");
}

#[test]
fn an_invalid_project_file_names_the_line_and_changes_nothing() {
    let (repo, _) = project_repo();
    std::fs::write(repo.main.join("atlas-ports.toml"), "[services.web]\n\n[services.grpc]\n").unwrap();
    let before = repo.registry_bytes();
    let err = repo.run(&["up"]).code(2);
    assert!(
        err.stderr
            .contains("atlas-ports.toml, line 3: service 'grpc' has no range in the registry (ranges: web, database)"),
        "{}",
        err.stderr
    );
    std::fs::write(repo.main.join("atlas-ports.toml"), "[services.web]\n[env]\nURL = \"{port:db}\"\n").unwrap();
    let err = repo.run(&["up"]).code(2);
    assert!(
        err.stderr.contains("line 3: {port:db} names a service that is not declared (declared: web)"),
        "{}",
        err.stderr
    );
    std::fs::remove_file(repo.main.join("atlas-ports.toml")).unwrap();
    let err = repo.run(&["up"]).code(2);
    assert!(err.stderr.contains("no project file at"), "{}", err.stderr);
    assert_eq!(repo.registry_bytes(), before);
    assert!(!repo.main.join(".env.ports").exists());
}

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}
