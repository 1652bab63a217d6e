//! Where the registry is, what a hand-edited one keeps, and how bad input and bad registries are
//! refused: exit status 2, a message naming the problem, and the file left byte for byte.

use crate::support::*;
use std::process::Command;

#[test]
fn a_linked_worktree_and_the_main_worktree_share_one_registry() {
    let _ports = default_ranges();
    let repo = Repo::new();
    repo.init();
    let linked = repo.add_worktree("feature-x");
    let sub = linked.join("packages/app");
    std::fs::create_dir_all(&sub).unwrap();

    // No --worktree: the worktree id is the linked worktree's folder name.
    let run = run_in(&sub, &["allocate", "--service", "web", "--quiet"]).success();
    assert_eq!(run.stdout, "8080\n");
    assert!(!linked.join(".atlas").exists(), "no registry is created in the linked worktree");
    let a = &repo.registry_json()["allocations"][0];
    assert_eq!(a["worktree"], "feature-x");
    assert_eq!(a["worktree_path"], linked.to_str().unwrap(), "the worktree's folder is recorded");

    // The main worktree sees it, under its own default name.
    let main_name = repo.main.file_name().unwrap().to_str().unwrap().to_owned();
    repo.run(&["allocate", "--service", "web", "--quiet"]).success();
    assert_eq!(repo.run(&["list", "--worktree", "feature-x"]).success().stdout, "Port 8080 (web): \n");
    assert_eq!(repo.run(&["list"]).success().stdout, "Port 8081 (web): \n");
    assert_eq!(repo.registry_json()["allocations"][1]["worktree"], main_name.as_str());
    // From the linked worktree the registry path is shown in full (it is not under the cwd).
    let text = run_in(&linked, &["release", "8080"]).success().stdout;
    assert!(text.contains(&format!("Registry updated: {}", repo.registry().display())), "{text}");
}

#[test]
fn explicit_registry_and_environment_variable_take_precedence() {
    let repo = Repo::new();
    let elsewhere = repo.tmp.path().join("shared/ports.json");
    run_in(&repo.main, &["init", "--registry", elsewhere.to_str().unwrap()]).success();
    assert!(elsewhere.is_file());
    assert!(!repo.registry().exists());
    let range = free_block(3);
    std::fs::write(&elsewhere, registry_with_range("svc", range, range + 2)).unwrap();
    let run = command_in(&repo.main)
        .env("ATLAS_PORTS_REGISTRY", &elsewhere)
        .args(["allocate", "--service", "svc", "--worktree", "w", "--quiet"])
        .output()
        .unwrap();
    assert_eq!(Run::from(run).success().stdout, format!("{range}\n"));
    // --registry beats the environment variable.
    let run = command_in(&repo.main)
        .env("ATLAS_PORTS_REGISTRY", "/nonexistent/ports.json")
        .args(["list", "--all", "--registry", elsewhere.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(Run::from(run).success().stdout, format!("Worktree 'w':\n  Port {range} (svc): \n"));
}

#[test]
fn outside_git_the_registry_is_found_by_walking_up() {
    let tmp = tempfile::tempdir().unwrap();
    let top = tmp.path().join("projects");
    let deep = top.join("a/b");
    std::fs::create_dir_all(&deep).unwrap();
    run_in(&top, &["init"]).success();
    let range = free_block(2);
    std::fs::write(top.join(".atlas/worktrees/ports.json"), registry_with_range("svc", range, range + 1)).unwrap();
    run_in(&deep, &["allocate", "--service", "svc", "--worktree", "w"]).success();
    let missing_worktree = run_in(&deep, &["allocate", "--service", "svc"]).code(2);
    assert!(
        missing_worktree.stderr.contains("is not inside a git worktree; pass --worktree NAME"),
        "{}",
        missing_worktree.stderr
    );
}

#[test]
fn unknown_fields_at_every_level_survive_allocate_and_release() {
    let _ports = default_ranges();
    let repo = Repo::new();
    std::fs::create_dir_all(repo.registry().parent().unwrap()).unwrap();
    let fixture =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/unknown-fields.json")).unwrap();
    std::fs::write(repo.registry(), &fixture).unwrap();

    assert_eq!(repo.run(&["allocate", "--service", "web-staging", "--worktree", "b", "-q"]).success().stdout, "8181\n");
    repo.run(&["release", "8181"]).success();

    let original: serde_json::Value = serde_json::from_str(&fixture).unwrap();
    let mut now = repo.registry_json();
    assert_eq!(now["metadata"]["last_updated"].as_str().map(str::len), Some(20));
    now["metadata"]["last_updated"] = original["metadata"]["last_updated"].clone();
    assert_eq!(now, original, "everything but last_updated is as it was");
    let keys = |v: &serde_json::Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&now), keys(&original), "top-level key order kept");
    assert_eq!(keys(&now["ranges"]["web-staging"]), ["owner", "start", "end", "description"]);
}

