//! The files a repository hands atlas-ports: atlas-ports.toml and the env file `up` writes.
//! Anything may be committed, so they get the registry's rules (regular files only, bounded
//! reads, opens that never block) and one more: their path stays inside the worktree.

use crate::support::*;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// git with this build's atlas-ports first on PATH (the post-checkout hook looks it up there).
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

/// Runs the binary in `cwd`, killed after `limit`: a hang fails the test instead of hanging it.
fn run_bounded(cwd: &Path, args: &[&str], limit: Duration) -> Run {
    let mut child = command_in(cwd).args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("atlas-ports {args:?} still ran after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap().into()
}

fn commit_all(repo: &Repo, message: &str) {
    git(&repo.main, &["add", "-A"]).success();
    git(&repo.main, &["commit", "-q", "-m", message]).success();
}

/// A repository whose registry has free `web` and `database` ranges; returns the first port.
fn repo_with_ranges() -> (Repo, u16) {
    let repo = Repo::new();
    let base = free_block(8);
    std::fs::write(repo.main.join(".gitignore"), ".atlas/\n.env.ports\n").unwrap();
    repo.write_registry(&[("web", base, base + 3), ("database", base + 4, base + 7)]);
    (repo, base)
}

/// Regression: with `env_file = "conf/profile.sh"` and `conf` a committed link to a folder
/// elsewhere, the hook's `up` in a new worktree and `up` in the main one wrote one shared file
/// outside both, which either worktree's `down` then removed.
#[test]
fn an_env_file_behind_a_committed_link_out_of_the_worktree_is_refused_and_nothing_is_written() {
    let (repo, _) = repo_with_ranges();
    let shared = repo.tmp.path().join("shared-conf");
    std::fs::create_dir(&shared).unwrap();
    std::fs::write(repo.main.join("atlas-ports.toml"), "env_file = \"conf/profile.sh\"\n[services.web]\n").unwrap();
    symlink(&shared, repo.main.join("conf")).unwrap();
    commit_all(&repo, "conf is shared");
    repo.run(&["hooks", "install"]).success();
    let registry = repo.registry_bytes();

    let wt = repo.tmp.path().join("feature");
    let add = git(&repo.main, &["worktree", "add", "-q", "-b", "feature", wt.to_str().unwrap()]).success();
    assert!(add.stderr.contains("conf/profile.sh"), "the hook's warning names the file: {}", add.stderr);
    for dir in [&repo.main, &wt] {
        let up = run_in(dir, &["up"]).code(2);
        assert!(
            up.stderr
                .contains("conf/profile.sh as the env file: it leads out of the worktree through the symbolic link"),
            "{}",
            up.stderr
        );
        assert!(up.stderr.contains("shared-conf"), "the link's target is named: {}", up.stderr);
        run_in(dir, &["down"]).code(2);
    }
    assert_eq!(std::fs::read_dir(&shared).unwrap().count(), 0, "nothing was written through the link");
    assert_eq!(repo.registry_bytes(), registry, "no port was allocated or released");

    // A link that stays inside the worktree is fine.
    std::fs::remove_file(repo.main.join("conf")).unwrap();
    std::fs::create_dir(repo.main.join("real-conf")).unwrap();
    symlink("real-conf", repo.main.join("conf")).unwrap();
    repo.run(&["up"]).success();
    assert!(repo.main.join("real-conf/profile.sh").is_file());
    repo.run(&["down"]).success();
    assert!(!repo.main.join("real-conf/profile.sh").exists());
}

#[test]
fn a_project_file_or_env_file_that_is_a_link_out_of_the_worktree_is_refused() {
    let (repo, _) = repo_with_ranges();
    let elsewhere = repo.tmp.path().join("elsewhere.toml");
    std::fs::write(&elsewhere, "[services.web]\n").unwrap();
    symlink(&elsewhere, repo.main.join("atlas-ports.toml")).unwrap();
    let up = repo.run(&["up"]).code(2);
    assert!(up.stderr.contains("atlas-ports.toml as the project file: it leads out of the worktree"), "{}", up.stderr);

    std::fs::remove_file(repo.main.join("atlas-ports.toml")).unwrap();
    std::fs::write(repo.main.join("atlas-ports.toml"), "[services.web]\n").unwrap();
    let outside = repo.tmp.path().join("outside.env");
    symlink(&outside, repo.main.join(".env.ports")).unwrap();
    let up = repo.run(&["up"]).code(2);
    assert!(up.stderr.contains(".env.ports as the env file"), "{}", up.stderr);
    assert!(!outside.exists());
}

/// Regression: a link to /dev/zero as either file grew the process past 1 GB in a second, and
/// a FIFO made `up` and `down` wait forever.
#[test]
fn dev_zero_fifos_and_huge_files_are_refused_at_once() {
    let limit = Duration::from_secs(10);
    let (repo, _) = repo_with_ranges();
    let registry = repo.registry_bytes();
    let project = repo.main.join("atlas-ports.toml");
    symlink("/dev/zero", &project).unwrap();
    for command in ["up", "down"] {
        let run = run_bounded(&repo.main, &[command], limit).code(2);
        assert!(run.stderr.contains("cannot use"), "{command}: {}", run.stderr);
    }

    std::fs::remove_file(&project).unwrap();
    assert!(Command::new("mkfifo").arg(&project).status().unwrap().success());
    for command in ["up", "down", "ensure"] {
        let args: &[&str] = if command == "ensure" { &["ensure", "-s", "web"] } else { &[command] };
        let run = run_bounded(&repo.main, args, limit).code(2);
        assert!(
            run.stderr.contains("atlas-ports.toml as the project file: it is a FIFO (named pipe), not a regular file"),
            "{command}: {}",
            run.stderr
        );
    }

    std::fs::remove_file(&project).unwrap();
    std::fs::write(&project, format!("[services.web]\n#{}\n", "x".repeat(2 << 20))).unwrap();
    let run = run_bounded(&repo.main, &["up"], limit).code(2);
    assert!(run.stderr.contains("is larger than the 1 MiB such a file may be"), "{}", run.stderr);

    std::fs::write(&project, "[services.web]\n").unwrap();
    let env_file = repo.main.join(".env.ports");
    assert!(Command::new("mkfifo").arg(&env_file).status().unwrap().success());
    for command in ["up", "down"] {
        let run = run_bounded(&repo.main, &[command], limit).code(2);
        assert!(
            run.stderr.contains(".env.ports as the env file: it is a FIFO (named pipe), not a regular file"),
            "{command}: {}",
            run.stderr
        );
    }
    assert_eq!(repo.registry_bytes(), registry, "nothing was allocated or released");
}

/// Regression: `web-x` and `web_x` both became PORT_WEB_X (two lines, two ports), an `[env]`
/// PORT_WEB overrode the allocated port, and a NUL in an `[env]` value was written raw.
#[test]
fn variables_that_collide_or_hold_control_characters_are_refused_naming_both() {
    let (repo, base) = repo_with_ranges();
    let mut registry: serde_json::Value = repo.registry_json();
    registry["ranges"]["web-x"] = serde_json::json!({"start": base + 8, "end": base + 9, "description": ""});
    registry["ranges"]["web_x"] = serde_json::json!({"start": base + 10, "end": base + 11, "description": ""});
    std::fs::write(repo.registry(), serde_json::to_string_pretty(&registry).unwrap()).unwrap();
    let before = repo.registry_bytes();
    let project = repo.main.join("atlas-ports.toml");
    let cases = [
        (
            "[services.web-x]\n[services.web_x]\n",
            "line 2: services 'web-x' (line 1) and 'web_x' both map to the variable PORT_WEB_X",
        ),
        (
            "[services.web]\n[env]\nPORT_WEB = \"666\"\n",
            "line 3: PORT_WEB is the port variable of service 'web' (line 1)",
        ),
        ("[services.web]\n[env]\nURL = \"a\\u0000b\"\n", "line 3: the value of URL has the control character U+0000"),
        ("[services.web]\n[env]\nURL = \"a\\u001bb\"\n", "the value of URL has the control character U+001B"),
    ];
    for (text, expected) in cases {
        std::fs::write(&project, text).unwrap();
        let up = repo.run(&["up"]).code(2);
        assert!(up.stderr.contains(expected), "{text:?}: {}", up.stderr);
        assert!(!repo.main.join(".env.ports").exists());
        assert_eq!(repo.registry_bytes(), before, "{text:?} changed the registry");
    }

    // The same two services held in the registry: `env` and `run` refuse rather than pick one.
    std::fs::remove_file(&project).unwrap();
    repo.run(&["allocate", "-s", "web-x", "-w", "w"]).success();
    repo.run(&["allocate", "-s", "web_x", "-w", "w"]).success();
    let env = repo.run(&["env", "-w", "w"]).code(2);
    assert!(env.stderr.contains("services 'web-x' and 'web_x' both map to the variable PORT_WEB_X"), "{}", env.stderr);
    let run = repo.run(&["run", "-w", "w", "-s", "web-x", "-s", "web_x", "--", "true"]).code(2);
    assert!(run.stderr.contains("both map to the variable PORT_WEB_X"), "{}", run.stderr);
}

/// An env file in `.atlas` would be written over the registry `up` had just created there, and
/// one in `.git` would land among git's hooks and config.
#[test]
fn an_env_file_in_git_or_atlas_folders_is_refused() {
    let repo = Repo::new();
    let base = free_block(2);
    for env_file in [".atlas/worktrees/ports.json", ".git/hooks/pre-commit", ".GIT/info/x"] {
        std::fs::write(
            repo.main.join("atlas-ports.toml"),
            format!("env_file = \"{env_file}\"\n[services.admin]\nrange = \"{base}-{}\"\n", base + 1),
        )
        .unwrap();
        let up = repo.run(&["up"]).code(2);
        assert!(up.stderr.contains("folder, which is not for env files"), "{env_file}: {}", up.stderr);
        assert!(!repo.registry().exists(), "{env_file}: nothing was allocated");
        assert!(!repo.main.join(".git/hooks/pre-commit").exists());
    }
}

/// Regression: a project file of 100,000 `{port:web}` placeholders made `up` rescan the value
/// once for each (over 30 s of CPU); 40,000 services made the checks quadratic.
#[test]
fn hostile_project_files_are_answered_in_bounded_time() {
    let (repo, base) = repo_with_ranges();
    let project = repo.main.join("atlas-ports.toml");
    let limit = Duration::from_secs(10);
    std::fs::write(&project, format!("[services.web]\n[env]\nA = \"{}\"\n", "{port:web}".repeat(100_000))).unwrap();
    run_bounded(&repo.main, &["up"], limit).success();
    let env = std::fs::read_to_string(repo.main.join(".env.ports")).unwrap();
    assert!(env.ends_with(&format!("\nA={}\n", base.to_string().repeat(100_000))));
    let services: String = (0..40_000).map(|i| format!("[services.s{i}]\n")).collect();
    std::fs::write(&project, services).unwrap();
    let up = run_bounded(&repo.main, &["up"], limit).code(2);
    assert!(up.stderr.contains("more than 1024 services or [env] variables"), "{}", up.stderr);
}
