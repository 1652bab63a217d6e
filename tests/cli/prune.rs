//! `prune` against real git worktrees: removed ones lose their ports; moved, idle, listening
//! and never-recorded ones keep them.

use crate::support::*;
use std::net::TcpListener;
use std::process::Command;

fn git(cwd: &std::path::Path, args: &[&str]) {
    let out = Command::new("git").args(args).current_dir(cwd).output().unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn held_by(repo: &Repo) -> Vec<String> {
    let mut names: Vec<String> = repo.registry_json()["allocations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["worktree"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn prune_releases_only_worktrees_that_are_really_gone() {
    let repo = Repo::new();
    let start = free_block(10);
    repo.write_registry(&[("svc", start, start + 9)]);
    let mut port_of = std::collections::BTreeMap::new();
    for name in ["wt-removed", "wt-deleted", "wt-idle", "wt-moved", "wt-listening"] {
        let path = repo.add_worktree(name);
        // Allocated from inside the worktree: its folder is recorded.
        let port: u16 = run_in(&path, &["allocate", "--service", "svc", "-q"]).success().stdout.trim().parse().unwrap();
        port_of.insert(name, port);
    }
    // Allocated under a name from elsewhere: no folder is recorded, so it is never pruned.
    repo.run(&["allocate", "--service", "svc", "--worktree", "ci-job-17"]).success();

    let tmp = repo.tmp.path();
    git(&repo.main, &["worktree", "remove", tmp.join("wt-removed").to_str().unwrap()]);
    std::fs::remove_dir_all(tmp.join("wt-deleted")).unwrap(); // deleted behind git's back: "prunable"
    git(
        &repo.main,
        &["worktree", "move", tmp.join("wt-moved").to_str().unwrap(), tmp.join("renamed").to_str().unwrap()],
    );
    git(&repo.main, &["worktree", "remove", tmp.join("wt-listening").to_str().unwrap()]);
    let _server = TcpListener::bind(("127.0.0.1", port_of["wt-listening"])).unwrap();

    let before = repo.registry_bytes();
    let dry = repo.run(&["prune", "--dry-run"]).success().stdout;
    assert!(dry.contains(&format!("{} → wt-removed (svc)", port_of["wt-removed"])), "{dry}");
    assert!(dry.contains(&format!("{} → wt-deleted (svc)", port_of["wt-deleted"])), "{dry}");
    assert!(dry.ends_with("Would release 2 ports (dry run: the registry is unchanged)\n"), "{dry}");
    assert_eq!(repo.registry_bytes(), before, "a dry run changes nothing");

    let json: serde_json::Value =
        serde_json::from_str(&repo.run(&["prune", "--format", "json"]).success().stdout).unwrap();
    let mut released: Vec<&str> =
        json["released"].as_array().unwrap().iter().map(|a| a["worktree"].as_str().unwrap()).collect();
    released.sort();
    assert_eq!(released, ["wt-deleted", "wt-removed"]);
    assert_eq!(held_by(&repo), ["ci-job-17", "wt-idle", "wt-listening", "wt-moved"]);
    assert_eq!(repo.registry_json()["metadata"]["total_allocations"], 4);

    // Nothing more to do: a second prune changes nothing.
    let after = repo.registry_bytes();
    assert!(repo.run(&["prune"]).success().stdout.ends_with("Nothing to prune\n"));
    assert_eq!(repo.registry_bytes(), after);
}

#[test]
fn prune_from_a_linked_worktree_asks_the_same_repository() {
    let repo = Repo::new();
    let start = free_block(2);
    repo.write_registry(&[("svc", start, start + 1)]);
    let keep = repo.add_worktree("wt-keep");
    let gone = repo.add_worktree("wt-gone");
    run_in(&keep, &["allocate", "--service", "svc", "-q"]).success();
    run_in(&gone, &["allocate", "--service", "svc", "-q"]).success();
    git(&repo.main, &["worktree", "remove", gone.to_str().unwrap()]);
    let out = run_in(&keep, &["prune"]).success().stdout;
    assert!(out.contains("Released 1 port"), "{out}");
    assert_eq!(held_by(&repo), ["wt-keep"]);
}
