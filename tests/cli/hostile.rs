//! The hostile-input table through the CLI: every refusal is exit status 2 with a message that
//! names the problem, and the registry is left byte for byte. (Bad ports and names are in
//! registry.rs; a lock held too long in concurrency.rs.)

use crate::support::*;
use std::os::unix::fs::PermissionsExt;

/// Every command that reads the registry.
const COMMANDS: &[&[&str]] = &[
    &["allocate", "--service", "web", "--worktree", "w"],
    &["ensure", "--service", "web", "--worktree", "w"],
    &["release", "8080"],
    &["release", "--worktree", "w", "--all"],
    &["list", "--all"],
    &["next", "web"],
    &["check", "8080"],
    &["status"],
    &["status", "--health-check"],
    &["conflicts"],
    &["env", "--worktree", "w"],
    &["prune"],
    &["--service", "web", "--worktree", "w"],
    &["--all"],
];

fn refuses_everywhere(contents: &[u8], expected: &str) {
    refuses(COMMANDS, contents, expected);
}

fn refuses(commands: &[&[&str]], contents: &[u8], expected: &str) {
    let repo = Repo::new();
    std::fs::create_dir_all(repo.registry().parent().unwrap()).unwrap();
    std::fs::write(repo.registry(), contents).unwrap();
    for args in commands {
        let run = repo.run(args);
        assert_eq!(run.code, 2, "{args:?} on {expected:?}: {}", run.stderr);
        assert!(
            run.stderr.contains("corrupt port registry") && run.stderr.contains(expected),
            "{args:?}: {}",
            run.stderr
        );
        assert!(run.stderr.contains("ports.json"), "the message names the file: {}", run.stderr);
        assert_eq!(std::fs::read(repo.registry()).unwrap(), contents, "{args:?} changed the registry");
    }
}

fn valid() -> String {
    r#"{"ranges": {"web": {"start": 8080, "end": 8099}}, "allocations": [{"port": 8080, "worktree": "w", "service": "web"}]}"#.to_owned()
}

#[test]
fn an_empty_registry() {
    refuses_everywhere(b"", "the file is empty");
}

#[test]
fn a_truncated_registry() {
    let v = valid();
    refuses_everywhere(&v.as_bytes()[..v.len() / 2], "EOF while parsing");
}

#[test]
fn a_registry_that_is_not_an_object() {
    refuses_everywhere(b"[1, 2, 3]", "expected a port registry object");
    refuses_everywhere(b"\"ports\"", "expected a port registry object");
}

#[test]
fn a_string_port() {
    refuses_everywhere(
        valid().replace("8080, \"worktree\"", "\"8080\", \"worktree\"").as_bytes(),
        "allocations[0].port: invalid type: string \"8080\"",
    );
}

#[test]
fn a_range_whose_start_is_after_its_end() {
    refuses_everywhere(valid().replace("8099", "8000").as_bytes(), "ranges.web: start 8080 is greater than end 8000");
}

#[test]
fn an_allocated_port_outside_1_to_65535() {
    refuses_everywhere(
        valid().replace("8080, \"worktree\"", "70000, \"worktree\"").as_bytes(),
        "allocations[0].port: invalid value: integer `70000`",
    );
    refuses_everywhere(
        valid().replace("8080, \"worktree\"", "0, \"worktree\"").as_bytes(),
        "allocations[0].port: invalid value: integer `0`",
    );
    refuses_everywhere(
        valid().replace("8080, \"worktree\"", "-5, \"worktree\"").as_bytes(),
        "allocations[0].port: invalid value: integer `-5`",
    );
}

#[test]
fn a_hundred_megabytes_of_whitespace() {
    // Reading 100 MB fourteen times proves nothing more than four times.
    refuses(&COMMANDS[..4], &vec![b' '; 100 << 20], "the file is empty");
}

#[test]
fn invalid_utf8() {
    refuses_everywhere(b"{\"ranges\": {\"\xff\": {}}}", "not UTF-8");
}

#[test]
fn the_registry_path_is_a_directory() {
    let repo = Repo::new();
    std::fs::create_dir_all(repo.registry()).unwrap();
    for args in
        [&["allocate", "--service", "web", "--worktree", "w"][..], &["list", "--all"], &["init"], &["init", "--force"]]
    {
        let run = repo.run(args).code(2);
        assert!(
            run.stderr.contains("ports.json as a port registry: it is a folder, not a file"),
            "{args:?}: {}",
            run.stderr
        );
    }
    assert!(repo.registry().is_dir());
}