#[test]
fn an_unknown_service_is_refused_with_the_valid_names() {
    let repo = Repo::new();
    repo.init();
    let before = repo.registry_bytes();
    for args in [
        &["allocate", "--service", "wbe", "--worktree", "w"][..],
        &["--service", "wbe", "--worktree", "w"],
        &["next", "wbe"],
    ] {
        let run = repo.run(args).code(2);
        assert_eq!(run.stdout, "");
        assert_eq!(
            run.stderr,
            "atlas-ports: error: unknown service 'wbe'; valid services: web, database, testing, debug, api, cache\n"
        );
    }
    assert_eq!(repo.registry_bytes(), before);
}

#[test]
fn an_exhausted_range_fails_cleanly() {
    let repo = Repo::new();
    let start = free_block(2);
    std::fs::create_dir_all(repo.registry().parent().unwrap()).unwrap();
    std::fs::write(repo.registry(), registry_with_range("tiny", start, start + 1)).unwrap();
    repo.run(&["allocate", "--service", "tiny", "--worktree", "a"]).success();
    repo.run(&["allocate", "--service", "tiny", "--worktree", "b"]).success();
    let before = repo.registry_bytes();
    let run = repo.run(&["allocate", "--service", "tiny", "--worktree", "c"]).code(2);
    assert!(
        run.stderr.contains(&format!("no available port in the 'tiny' range ({start}-{})", start + 1)),
        "{}",
        run.stderr
    );
    assert_eq!(repo.registry_bytes(), before);
    let next = repo.run(&["next", "tiny"]).code(1);
    assert!(next.stdout.starts_with("Next available port in 'tiny' range: none"), "{}", next.stdout);
}

#[test]
fn a_registry_named_explicitly_must_exist_and_nothing_is_created() {
    let repo = Repo::new();
    let named = repo.tmp.path().join("typo.json");
    let named = named.to_str().unwrap();
    for args in [
        &["allocate", "--service", "web", "--worktree", "w"][..],
        &["--release", "8080"],
        &["list", "--all"],
        &["check", "8080"],
        &["next", "web"],
    ] {
        let mut with_flag = args.to_vec();
        with_flag.extend(["--registry", named]);
        let run = repo.run(&with_flag).code(2);
        assert!(
            run.stderr.contains("no port registry at") && run.stderr.contains("atlas-ports init"),
            "{args:?}: {}",
            run.stderr
        );
        let out =
            Command::new(bin()).args(args).current_dir(&repo.main).env("ATLAS_PORTS_REGISTRY", named).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?} with ATLAS_PORTS_REGISTRY");
    }
    assert!(!std::path::Path::new(named).exists(), "a typo never creates a stray registry");
    assert!(!repo.main.join(".atlas").exists(), "nor the discovered one");
}

#[test]
fn a_repository_needs_no_setup() {
    let repo = Repo::new();
    let wt = repo.add_worktree("feature-x");
    // Reads see no allocations, and create nothing.
    let list = run_in(&wt, &["list", "--all"]).success();
    assert_eq!(list.stderr, "No ports allocated\n");
    let release = run_in(&wt, &["--release", "8080"]).code(1);
    assert_eq!(release.stdout, "Releasing port 8080\nPort 8080 was not allocated\n");
    let next = json_of(&run_in(&wt, &["next", "api", "--format", "json"]));
    assert_eq!((next["start"].as_u64(), next["end"].as_u64()), (Some(3000), Some(3099)), "the default ranges");
    assert!(!repo.main.join(".atlas").exists(), "reads create nothing");
    // The first allocation creates the default registry in the main worktree, and says so once.
    let first = run_in(&wt, &["ensure", "--service", "api", "--quiet"]).success();
    assert_eq!(
        first.stderr,
        format!(
            "atlas-ports: created the port registry {} with the default ranges (edit it to change them)\n",
            repo.registry().display()
        )
    );
    let port = first.stdout.trim().to_owned();
    let reg = repo.registry_json();
    assert_eq!(reg["ranges"].as_object().unwrap().len(), 6);
    assert_eq!(reg["allocations"][0]["worktree"], "feature-x");
    let second = run_in(&wt, &["ensure", "--service", "api", "--quiet"]).success();
    assert_eq!((second.stdout.trim(), second.stderr.as_str()), (port.as_str(), ""), "said once");
    // `init` is still there for custom ranges: the registry exists now.
    assert!(repo.run(&["init"]).code(2).stderr.contains("already exists"));
}

