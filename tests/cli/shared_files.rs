//! Registries shared through symbolic links, shared folders and several users; special files
//! where the registry or its lock should be; commands that fail before writing. Each test here
//! failed on the code before the fix it guards.

use crate::support::*;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn allocate_in(cwd: &Path, worktree: &str) -> u16 {
    run_in(cwd, &["allocate", "--service", "web", "--worktree", worktree, "-q"])
        .success()
        .stdout
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn two_repositories_linked_to_one_registry_share_it() {
    let (a, b) = (Repo::new(), Repo::new());
    let shared_dir = tempfile::tempdir().unwrap();
    let shared = shared_dir.path().join("ports.json");
    let start = free_block(4);
    std::fs::write(&shared, registry_with_range("web", start, start + 3)).unwrap();
    for repo in [&a, &b] {
        std::fs::create_dir_all(repo.registry().parent().unwrap()).unwrap();
        symlink(&shared, repo.registry()).unwrap();
    }
    // Many writers through both links at once: one lock, one file, nothing lost.
    let writers: Vec<_> = (0..4)
        .map(|i| {
            let repo = if i % 2 == 0 { &a } else { &b };
            command_in(&repo.main)
                .args(["allocate", "--service", "web", "--worktree", &format!("w{i}"), "-q"])
                .spawn()
                .unwrap()
        })
        .collect();
    for mut w in writers {
        assert!(w.wait().unwrap().success());
    }
    let mut ports: Vec<u64> =
        serde_json::from_slice::<serde_json::Value>(&std::fs::read(&shared).unwrap()).unwrap()["allocations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["port"].as_u64().unwrap())
            .collect();
    ports.sort();
    assert_eq!(ports, (start..start + 4).map(u64::from).collect::<Vec<_>>(), "four distinct ports in the one file");
    for repo in [&a, &b] {
        assert!(std::fs::symlink_metadata(repo.registry()).unwrap().file_type().is_symlink(), "the link stays a link");
        let listed = repo.run(&["list", "--all"]).success().stdout;
        assert_eq!(listed.lines().filter(|l| l.starts_with("  Port ")).count(), 4, "{listed}");
    }
    assert!(shared_dir.path().join("ports.json.lock").exists(), "the lock is beside the shared file");
    assert!(!a.registry().with_file_name("ports.json.lock").exists(), "not beside the link");
    let _ = allocate_in; // used by the ownership test
}

#[test]
fn a_planted_lock_link_is_refused_and_its_target_never_created() {
    let shared = tempfile::tempdir().unwrap();
    std::fs::set_permissions(shared.path(), std::fs::Permissions::from_mode(0o1777)).unwrap();
    let victim = shared.path().join("victim");
    symlink(&victim, shared.path().join("ports.json.lock")).unwrap();
    let registry = shared.path().join("ports.json");
    let run = run_in(shared.path(), &["init", "--registry", registry.to_str().unwrap()]).code(2);
    assert!(
        run.stderr.contains("ports.json.lock")
            && run.stderr.contains("is a symbolic link; a lock file is never followed"),
        "{}",
        run.stderr
    );
    assert!(!victim.exists(), "the planted link's target was not created");
    assert!(!registry.exists());
}

#[test]
fn a_registry_link_planted_by_another_user_in_a_shared_folder_is_not_followed() {
    if !is_root() {
        return; // planting as another user needs root
    }
    let shared = tempfile::tempdir().unwrap();
    std::fs::set_permissions(shared.path(), std::fs::Permissions::from_mode(0o1777)).unwrap();
    let target = shared.path().join("elsewhere.json");
    std::fs::write(&target, registry_with_range("web", 20_000, 20_003)).unwrap();
    let before = std::fs::read(&target).unwrap();
    let registry = shared.path().join("ports.json");
    let planted = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "ln", "-s"])
        .args([&target, &registry])
        .status()
        .unwrap();
    assert!(planted.success());
    let run = run_in(
        shared.path(),
        &["allocate", "--service", "web", "--worktree", "w", "--registry", registry.to_str().unwrap()],
    )
    .code(2);
    assert!(
        run.stderr.contains("symbolic link owned by another user (uid 65534) in a shared folder"),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read(&target).unwrap(), before);
}

