//! The subcommands beyond the reference scripts' forms: ensure, list, release --all, JSON output,
//! global flags, help.

use crate::support::*;

fn json(run: Run) -> serde_json::Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", run.stdout))
}

#[test]
fn ensure_twice_returns_the_same_port_and_writes_once() {
    let _ports = default_ranges();
    let repo = Repo::new();
    repo.init();
    let first = repo.run(&["ensure", "--service", "api", "--worktree", "w", "--quiet"]).success().stdout;
    let after_first = repo.registry_bytes();
    let second = repo.run(&["ensure", "--service", "api", "--worktree", "w", "--quiet"]).success().stdout;
    assert_eq!((first.as_str(), second.as_str()), ("3000\n", "3000\n"));
    assert_eq!(repo.registry_bytes(), after_first, "a held port is returned without a write");
    let text = repo.run(&["ensure", "--service", "api", "--worktree", "w"]).success().stdout;
    assert_eq!(text, "Port 3000 is already allocated to service 'api' in worktree 'w' (kept; nothing changed)\n");
    let j = json(repo.run(&["ensure", "--service", "api", "--worktree", "v", "--format", "json"]).success());
    assert_eq!((j["created"].as_bool(), j["allocation"]["port"].as_u64()), (Some(true), Some(3001)));
    let j = json(repo.run(&["ensure", "--service", "api", "--worktree", "v", "--format", "json"]).success());
    assert_eq!((j["created"].as_bool(), j["allocation"]["port"].as_u64()), (Some(false), Some(3001)));
}

#[test]
fn allocate_and_list_print_json_as_stored() {
    let _ports = default_ranges();
    let repo = Repo::new();
    repo.init();
    let a = json(
        repo.run(&[
            "allocate",
            "--service",
            "database",
            "--worktree",
            "w",
            "-d",
            "PostgreSQL for PR #42",
            "--format",
            "json",
        ])
        .success(),
    );
    assert_eq!(a["port"], 5432);
    assert_eq!(a["service"], "database");
    assert_eq!(a["description"], "PostgreSQL for PR #42");
    assert!(a["allocated_by"].as_str().unwrap().contains('@'));
    let listed = json(repo.run(&["list", "--worktree", "w", "--format", "json"]).success());
    assert_eq!(listed, serde_json::json!([a]));
    assert_eq!(
        repo.run(&["list", "--worktree", "w"]).success().stdout,
        "Port 5432 (database): PostgreSQL for PR #42\n"
    );
    let none = repo.run(&["list", "--worktree", "nobody"]).success();
    assert_eq!((none.stdout.as_str(), none.stderr.as_str()), ("", "No ports allocated to worktree 'nobody'\n"));
    let next = json(repo.run(&["next", "database", "--format", "json"]).success());
    assert_eq!(
        next,
        serde_json::json!({"service": "database", "port": 5433, "start": 5432, "end": 5439, "allocated": [5432]})
    );
}

#[test]
fn release_all_of_a_worktree() {
    let _ports = default_ranges();
    let repo = Repo::new();
    repo.init();
    for service in ["web", "api", "cache"] {
        repo.run(&["allocate", "--service", service, "--worktree", "gone"]).success();
    }
    repo.run(&["allocate", "--service", "web", "--worktree", "kept"]).success();
    let run = repo.run(&["release", "--worktree", "gone", "--all"]).success();
    assert!(run.stdout.starts_with("Releasing all ports of worktree 'gone'\nReleased 3 ports: "), "{}", run.stdout);
    let left = repo.registry_json()["allocations"].clone();
    assert_eq!(left.as_array().unwrap().len(), 1);
    assert_eq!(left[0]["worktree"], "kept");
    repo.run(&["release", "--worktree", "gone", "--all"]).code(1);
    let usage = repo.run(&["release", "--all"]).code(2);
    assert!(usage.stderr.contains("--worktree"), "{}", usage.stderr);
}

#[test]
fn help_documents_exit_statuses_and_examples() {
    let tmp = tempfile::tempdir().unwrap();
    let top = run_in(tmp.path(), &["--help"]).success().stdout;
    assert!(top.contains("Exit status:") && top.contains("--find-next web"), "{top}");
    for cmd in ["init", "allocate", "ensure", "release", "next", "check", "list", "ranges", "wait", "mcp"] {
        let help = run_in(tmp.path(), &[cmd, "--help"]).success().stdout;
        assert!(help.contains("Example"), "{cmd} --help has no example");
        assert!(help.contains("Exit status"), "{cmd} --help has no exit status");
        if !["init", "release", "ensure", "allocate", "mcp"].contains(&cmd) {
            assert!(help.contains("--format"), "{cmd} --help lacks --format");
        }
        assert!(help.contains("--registry"), "{cmd} --help lacks --registry");
    }
    let version = run_in(tmp.path(), &["--version"]).success().stdout;
    assert_eq!(version, format!("atlas-ports {}\n", env!("CARGO_PKG_VERSION")));
    let unknown = run_in(tmp.path(), &["frobnicate"]).code(2);
    assert!(unknown.stderr.contains("unrecognized subcommand"), "{}", unknown.stderr);
}

#[test]
fn a_closed_pipe_is_a_quiet_exit() {
    let _ports = default_ranges();
    let repo = Repo::new();
    repo.init();
    for i in 0..30 {
        repo.run(&["allocate", "--service", "testing", "--worktree", &format!("w{i}")]).success();
    }
    let mut child = command_in(&repo.main)
        .args(["list", "--all", "--format", "json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader goes away before anything is read
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}

#[test]
fn registry_and_format_may_stand_before_the_subcommand() {
    let repo = Repo::new();
    let base = free_block(2);
    let elsewhere = repo.tmp.path().join("elsewhere.json");
    std::fs::write(&elsewhere, registry_with_range("svc", base, base + 1)).unwrap();
    let path = elsewhere.to_str().unwrap();
    let allocated = repo.run(&["--registry", path, "allocate", "--service", "svc", "--worktree", "w", "-q"]).success();
    assert_eq!(allocated.stdout, format!("{base}\n"));
    let before = json(repo.run(&["--registry", path, "--format", "json", "list", "--all"]).success());
    let after = json(repo.run(&["list", "--all", "--registry", path, "--format", "json"]).success());
    assert_eq!(before, after, "the same flags after the subcommand");
    assert_eq!(before[0]["port"], base);
    assert!(!repo.registry().exists(), "the discovered registry was never touched");
    // The scripts' flag forms keep working with --registry first.
    let next = repo.run(&["--registry", path, "--find-next", "svc"]).success().stdout;
    assert!(next.starts_with(&format!("Next available port in 'svc' range: {}\n", base + 1)), "{next}");
    // env's formats belong to env.
    let refused = repo.run(&["--registry", path, "--format", "sh", "list", "--all"]).code(2);
    assert!(refused.stderr.contains("only env prints dotenv or sh"), "{}", refused.stderr);
    let sh = repo.run(&["--registry", path, "--format", "sh", "env", "--worktree", "w"]).success().stdout;
    assert!(sh.contains(&format!("export PORT_SVC='{base}'")), "{sh}");
}