#[test]
fn the_reference_designs_registry_location_is_used_when_it_exists() {
    let repo = Repo::new();
    let base = free_block(2);
    let reference = repo.main.join("design/worktrees/ports.json");
    std::fs::create_dir_all(reference.parent().unwrap()).unwrap();
    std::fs::write(&reference, registry_with_range("svc", base, base + 1)).unwrap();
    let wt = repo.add_worktree("wt");
    let out = run_in(&wt, &["allocate", "--service", "svc", "--quiet"]).success();
    assert_eq!(out.stdout, format!("{base}\n"));
    assert_eq!(out.stderr, "", "an existing registry: nothing created");
    assert!(!repo.registry().exists(), "no second registry");
    let stored: serde_json::Value = serde_json::from_slice(&std::fs::read(&reference).unwrap()).unwrap();
    assert_eq!(stored["allocations"][0]["port"], base);
}

fn json_of(run: &Run) -> serde_json::Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", run.stdout))
}

#[test]
fn a_corrupt_registry_is_named_with_line_and_column_and_left_alone() {
    let repo = Repo::new();
    repo.init();
    let mut text = String::from_utf8(repo.registry_bytes()).unwrap();
    text.truncate(text.len() / 2); // a half-written file
    std::fs::write(repo.registry(), &text).unwrap();
    for args in [&["allocate", "--service", "web", "--worktree", "w"][..], &["release", "8080"], &["list", "--all"]] {
        let run = repo.run(args).code(2);
        assert!(
            run.stderr.contains("corrupt port registry")
                && run.stderr.contains(" line ")
                && run.stderr.contains(" column "),
            "{}",
            run.stderr
        );
        assert!(run.stderr.contains(".atlas/worktrees/ports.json"), "{}", run.stderr);
    }
    assert_eq!(repo.registry_bytes(), text.as_bytes());

    let hand_edited = text_with_string_port();
    std::fs::write(repo.registry(), &hand_edited).unwrap();
    let run = repo.run(&["allocate", "--service", "web", "--worktree", "w"]).code(2);
    assert!(run.stderr.contains("allocations[0].port: invalid type: string \"8080\""), "{}", run.stderr);
    assert_eq!(repo.registry_bytes(), hand_edited.as_bytes());
}

#[test]
fn bad_ports_and_names_are_refused_and_change_nothing() {
    let _ports = default_ranges();
    let repo = Repo::new();
    repo.init();
    repo.run(&["allocate", "--service", "api", "--worktree", "w"]).success();
    let before = repo.registry_bytes();
    for port in ["0", "65536", "70000", "-1", "80x", ""] {
        for cmd in ["release", "check"] {
            let run = repo.run(&[cmd, port]).code(2);
            assert!(run.stderr.contains(&format!("invalid port '{port}'")), "{cmd} {port}: {}", run.stderr);
        }
    }
    let cases: [(&[&str], &str); 4] = [
        (&["allocate", "--service", "", "--worktree", "w"], "invalid service \"\": must not be empty"),
        (&["allocate", "--service", "web\nx", "--worktree", "w"], "contains the control character U+000A"),
        (&["allocate", "--service", "web", "--worktree", "w\u{1b}[31m"], "invalid worktree"),
        (&["allocate", "--service", "web", "--worktree", "w", "--description", "a\tb"], "invalid description"),
    ];
    for (args, expected) in cases {
        let run = repo.run(args).code(2);
        assert!(run.stderr.contains(expected), "{args:?}: {}", run.stderr);
    }
    let long = "w".repeat(10_000);
    let run = repo.run(&["allocate", "--service", "web", "--worktree", &long]).code(2);
    assert!(run.stderr.contains("longer than 255 characters") && run.stderr.len() < 300, "{}", run.stderr);
    assert_eq!(repo.registry_bytes(), before);
}

#[test]
fn init_refuses_to_overwrite_unless_forced() {
    let _ports = default_ranges();
    let repo = Repo::new();
    repo.init();
    repo.run(&["allocate", "--service", "api", "--worktree", "w"]).success();
    let before = repo.registry_bytes();
    let run = repo.run(&["init"]).code(2);
    assert!(run.stderr.contains("already exists") && run.stderr.contains("--force"), "{}", run.stderr);
    assert_eq!(repo.registry_bytes(), before);
    repo.run(&["init", "--force"]).success();
    assert_eq!(repo.registry_json()["allocations"], serde_json::json!([]));
}

fn text_with_string_port() -> String {
    r#"{
  "ranges": {"web": {"start": 8080, "end": 8099, "description": "web"}},
  "allocations": [{"port": "8080", "worktree": "w", "service": "web"}]
}
"#
    .to_owned()
}
