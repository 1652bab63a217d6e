//! Many real processes at once on one registry: the lock held across read–modify–write and the
//! atomic replace must give every process its own port and lose nothing.

use crate::support::*;
use std::collections::BTreeSet;
use std::process::Child;

const PROCESSES: u16 = 50;

fn spawn_all(repo: &Repo, args: impl Fn(u16) -> Vec<String>) -> Vec<(u16, Child)> {
    // Spawn everything first, then wait: the processes start within a few milliseconds of
    // each other and contend for the lock.
    (0..PROCESSES)
        .map(|i| {
            let child = command_in(&repo.main)
                .args(args(i))
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            (i, child)
        })
        .collect()
}

#[test]
fn fifty_processes_allocating_at_once_get_distinct_ports_and_lose_nothing() {
    fifty_allocate_at_once(0);
}

/// The same on a registry large enough (about 270 KB) to be mapped rather than read: the
/// mapping each process holds must never see another's write, and the old entries must come
/// through byte for byte.
#[test]
fn fifty_processes_allocating_at_once_on_a_large_registry_lose_nothing() {
    fifty_allocate_at_once(1_000);
}

/// `filler` allocations of another service are there before the processes start.
fn fifty_allocate_at_once(filler: u16) {
    let repo = Repo::new();
    let start = free_block(PROCESSES);
    let end = start + PROCESSES - 1;
    repo.write_registry(&[("bulk", start, end), ("old", 40_000, 40_000 + filler.max(1) - 1)]);
    let mut reg = repo.registry_json();
    reg["allocations"] = (0..filler)
        .map(|i| {
            serde_json::json!({"port": 40_000 + i, "worktree": format!("old-{i}"), "service": "old",
                "allocated_at": "2025-12-31T10:00:00Z", "allocated_by": "test@host",
                "description": "filler", "process_id": null, "health_status": "unknown"})
        })
        .collect();
    reg["metadata"]["total_allocations"] = filler.into();
    std::fs::write(repo.registry(), serde_json::to_string_pretty(&reg).unwrap()).unwrap();
    let before = String::from_utf8(repo.registry_bytes()).unwrap();
    // Up to the end of the last entry (or to the empty array).
    let kept = &before[..before.rfind("\n  ]").or_else(|| before.find("[]")).unwrap()];

    let children = spawn_all(&repo, |i| {
        ["allocate", "--service", "bulk", "--worktree", &format!("wt-{i}"), "--quiet"].map(String::from).to_vec()
    });
    let mut reported = BTreeSet::new();
    for (i, child) in children {
        let run = Run::from(child.wait_with_output().unwrap()).success();
        let port: u16 = run.stdout.trim().parse().unwrap();
        assert!((start..=end).contains(&port), "process {i} got {port}, outside {start}-{end}");
        assert!(reported.insert((port, format!("wt-{i}"))), "duplicate report");
    }
    let ports: BTreeSet<u16> = reported.iter().map(|(p, _)| *p).collect();
    assert_eq!(ports.len(), usize::from(PROCESSES), "every process got its own port");

    // The registry holds exactly what the processes reported.
    let reg = repo.registry_json();
    let stored: Vec<(u16, String)> = reg["allocations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["port"].as_u64().unwrap() as u16, a["worktree"].as_str().unwrap().to_owned()))
        .collect();
    let (old, new): (Vec<_>, Vec<_>) = stored.into_iter().partition(|(_, w)| w.starts_with("old-"));
    assert_eq!(new.into_iter().collect::<BTreeSet<_>>(), reported);
    assert_eq!(old.len(), usize::from(filler));
    assert_eq!(reg["allocations"].as_array().unwrap().len(), usize::from(PROCESSES + filler));
    assert_eq!(reg["metadata"]["total_allocations"], u64::from(PROCESSES + filler));
    let after = String::from_utf8(repo.registry_bytes()).unwrap();
    assert!(after.starts_with(kept), "the entries that were there are kept byte for byte");
    let leftovers: Vec<_> = std::fs::read_dir(repo.registry().parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");

    // The range is full: the next allocation fails cleanly and changes nothing.
    let before = repo.registry_bytes();
    let run = repo.run(&["allocate", "--service", "bulk", "--worktree", "one-too-many"]).code(2);
    assert!(run.stderr.contains("no available port in the 'bulk' range"), "{}", run.stderr);
    assert_eq!(repo.registry_bytes(), before);
}

#[test]
fn fifty_processes_ensuring_ten_worktrees_hold_ten_ports() {
    let repo = Repo::new();
    let start = free_block(PROCESSES);
    repo.write_registry(&[("svc", start, start + PROCESSES - 1)]);
    let children = spawn_all(&repo, |i| {
        ["ensure", "--service", "svc", "--worktree", &format!("wt-{}", i % 10), "--quiet"].map(String::from).to_vec()
    });
    let mut by_worktree = std::collections::BTreeMap::<u16, BTreeSet<u16>>::new();
    for (i, child) in children {
        let run = Run::from(child.wait_with_output().unwrap()).success();
        by_worktree.entry(i % 10).or_default().insert(run.stdout.trim().parse().unwrap());
    }
    assert!(by_worktree.values().all(|ports| ports.len() == 1), "each worktree saw one port: {by_worktree:?}");
    let distinct: BTreeSet<u16> = by_worktree.values().flatten().copied().collect();
    assert_eq!(distinct.len(), 10);
    assert_eq!(repo.registry_json()["allocations"].as_array().unwrap().len(), 10);
}

#[test]
fn a_lock_held_too_long_is_a_clear_timeout_and_changes_nothing() {
    let repo = Repo::new();
    repo.init();
    let before = repo.registry_bytes();
    // Hold the lock from this process, as another atlas-ports would.
    let lock = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(repo.registry().with_file_name("ports.json.lock"))
        .unwrap();
    lock.lock().unwrap();
    let out = command_in(&repo.main)
        .env("ATLAS_PORTS_LOCK_TIMEOUT_MS", "300")
        .args(["allocate", "--service", "web", "--worktree", "w"])
        .output()
        .unwrap();
    let run = Run::from(out).code(2);
    assert!(run.stderr.contains("timed out after") && run.stderr.contains("ports.json.lock"), "{}", run.stderr);
    assert_eq!(repo.registry_bytes(), before);
    // Readers do not need the lock.
    repo.run(&["list", "--all"]).success();
    drop(lock);
    repo.run(&["allocate", "--service", "web", "--worktree", "w", "-q"]).success();
}

#[test]
fn a_lock_timeout_that_is_not_a_number_is_an_error() {
    let repo = Repo::new();
    let base = free_block(2);
    repo.write_registry(&[("svc", base, base + 1)]);
    let before = repo.registry_bytes();
    let out = command_in(&repo.main)
        .args(["allocate", "--service", "svc", "--worktree", "w"])
        .env("ATLAS_PORTS_LOCK_TIMEOUT_MS", "abc")
        .output()
        .unwrap();
    let run = Run::from(out).code(2);
    assert!(
        run.stderr.contains("invalid ATLAS_PORTS_LOCK_TIMEOUT_MS \"abc\": expected a whole number of milliseconds"),
        "{}",
        run.stderr
    );
    assert_eq!(repo.registry_bytes(), before, "not a silent 10 s: nothing was done");
}
