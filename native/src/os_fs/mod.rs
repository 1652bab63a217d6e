//! The real filesystem behind the core's [`FileSystem`] trait:
//! - [`target`]: what a registry path stands for (a symbolic link is followed to the shared file
//!   it names; folders, FIFOs, devices and dangling links are refused, and reads are bounded);
//! - [`lock`]: the cross-process lock on `ports.json.lock` beside that file;
//! - [`replace`]: atomic, durable replacement that keeps owner and mode;
//! - `buffer`: what a registry is read into (a private copy, never a mapping);
//! - [`steady`]: a read that another program's in-place rewrite did not tear.

mod buffer;
mod lock;
mod replace;
mod steady;
mod target;

pub use target::MAX_REGISTRY_BYTES;

use atlas_ports_core::{Error, FileSystem, Fingerprint, LockGuard, Result};
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Default bound on the wait for the registry lock.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(10);

/// The operating system's filesystem.
#[derive(Debug, Clone)]
pub struct OsFs {
    lock_timeout: Duration,
}

impl OsFs {
    /// A filesystem whose lock waits at most `lock_timeout`.
    pub fn new(lock_timeout: Duration) -> Self {
        OsFs { lock_timeout }
    }

    /// How long its lock waits.
    pub fn lock_timeout(&self) -> Duration {
        self.lock_timeout
    }

    /// The lock file guarding a registry: `ports.json.lock` beside the file the registry path
    /// stands for (beside a symbolic link's target, so that every link to one shared registry
    /// takes the same lock). It is never deleted: removing a lock file while another process
    /// waits on it would split the lock.
    pub fn lock_path(registry: &Path) -> Result<PathBuf> {
        let target = resolved(registry)?;
        if target.file_name().is_none() {
            return Err(Error::UnusableFile { path: registry.to_owned(), reason: "is not a file name".into() });
        }
        Ok(replace::sibling(&target, "", ".lock"))
    }
}

impl Default for OsFs {
    fn default() -> Self {
        OsFs::new(DEFAULT_LOCK_TIMEOUT)
    }
}

impl FileSystem for OsFs {
    fn exists(&self, path: &Path) -> bool {
        // A dangling symlink counts as present, so that it is reported rather than replaced.
        std::fs::symlink_metadata(path).is_ok()
    }

    fn unusable(&self, path: &Path) -> Option<String> {
        target::unusable(path)
    }

    fn fingerprint(&self, path: &Path) -> Option<Fingerprint> {
        target::fingerprint(path)
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        steady::read_steady(path)
    }

    fn replace(&self, path: &Path, contents: &mut dyn FnMut(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
        replace::replace(&target::resolve(path)?, contents)
    }

    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        std::fs::create_dir_all(path)
    }

    fn lock(&self, registry: &Path) -> Result<Box<dyn LockGuard + '_>> {
        let file = lock::acquire(&Self::lock_path(registry)?, self.lock_timeout)?;
        Ok(Box::new(HeldLock(file)))
    }
}