#[test]
fn a_fifo_registry_is_refused_at_once_without_holding_the_lock() {
    let repo = Repo::new();
    std::fs::create_dir_all(repo.registry().parent().unwrap()).unwrap();
    let made = Command::new("mkfifo").arg(repo.registry()).status().unwrap();
    assert!(made.success());
    let started = Instant::now();
    for args in [&["allocate", "--service", "web", "--worktree", "w"][..], &["list", "--all"], &["status"]] {
        let run = command_in(&repo.main).args(args).env("ATLAS_PORTS_LOCK_TIMEOUT_MS", "2000").output().unwrap();
        let run = Run::from(run).code(2);
        assert!(run.stderr.contains("it is a FIFO (named pipe), not a regular file"), "{}", run.stderr);
    }
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
}

#[test]
fn a_link_to_a_device_is_refused_before_reading() {
    let repo = Repo::new();
    std::fs::create_dir_all(repo.registry().parent().unwrap()).unwrap();
    symlink("/dev/zero", repo.registry()).unwrap();
    let run = repo.run(&["list", "--all"]).code(2);
    assert!(
        run.stderr.contains("it is a symbolic link to /dev/zero, which is a device, not a regular file"),
        "{}",
        run.stderr
    );
}

#[test]
fn init_on_the_root_folder_creates_nothing() {
    let had_lock = Path::new("/.lock").exists();
    let run = run_in(Path::new("/"), &["init", "--registry", "/"]).code(2);
    assert!(run.stderr.contains("cannot use / as a port registry: it is a folder, not a file"), "{}", run.stderr);
    assert_eq!(Path::new("/.lock").exists(), had_lock, "no /.lock was created");
}

#[test]
fn a_write_by_root_keeps_the_users_ownership_and_drops_setuid() {
    if !is_root() {
        return;
    }
    let repo = Repo::new();
    let start = free_block(2);
    repo.write_registry(&[("web", start, start + 1)]);
    let registry = repo.registry();
    // The user's folder and file, as in their repository.
    for path in [registry.parent().unwrap(), registry.parent().unwrap().parent().unwrap(), &registry] {
        std::os::unix::fs::chown(path, Some(65534), Some(65534)).unwrap();
    }
    std::fs::set_permissions(&registry, std::fs::Permissions::from_mode(0o4664)).unwrap();
    assert_eq!(allocate_in(&repo.main, "w"), start);
    let meta = std::fs::metadata(&registry).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (65534, 65534), "the file's user keeps it");
    assert_eq!(meta.mode() & 0o7777, 0o664, "permissions kept, setuid dropped");
    // The lock file root created: its user can still lock it (read-only) and write.
    let run = as_nobody(&repo, &["release", &start.to_string()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn a_failed_run_writes_nothing() {
    let repo = Repo::new();
    let start = free_block(4);
    repo.write_registry(&[("web", start, start + 1), ("api", start + 2, start + 3)]);
    let before = repo.registry_bytes();
    let run = repo.run(&["run", "--worktree", "w", "--service", "web", "--service", "nope", "--", "true"]).code(2);
    assert!(run.stderr.contains("unknown service 'nope'"), "{}", run.stderr);
    let run = repo.run(&["run", "--worktree", "w", "--service", "api", "--", "echo", "{port:web}"]).code(2);
    assert!(run.stderr.contains("{port:web} names a service not given with --service"), "{}", run.stderr);
    assert_eq!(repo.registry_bytes(), before, "byte for byte");
}

#[test]
fn control_characters_from_the_registry_are_shown_escaped() {
    let repo = Repo::new();
    let start = free_block(1);
    let text = serde_json::to_string_pretty(&serde_json::json!({
        "ranges": {"web": {"start": start, "end": start, "description": "web"}},
        "allocations": [{"port": start, "worktree": "evil\u{1b}[2J", "service": "web", "description": "\u{9b}31m"}]
    }))
    .unwrap();
    std::fs::create_dir_all(repo.registry().parent().unwrap()).unwrap();
    std::fs::write(repo.registry(), text).unwrap();
    for args in [&["list", "--all"][..], &["status"], &["--all"], &["status", "--all"]] {
        let run = repo.run(args).success();
        assert!(
            !run.stdout.contains('\u{1b}') && !run.stdout.contains('\u{9b}'),
            "{args:?} printed raw: {:?}",
            run.stdout
        );
    }
    let run = repo.run(&["status", "--all"]).success();
    assert!(run.stdout.contains("evil\\u{1b}[2J") && run.stdout.contains("\\u{9b}31m"), "{}", run.stdout);
    let run = repo.run(&["release", "--worktree", "evil\u{1b}[2J", "--all"]);
    assert!(!run.stderr.contains('\u{1b}') && !run.stdout.contains('\u{1b}'), "{run:?}");
}
