//! Worktrees that move, nest, or share a registry with another repository's: an allocation is
//! judged by the repository it belongs to, follows its worktree when git moves it, and a
//! server in a nested worktree is not the outer worktree's.

use crate::support::*;
use std::path::Path;
use std::process::Command;

fn git(cwd: &Path, args: &[&str]) {
    let out = Command::new("git").args(args).current_dir(cwd).output().unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn allocations(registry: &Path) -> Vec<(String, u64, Option<String>)> {
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(registry).unwrap()).unwrap();
    let mut all: Vec<_> = json["allocations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["worktree"].as_str().unwrap().to_owned(),
                a["port"].as_u64().unwrap(),
                a["worktree_path"].as_str().map(str::to_owned),
            )
        })
        .collect();
    all.sort();
    all
}

fn port(run: Run) -> u64 {
    run.success().stdout.trim().parse().unwrap()
}

#[test]
fn a_shared_registry_judges_each_allocation_by_its_own_repository() {
    let (a, b) = (Repo::new(), Repo::new());
    let shared = tempfile::tempdir().unwrap();
    let registry = shared.path().join("ports.json");
    let start = free_block(4);
    std::fs::write(&registry, registry_with_range("web", start, start + 3)).unwrap();
    let with_registry = |cwd: &Path, args: &[&str]| -> Run {
        command_in(cwd).env("ATLAS_PORTS_REGISTRY", &registry).args(args).output().unwrap().into()
    };
    let a_wt = a.add_worktree("a-wt");
    let b_wt = b.add_worktree("b-wt");
    with_registry(&a_wt, &["ensure", "--service", "web"]).success();
    with_registry(&b_wt, &["ensure", "--service", "web"]).success();
    // B's worktree moves (git knows); A knows nothing of it.
    let b_moved = b.tmp.path().join("b-moved");
    git(&b.main, &["worktree", "move", b_wt.to_str().unwrap(), b_moved.to_str().unwrap()]);
    // Whichever folder prune runs from, B's moved worktree is asked about in B: it is kept.
    for cwd in [&a.main, &b.main, shared.path()] {
        let out = with_registry(cwd, &["prune"]).success().stdout;
        assert!(out.contains("No stale allocations") || !out.contains("b-wt"), "from {cwd:?}: {out}");
        assert_eq!(allocations(&registry).len(), 2, "from {cwd:?}: {out}");
    }
    // A's worktree is removed: A says it is gone, from whichever folder prune runs.
    git(&a.main, &["worktree", "remove", a_wt.to_str().unwrap()]);
    let out = with_registry(&b.main, &["prune"]).success().stdout;
    assert!(out.contains("a-wt"), "{out}");
    assert_eq!(allocations(&registry).iter().map(|x| x.0.as_str()).collect::<Vec<_>>(), ["b-wt"]);
    // A repository that can no longer be asked keeps its allocations.
    std::fs::remove_dir_all(&b_moved).unwrap();
    std::fs::remove_dir_all(b.main.join(".git")).unwrap();
    with_registry(&a.main, &["prune"]).success();
    assert_eq!(allocations(&registry).len(), 1, "kept: its repository can't be asked");
}

#[test]
fn an_allocation_follows_its_worktree_through_git_worktree_move() {
    let repo = Repo::new();
    let start = free_block(4);
    repo.write_registry(&[("web", start, start + 3), ("api", start + 2, start + 3)]);
    let wt = repo.add_worktree("feat");
    let web = port(run_in(&wt, &["ensure", "--service", "web", "-q"]));
    let api = port(run_in(&wt, &["ensure", "--service", "api", "-q"]));
    let moved = repo.tmp.path().join("feat-renamed");
    git(&repo.main, &["worktree", "move", wt.to_str().unwrap(), moved.to_str().unwrap()]);
    assert_eq!(port(run_in(&moved, &["ensure", "--service", "web", "-q"])), web, "the same port, not a second one");
    let path = Some(moved.display().to_string());
    assert_eq!(
        allocations(&repo.registry()),
        [("feat-renamed".to_owned(), web, path.clone()), ("feat-renamed".to_owned(), api, path.clone())],
        "every service of the worktree follows it"
    );
    assert_eq!(port(run_in(&moved, &["ensure", "--service", "api", "-q"])), api);
    let listed = run_in(&moved, &["list"]).success().stdout;
    assert!(listed.contains(&web.to_string()) && listed.contains(&api.to_string()), "{listed}");
}

#[test]
fn a_worktree_moved_with_plain_mv_keeps_its_ports_once_used_from_its_new_folder() {
    let repo = Repo::new();
    let start = free_block(4);
    repo.write_registry(&[("web", start, start + 3)]);
    let (used, unused) = (repo.add_worktree("used"), repo.add_worktree("unused"));
    let used_port = port(run_in(&used, &["ensure", "--service", "web", "-q"]));
    port(run_in(&unused, &["ensure", "--service", "web", "-q"]));
    let (used_new, unused_new) = (repo.tmp.path().join("used-new"), repo.tmp.path().join("unused-new"));
    std::fs::rename(&used, &used_new).unwrap();
    std::fs::rename(&unused, &unused_new).unwrap();
    // From its new folder, the worktree is still git's "used": the allocation follows.
    assert_eq!(port(run_in(&used_new, &["ensure", "--service", "web", "-q"])), used_port);
    // Git lists both old folders as prunable. The one used since has its new folder recorded
    // and is kept; the other looks deleted, to git as to prune, and is released.
    let out = repo.run(&["prune"]).success().stdout;
    assert!(out.contains("unused") && !out.contains("→ used"), "{out}");
    assert_eq!(
        allocations(&repo.registry()),
        [("used-new".to_owned(), used_port, Some(used_new.display().to_string()))]
    );
}

#[test]
fn a_server_in_a_nested_worktree_is_not_the_outer_worktrees_own() {
    let repo = Repo::new();
    let start = free_block(4);
    repo.write_registry(&[("web", start, start + 3)]);
    let main_port = port(repo.run(&["ensure", "--service", "web", "-q"]));
    git(&repo.main, &["worktree", "add", "-q", "-b", "x", ".worktrees/x"]);
    let nested = repo.main.join(".worktrees/x");
    // The nested worktree's server, on the port of the main worktree: a conflict, not "own".
    let _server = servers::http_server(main_port as u16, &nested);
    let moved = repo.run(&["ensure", "--service", "web", "-q"]).success();
    assert_ne!(port(Run { code: 0, stdout: moved.stdout.clone(), stderr: String::new() }), main_port);
    assert!(moved.stderr.contains("is taken by another process"), "{}", moved.stderr);
    // The main worktree's own server, in a folder of its own that is no worktree, is its own.
    let own_port = port(repo.run(&["ensure", "--service", "web", "-q"]));
    let sub = repo.main.join("app");
    std::fs::create_dir_all(&sub).unwrap();
    let _own = servers::http_server(own_port as u16, &sub);
    let kept = repo.run(&["ensure", "--service", "web", "-q"]).success();
    assert_eq!((kept.stdout.trim(), kept.stderr.as_str()), (own_port.to_string().as_str(), ""));
}