/// The open, locked lock file; closing it releases the lock.
struct HeldLock(#[allow(dead_code)] File);

fn resolved(registry: &Path) -> Result<PathBuf> {
    target::resolve(registry).map_err(|e| Error::UnusableFile { path: registry.to_owned(), reason: e.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::{self, OpenOptions};
    use std::time::Instant;

    #[test]
    fn replace_keeps_permissions_and_sweeps_leftovers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ports.json");
        fs::write(&path, "old").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&path, fs::Permissions::from_mode(0o664)).unwrap();
        }
        let leftover = dir.path().join(".ports.json.999.1.tmp");
        fs::write(&leftover, "half a regis").unwrap();
        let unrelated = dir.path().join("notes.tmp");
        fs::write(&unrelated, "mine").unwrap();

        let fs_ = OsFs::default();
        let _lock = fs_.lock(&path).unwrap();
        fs_.replace(&path, &mut |out| out.write_all(b"new")).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        assert!(!leftover.exists(), "a dead writer's temporary is removed");
        assert!(unrelated.exists(), "other files are left alone");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o664);
        }
    }

    #[test]
    fn the_sweep_leaves_a_neighbouring_registrys_temporaries_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.json");
        fs::write(&path, "old").unwrap();
        let ours = dir.path().join(".p.json.999.1.tmp");
        let neighbours = dir.path().join(".p.json.b.999.1.tmp");
        fs::write(&ours, "dead writer").unwrap();
        fs::write(&neighbours, "p.json.b's write in flight").unwrap();
        let fs_ = OsFs::default();
        let _lock = fs_.lock(&path).unwrap();
        fs_.replace(&path, &mut |out| out.write_all(b"new")).unwrap();
        assert!(!ours.exists(), "a dead writer's temporary of this registry is removed");
        assert!(neighbours.exists(), "another registry's temporary is not this registry's");
        assert!(replace::is_temporary_suffix("123.456.tmp"));
        assert!(!replace::is_temporary_suffix("b.123.456.tmp"));
        assert!(!replace::is_temporary_suffix("123.456.tmp.x"));
    }

    #[test]
    fn a_held_lock_times_out_with_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ports.json");
        let held = OsFs::default();
        let _guard = held.lock(&path).unwrap();
        let waiting = OsFs::new(Duration::from_millis(150));
        let started = Instant::now();
        let err = waiting.lock(&path).err().expect("the second lock must wait, then fail");
        assert_eq!(err.code(), "ERR_LOCK_TIMEOUT");
        assert!(started.elapsed() >= Duration::from_millis(150));
        assert!(err.to_string().contains("ports.json.lock"), "{err}");
    }

    #[test]
    fn a_waiter_that_gave_up_does_not_keep_the_lock_when_it_comes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ports.json");
        let first = OsFs::default();
        let held = first.lock(&path).unwrap();
        assert!(OsFs::new(Duration::from_millis(100)).lock(&path).is_err(), "times out while held");
        drop(held); // the abandoned helper now gets the lock, and must give it back at once
        let started = Instant::now();
        let third = OsFs::new(Duration::from_secs(5));
        assert!(third.lock(&path).is_ok(), "the lock is free again");
        assert!(started.elapsed() < Duration::from_secs(1), "took {:?}", started.elapsed());
    }

    #[test]
    fn a_waiter_gets_the_lock_as_soon_as_it_is_released() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ports.json");
        // Another process's lock, as a plain locked file.
        let held =
            OpenOptions::new().write(true).create(true).truncate(false).open(OsFs::lock_path(&path).unwrap()).unwrap();
        held.lock().unwrap();
        let releaser = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            let releasing = Instant::now();
            drop(held);
            releasing
        });
        let waiter = OsFs::default();
        let got = waiter.lock(&path).map(|_| Instant::now()).unwrap();
        let released = releaser.join().unwrap();
        assert!(
            // Polling with sleeps took up to seconds under load; a blocked waiter wakes at once.
            // The bound is loose because a busy 2-core CI machine can delay any thread.
            got >= released && got - released < Duration::from_millis(500),
            "woke {:?} after the release",
            got - released
        );
    }

    #[test]
    fn a_symlinked_registry_is_replaced_through_the_link_which_stays() {
        let dir = tempfile::tempdir().unwrap();
        let shared = dir.path().join("shared.json");
        fs::write(&shared, "old").unwrap();
        let link = dir.path().join("ports.json");
        #[cfg(unix)]
        std::os::unix::fs::symlink("shared.json", &link).unwrap();
        #[cfg(windows)]
        if std::os::windows::fs::symlink_file("shared.json", &link).is_err()
            || !fs::symlink_metadata(&link).is_ok_and(|m| m.file_type().is_symlink())
        {
            return; // creating links needs a privilege on Windows, and wine's are not reported as links
        }
        assert_eq!(OsFs::lock_path(&link).unwrap(), dir.path().join("shared.json.lock"));
        let fs_ = OsFs::default();
        let _lock = fs_.lock(&link).unwrap();
        fs_.replace(&link, &mut |out| out.write_all(b"new")).unwrap();
        assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the link stays a link");
        assert_eq!(fs::read(&shared).unwrap(), b"new");
    }

    #[cfg(unix)]
    #[test]
    fn replace_never_copies_setuid_setgid_or_sticky_bits() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ports.json");
        fs::write(&path, "old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o7775)).unwrap();
        let fs_ = OsFs::default();
        let _lock = fs_.lock(&path).unwrap();
        fs_.replace(&path, &mut |out| out.write_all(b"new")).unwrap();
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o7777, 0o775);
    }

    #[cfg(unix)]
    #[test]
    fn a_lock_path_that_is_a_link_or_not_a_file_is_refused_and_nothing_is_created() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ports.json");
        let planted = dir.path().join("planted");
        std::os::unix::fs::symlink(&planted, dir.path().join("ports.json.lock")).unwrap();
        let err = OsFs::default().lock(&path).err().expect("a planted link is refused");
        assert_eq!(err.code(), "ERR_UNUSABLE_FILE");
        assert!(err.to_string().contains("ports.json.lock") && err.to_string().contains("symbolic link"), "{err}");
        assert!(!planted.exists(), "the link's target was not created");

        let other = dir.path().join("other.json");
        fs::create_dir(dir.path().join("other.json.lock")).unwrap();
        let err = OsFs::default().lock(&other).err().expect("a folder is no lock file");
        assert!(err.to_string().contains("is a folder, not the regular file a lock file must be"), "{err}");
    }

    /// Lock timeouts in a long-lived process leave no thread and no descriptor behind: the
    /// waiters of one lock file share one helper.
    #[cfg(target_os = "linux")]
    #[test]
    fn timed_out_waits_leave_no_threads_or_descriptors() {
        let count = |dir: &str| fs::read_dir(dir).unwrap().count();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ports.json");
        let held =
            OpenOptions::new().write(true).create(true).truncate(false).open(OsFs::lock_path(&path).unwrap()).unwrap();
        held.lock().unwrap();
        let waiting = OsFs::new(Duration::from_millis(1));
        assert_eq!(waiting.lock(&path).err().unwrap().code(), "ERR_LOCK_TIMEOUT");
        let (threads, fds) = (count("/proc/self/task"), count("/proc/self/fd"));
        for _ in 0..300 {
            assert_eq!(waiting.lock(&path).err().unwrap().code(), "ERR_LOCK_TIMEOUT");
        }
        // Other tests run threads of their own meanwhile: allow a few, not hundreds.
        assert!(count("/proc/self/task") <= threads + 8, "threads {threads} -> {}", count("/proc/self/task"));
        assert!(count("/proc/self/fd") <= fds + 8, "fds {fds} -> {}", count("/proc/self/fd"));
        drop(held);
        assert!(OsFs::new(Duration::from_secs(5)).lock(&path).is_ok(), "the shared helper hands the lock on");
    }

    /// A lock file replaced while a writer waits must not let two writers in: after the old
    /// file's lock comes, the waiter sees it is no longer the lock file and waits for the new.
    #[cfg(unix)]
    #[test]
    fn a_lock_file_replaced_during_the_wait_is_locked_anew() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ports.json");
        let lock_path = OsFs::lock_path(&path).unwrap();
        let old = OpenOptions::new().write(true).create(true).truncate(false).open(&lock_path).unwrap();
        old.lock().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let waiter_path = path.clone();
        let waiter = std::thread::spawn(move || {
            let fs_ = OsFs::new(Duration::from_secs(10));
            let guard = fs_.lock(&waiter_path).unwrap();
            tx.send(Instant::now()).unwrap();
            drop(guard);
        });
        std::thread::sleep(Duration::from_millis(100));
        // Someone replaces the lock file and locks the new one.
        let fresh = dir.path().join("fresh.lock");
        fs::write(&fresh, "").unwrap();
        fs::rename(&fresh, &lock_path).unwrap();
        let new = OpenOptions::new().read(true).open(&lock_path).unwrap();
        new.lock().unwrap();
        drop(old);
        assert!(rx.recv_timeout(Duration::from_millis(400)).is_err(), "the waiter must not hold a stale lock");
        let released = Instant::now();
        drop(new);
        let got = rx.recv_timeout(Duration::from_secs(5)).expect("the waiter gets the new lock");
        assert!(got >= released);
        waiter.join().unwrap();
    }

    /// A snapshot read before another writer replaced the file is not reused under the lock.
    #[test]
    fn a_stale_snapshot_is_read_again_under_the_lock() {
        use atlas_ports_core::{AllocateRequest, Change, RegistryStore};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ports.json");
        let text = |allocations: &str| {
            format!(
                "{{\n  \"ranges\": {{\"web\": {{\"start\": 9000, \"end\": 9009}}}},\n  \"allocations\": [{allocations}],\n  \"metadata\": {{\"last_updated\": \"\", \"total_allocations\": 0}}\n}}\n"
            )
        };
        fs::write(&path, text("")).unwrap();
        let fs_ = OsFs::default();
        let store = RegistryStore::new(&fs_, &path);
        let snapshot = store.snapshot().unwrap();
        assert!(snapshot.registry.allocations.is_empty());
        // Another process allocates 9000 meanwhile (same size: only the identity tells).
        std::thread::sleep(Duration::from_millis(5));
        fs::write(dir.path().join("other"), text(r#"{"port": 9000, "worktree": "x", "service": "web"}"#)).unwrap();
        fs::rename(dir.path().join("other"), &path).unwrap();
        let req = AllocateRequest::new("web", "me");
        let port = store
            .update_from(Some(snapshot), "t", |reg| {
                let a = reg.allocate(&req, "t", "u@h", &mut |_| true)?.port;
                Ok((a, Change::Appended))
            })
            .unwrap();
        assert_eq!(port, 9001, "the other writer's 9000 was seen");
        assert_eq!(store.load().unwrap().allocations.len(), 2);
    }

    /// What was read is this process's own copy: replacing the file or rewriting it in place
    /// afterwards changes nothing in it (a mapping would change, or fault when cut short).
    #[test]
    fn a_large_registry_is_read_into_a_private_copy() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("large.json");
        let text: Vec<u8> = (0..(5 << 20)).map(|i| b'a' + (i % 26) as u8).collect();
        fs::write(&path, &text).unwrap();
        let fs_ = OsFs::default();
        let held = fs_.read(&path).unwrap();
        assert_eq!(held, text);
        // In place, as `cat copy > ports.json` does: truncated, then written again.
        OpenOptions::new().write(true).truncate(true).open(&path).unwrap().write_all(b"x").unwrap();
        assert_eq!(held, text, "the copy keeps what was read");
        #[cfg(target_os = "linux")]
        {
            let path = fs::canonicalize(&path).unwrap();
            let maps = fs::read_to_string("/proc/self/maps").unwrap();
            assert!(!maps.lines().any(|l| l.ends_with(path.to_str().unwrap())), "the file is not mapped");
        }
    }

    /// Bytes that are not UTF-8 in a large registry are a clear error naming the offset, and the
    /// file is left as it was.
    #[test]
    fn a_large_registry_that_is_not_utf8_is_named_corrupt_at_its_offset() {
        use atlas_ports_core::RegistryStore;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ports.json");
        let mut bytes =
            format!("{{\"ranges\": {{}}, \"allocations\": [], \"pad\": \"{}\"}}", "x".repeat(100_000)).into_bytes();
        bytes[70_000] = 0xff;
        fs::write(&path, &bytes).unwrap();
        let fs_ = OsFs::default();
        let err = RegistryStore::new(&fs_, &path).load().unwrap_err().to_string();
        assert!(err.contains("not UTF-8 text (invalid byte at offset 70000)"), "{err}");
        assert_eq!(fs::read(&path).unwrap(), bytes);
    }
}