#[test]
fn the_registry_is_a_dangling_symlink() {
    let repo = Repo::new();
    std::fs::create_dir_all(repo.registry().parent().unwrap()).unwrap();
    let gone = repo.tmp.path().join("gone.json");
    std::os::unix::fs::symlink(&gone, repo.registry()).unwrap();
    for args in [&["allocate", "--service", "web", "--worktree", "w"][..], &["list", "--all"], &["init"]] {
        let run = repo.run(args).code(2);
        let expected = format!("it is a symbolic link to {}, which does not exist", gone.display());
        assert!(run.stderr.contains(&expected), "{args:?}: {}", run.stderr);
        assert!(!run.stderr.contains("already exists") && !run.stderr.contains("atlas-ports init`"), "{}", run.stderr);
    }
    assert!(std::fs::symlink_metadata(repo.registry()).unwrap().file_type().is_symlink(), "the link is left as it was");
    assert!(!gone.exists());
}

#[test]
fn a_service_with_two_ranges_or_a_key_named_twice() {
    refuses_everywhere(
        br#"{"ranges": {"web": {"start": 8080, "end": 8099}, "web": {"start": 9000, "end": 9099}}, "allocations": []}"#,
        "the service `web` has two ranges",
    );
    refuses_everywhere(
        br#"{"ranges": {"web": {"start": 8080, "end": 8099}}, "allocations": [{"port": 8080, "worktree": "w", "service": "web", "ticket": 1, "ticket": 2}]}"#,
        "duplicate key `ticket`",
    );
}

#[test]
fn an_unreadable_registry() {
    let repo = Repo::new();
    repo.init();
    let before = repo.registry_bytes();
    std::fs::set_permissions(repo.registry(), std::fs::Permissions::from_mode(0o000)).unwrap();
    let run = if is_root() { as_nobody(&repo, &["list", "--all"]) } else { repo.run(&["list", "--all"]) }.code(2);
    assert!(run.stderr.contains("cannot read") && run.stderr.contains("Permission denied"), "{}", run.stderr);
    std::fs::set_permissions(repo.registry(), std::fs::Permissions::from_mode(0o644)).unwrap();
    assert_eq!(repo.registry_bytes(), before);
}

#[test]
fn a_registry_in_a_read_only_folder() {
    let repo = Repo::new();
    repo.init();
    let before = repo.registry_bytes();
    let dir = repo.registry().parent().unwrap().to_owned();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).unwrap();
    let run_as = |args: &[&str]| if is_root() { as_nobody(&repo, args) } else { repo.run(args) };
    let run = run_as(&["allocate", "--service", "web", "--worktree", "w"]).code(2);
    assert!(run.stderr.contains("Permission denied"), "{}", run.stderr);
    // Reading needs no write access.
    assert_eq!(run_as(&["list", "--all"]).code, 0);
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(repo.registry_bytes(), before);
    let mut files: Vec<_> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    files.sort();
    assert_eq!(files, ["ports.json", "ports.json.lock"], "no temporary file was left (the lock file is permanent)");
}

#[test]
fn suspicious_registries_load_are_reported_and_made_no_worse() {
    let repo = Repo::new();
    let b = free_block(4);
    let text = serde_json::to_string_pretty(&serde_json::json!({
        "ranges": {"web": {"start": b, "end": b + 3}, "api": {"start": b + 2, "end": b + 10}},
        "allocations": [
            {"port": b, "worktree": "a", "service": "web"},
            {"port": b, "worktree": "b", "service": "web"},
            {"port": b + 1, "worktree": "c", "service": "api"},
            {"port": b + 2, "worktree": "d", "service": "legacy"}
        ]
    }))
    .unwrap();
    std::fs::create_dir_all(repo.registry().parent().unwrap()).unwrap();
    std::fs::write(repo.registry(), &text).unwrap();
    let listed = repo.run(&["list", "--all"]).success().stdout;
    assert_eq!(listed.lines().filter(|l| l.starts_with("  Port ")).count(), 4, "it loads: {listed}");
    let report = repo.run(&["conflicts"]).code(1).stdout;
    for finding in [
        format!("Port {b} is allocated to multiple worktrees"),
        format!("Port {} of c (api) is outside the 'api' range", b + 1),
        format!("Port {} of d is allocated to service 'legacy', which has no range", b + 2),
        "Ranges 'web'".to_owned(),
    ] {
        assert!(report.contains(&finding), "{finding} missing:\n{report}");
    }
    // b, b+1 and b+2 are all held by some entry, whatever its service: web gets b+3.
    assert_eq!(
        repo.run(&["allocate", "--service", "web", "--worktree", "e", "-q"]).success().stdout,
        format!("{}\n", b + 3)
    );
    let after = repo.run(&["conflicts"]).code(1).stdout;
    assert_eq!(after.matches("REGISTRY CONFLICT").count(), 1, "no new duplicate");
}
