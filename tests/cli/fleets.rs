//! Fleets of worktrees as agent tools lay them out: many linked worktrees whose folders share
//! the repository's name. Each is told apart by git, gets a distinct readable name and its own
//! ports, keeps them across runs, and a full range takes back the ports of removed worktrees.

use crate::support::*;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn git(cwd: &Path, args: &[&str]) {
    let out = Command::new("git").args(args).current_dir(cwd).output().unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn ensure(cwd: &Path, service: &str) -> u16 {
    run_in(cwd, &["ensure", "--service", service, "-q"]).success().stdout.trim().parse().unwrap()
}

/// `(worktree, port)` of every allocation of `service`, as stored.
fn holders(repo: &Repo, service: &str) -> Vec<(String, u16)> {
    repo.registry_json()["allocations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["service"] == service)
        .map(|a| (a["worktree"].as_str().unwrap().to_owned(), a["port"].as_u64().unwrap() as u16))
        .collect()
}

/// The layouts of Codex (`<id>/<repo>`), Conductor (`<workspaces>/<repo>/<name>`), Cursor
/// (`<repo>/<id>`), Claude Code (`<repo>/.claude/worktrees/<name>`, inside the main worktree)
/// and people's `<task>/<repo>` folders, each with two worktrees.
fn layouts(repo: &Repo) -> Vec<(&'static str, PathBuf)> {
    let main = repo.main.strip_prefix(repo.tmp.path()).unwrap().to_str().unwrap().to_owned();
    let mut out = Vec::new();
    for (layout, relative, branch) in [
        ("codex", "codex/worktrees/1f3c/repo".to_owned(), "codex-1"),
        ("codex", "codex/worktrees/9a7e/repo".to_owned(), "codex-2"),
        ("conductor", "conductor/workspaces/repo/tokyo".to_owned(), "conductor-1"),
        ("conductor", "conductor/workspaces/repo/paris".to_owned(), "conductor-2"),
        ("cursor", "cursor/worktrees/repo/abc12".to_owned(), "cursor-1"),
        ("cursor", "cursor/worktrees/repo/def34".to_owned(), "cursor-2"),
        ("claude", format!("{main}/.claude/worktrees/fix-login"), "claude-1"),
        ("claude", format!("{main}/.claude/worktrees/add-search"), "claude-2"),
        ("by hand", "task-7/repo".to_owned(), "task-7"),
        ("by hand", "task-8/repo".to_owned(), "task-8"),
    ] {
        out.push((layout, repo.add_worktree_at(&relative, branch)));
    }
    out
}

#[test]
fn worktrees_laid_out_as_agent_tools_do_never_share_a_port() {
    let repo = Repo::new();
    let start = free_block(16);
    repo.write_registry(&[("web", start, start + 15)]);
    let worktrees = layouts(&repo);
    let main_port = ensure(&repo.main, "web");
    let mut ports = BTreeSet::from([main_port]);
    for (layout, wt) in &worktrees {
        let port = ensure(wt, "web");
        assert!(ports.insert(port), "{layout} worktree {wt:?} got port {port}, already another worktree's");
    }
    // The second call from each gives the same port and writes nothing.
    let before = repo.registry_bytes();
    assert_eq!(ensure(&repo.main, "web"), main_port);
    for (_, wt) in &worktrees {
        assert!(ports.contains(&ensure(wt, "web")));
    }
    assert_eq!(repo.registry_bytes(), before, "held ports are answered without a write");

    // Readable, distinct names: the folder's name when it is free, the parent's in front when not.
    let names: BTreeSet<String> = holders(&repo, "web").into_iter().map(|(w, _)| w).collect();
    assert_eq!(names.len(), 11, "{names:?}");
    for expected in ["repo", "1f3c-repo", "9a7e-repo", "tokyo", "paris", "abc12", "def34", "fix-login", "add-search"] {
        assert!(names.contains(expected), "{expected} in {names:?}");
    }
    assert!(names.contains("task-7-repo") && names.contains("task-8-repo"), "{names:?}");
    let listed = repo.run(&["list", "--all"]).success().stdout;
    for name in &names {
        assert!(listed.contains(&format!("Worktree '{name}':\n  Port ")), "{name} in\n{listed}");
    }
    // Each worktree sees its own name in `env`, `list` and `run`.
    let (_, codex) = &worktrees[1];
    let env = run_in(codex, &["env", "--format", "sh"]).success().stdout;
    let codex_port = holders(&repo, "web").into_iter().find(|(w, _)| w == "9a7e-repo").unwrap().1;
    assert!(env.contains(&format!("export PORT_WEB='{codex_port}'")), "{env}");
    let run =
        run_in(codex, &["run", "--service", "web", "--", "sh", "-c", "echo $ATLAS_PORTS_WORKTREE:$PORT"]).success();
    assert_eq!(run.stdout, format!("9a7e-repo:{codex_port}\n"));
}

#[test]
fn a_worktree_keeps_its_name_and_port_through_git_worktree_move() {
    let repo = Repo::new();
    let start = free_block(4);
    repo.write_registry(&[("web", start, start + 3)]);
    let a = repo.add_worktree_at("a/repo", "wa");
    let b = repo.add_worktree_at("b/repo", "wb");
    let (main_port, a_port, b_port) = (ensure(&repo.main, "web"), ensure(&a, "web"), ensure(&b, "web"));
    // b moves to another task folder whose name is still the repository's.
    let moved = repo.tmp.path().join("c/repo");
    std::fs::create_dir_all(moved.parent().unwrap()).unwrap();
    git(&repo.main, &["worktree", "move", b.to_str().unwrap(), moved.to_str().unwrap()]);
    assert_eq!(ensure(&moved, "web"), b_port, "the moved worktree keeps its port");
    assert_eq!((ensure(&repo.main, "web"), ensure(&a, "web")), (main_port, a_port));
    let mut all = holders(&repo, "web");
    all.sort();
    assert_eq!(all.len(), 3, "no second port for the moved worktree: {all:?}");
    assert!(all.contains(&("c-repo".to_owned(), b_port)), "named for its new folder: {all:?}");
}

#[test]
fn an_explicit_worktree_name_is_taken_as_given() {
    let repo = Repo::new();
    let start = free_block(4);
    repo.write_registry(&[("web", start, start + 3)]);
    let a = repo.add_worktree_at("a/repo", "wa");
    let main_port = ensure(&repo.main, "web");
    // The seed's contract: `--worktree repo` is the worktree named repo, from anywhere.
    let given = run_in(&a, &["ensure", "--service", "web", "--worktree", "repo", "-q"]).success();
    assert_eq!(given.stdout.trim(), main_port.to_string());
    // …and it does not make the folder `a/repo` the main worktree's twin.
    assert_ne!(ensure(&a, "web"), main_port);
}

#[test]
fn a_full_range_takes_back_the_ports_of_removed_worktrees() {
    let repo = Repo::new();
    let start = free_block(3);
    repo.write_registry(&[("web", start, start + 2), ("api", start + 10, start + 19)]);
    let wts: Vec<PathBuf> = (1..=4).map(|i| repo.add_worktree_at(&format!("t{i}/repo"), &format!("t{i}"))).collect();
    // The first worktree to allocate is named for its folder (the main worktree allocated
    // nothing); the next ones have the task folder's name in front.
    for wt in &wts[..3] {
        ensure(wt, "web");
    }
    ensure(&wts[0], "api");
    let before = repo.registry_bytes();
    let full = run_in(&wts[3], &["ensure", "--service", "web"]).code(2).stderr;
    for part in [
        format!("no available port in the 'web' range ({start}-{})", start + 2),
        format!("held by 'repo' ({start}), 't2-repo' ({}), 't3-repo' ({})", start + 1, start + 2),
        "`atlas-ports prune` releases the ports of removed worktrees".to_owned(),
        format!("`atlas-ports ranges set web {start}-{}` widens the range", start + 5),
    ] {
        assert!(full.contains(&part), "{part:?} in {full}");
    }
    assert_eq!(repo.registry_bytes(), before, "nothing reclaimed while every worktree is live");

    git(&repo.main, &["worktree", "remove", wts[0].to_str().unwrap()]);
    let taken = run_in(&wts[3], &["ensure", "--service", "web"]).success();
    assert!(taken.stdout.contains(&format!("Allocated port: {start}")), "{}", taken.stdout);
    assert!(
        taken.stderr.contains(&format!(
            "the 'web' range was full: released {start} (web) of 'repo', {} (api) of 'repo' of worktrees that are gone",
            start + 10
        )),
        "{}",
        taken.stderr
    );
    let mut web = holders(&repo, "web");
    web.sort();
    assert_eq!(
        web,
        [("t2-repo".into(), start + 1), ("t3-repo".into(), start + 2), ("t4-repo".into(), start)],
        "the live worktrees keep theirs; the new one is named before the removed one's name is free"
    );
    assert!(holders(&repo, "api").is_empty(), "the removed worktree's other ports went too");
}

#[test]
fn a_removed_worktree_whose_server_still_listens_is_not_reclaimed() {
    let repo = Repo::new();
    let start = free_block(2);
    repo.write_registry(&[("web", start, start + 1)]);
    let a = repo.add_worktree_at("a/repo", "wa");
    let b = repo.add_worktree_at("b/repo", "wb");
    let c = repo.add_worktree_at("c/repo", "wc");
    let a_port = ensure(&a, "web");
    ensure(&b, "web");
    git(&repo.main, &["worktree", "remove", a.to_str().unwrap()]);
    let _server = std::net::TcpListener::bind(("127.0.0.1", a_port)).unwrap();
    let before = repo.registry_bytes();
    run_in(&c, &["ensure", "--service", "web"]).code(2);
    assert_eq!(repo.registry_bytes(), before, "a listener keeps a gone worktree's port");
}
