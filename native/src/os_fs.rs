//! The real filesystem behind the core's [`FileSystem`] trait: an OS file lock on a lock file
//! beside the registry (advisory on Unix, mandatory on Windows — locking a separate file keeps
//! readers of the registry itself unblocked), and atomic replacement through a flushed
//! temporary file in the same folder renamed over the old one.

use atlas_ports_core::{Error, FileSystem, LockGuard, Result};
use std::ffi::OsString;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

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

    /// The lock file guarding a registry: `ports.json.lock` beside `ports.json`. It is never
    /// deleted: removing a lock file while another process waits on it would split the lock.
    pub fn lock_path(registry: &Path) -> PathBuf {
        sibling(registry, "", ".lock")
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
        fs::symlink_metadata(path).is_ok()
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        fs::read(path)
    }

    fn replace(&self, path: &Path, contents: &mut dyn FnMut(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
        // We hold the lock, so any temporary file of this registry was left by a writer that
        // died: remove them first, or on a nearly full disk they would make this write fail.
        sweep_stale_temporaries(path);
        let tmp = sibling(path, ".", &format!(".{}.{}.tmp", std::process::id(), unique()));
        let result = write_flushed(&tmp, path, contents).and_then(|()| crate::platform::replace_file(&tmp, path));
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result?;
        // We hold the lock, so any other temporary file was left by a writer that died.
        sweep_stale_temporaries(path);
        Ok(())
    }

    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        fs::create_dir_all(path)
    }

    fn lock(&self, registry: &Path) -> Result<Box<dyn LockGuard + '_>> {
        let lock_path = Self::lock_path(registry);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(|source| Error::Io { action: "open the lock file", path: lock_path.clone(), source })?;
        match file.try_lock() {
            Ok(()) => return Ok(Box::new(HeldLock(file))),
            Err(TryLockError::WouldBlock) => {}
            Err(TryLockError::Error(source)) => return Err(Error::Io { action: "lock", path: lock_path, source }),
        }
        let started = Instant::now();
        match wait_for_lock(file, self.lock_timeout) {
            Ok(Some(file)) => Ok(Box::new(HeldLock(file))),
            Ok(None) => Err(Error::LockTimeout { path: lock_path, waited_ms: started.elapsed().as_millis() as u64 }),
            Err(source) => Err(Error::Io { action: "lock", path: lock_path, source }),
        }
    }
}

/// Where a blocking lock attempt stands, shared by the waiter and the thread that blocks.
enum Attempt {
    Waiting,
    Acquired(File),
    Failed(io::Error),
    Abandoned,
}

/// Blocks in the kernel for the lock (which wakes waiters as soon as it is free: polling with
/// sleeps starved unlucky waiters for seconds under load), on a helper thread so that the wait
/// stays bounded. If the bound passes first, the helper gives the lock back the moment it gets
/// it: in a long-lived process (the Node addon) a late acquisition must not hold it forever.
fn wait_for_lock(file: File, timeout: Duration) -> io::Result<Option<File>> {
    let shared = std::sync::Arc::new((std::sync::Mutex::new(Attempt::Waiting), std::sync::Condvar::new()));
    let helper = std::sync::Arc::clone(&shared);
    std::thread::Builder::new().name("atlas-ports-lock".into()).stack_size(64 * 1024).spawn(move || {
        let outcome = file.lock().map(|()| file);
        let (state, ready) = &*helper;
        let mut state = state.lock().unwrap_or_else(|p| p.into_inner());
        if matches!(*state, Attempt::Waiting) {
            *state = match outcome {
                Ok(file) => Attempt::Acquired(file),
                Err(e) => Attempt::Failed(e),
            };
            ready.notify_one();
        } // else abandoned: dropping `outcome` here closes the file and releases the lock.
    })?;
    let (state, ready) = &*shared;
    let guard = state.lock().unwrap_or_else(|p| p.into_inner());
    let (mut guard, _) =
        ready.wait_timeout_while(guard, timeout, |s| matches!(s, Attempt::Waiting)).unwrap_or_else(|p| p.into_inner());
    match std::mem::replace(&mut *guard, Attempt::Abandoned) {
        Attempt::Acquired(file) => Ok(Some(file)),
        Attempt::Failed(e) => Err(e),
        Attempt::Waiting | Attempt::Abandoned => Ok(None),
    }
}

/// The open, locked lock file; closing it releases the lock.
struct HeldLock(#[allow(dead_code)] File);

fn write_flushed(
    tmp: &Path,
    target: &Path,
    contents: &mut dyn FnMut(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    let file = OpenOptions::new().write(true).create_new(true).open(tmp)?;
    // Keep the registry's permissions (e.g. a group-writable shared registry).
    if let Ok(meta) = fs::metadata(target) {
        file.set_permissions(meta.permissions())?;
    }
    let mut out = io::BufWriter::with_capacity(256 * 1024, file);
    contents(&mut out)?;
    let file = out.into_inner().map_err(io::IntoInnerError::into_error)?;
    file.sync_data()
}

/// `dir/<prefix><file name><suffix>`.
fn sibling(path: &Path, prefix: &str, suffix: &str) -> PathBuf {
    let mut name = OsString::from(prefix);
    name.push(path.file_name().unwrap_or_default());
    name.push(suffix);
    path.with_file_name(name)
}

fn temporary_prefix(path: &Path) -> OsString {
    let mut prefix = OsString::from(".");
    prefix.push(path.file_name().unwrap_or_default());
    prefix.push(".");
    prefix
}

fn sweep_stale_temporaries(path: &Path) {
    let Some(dir) = path.parent() else { return };
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    let prefix = temporary_prefix(path);
    let prefix = prefix.to_string_lossy();
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.strip_prefix(prefix.as_ref()).is_some_and(is_temporary_suffix) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// `<pid>.<nanos>.tmp`, and nothing else: `.p.json.b.1.2.tmp` belongs to `p.json.b`, not to
/// `p.json`, and must survive `p.json`'s sweep.
fn is_temporary_suffix(rest: &str) -> bool {
    let mut parts = rest.split('.');
    let digits = |p: Option<&str>| p.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    digits(parts.next()) && digits(parts.next()) && parts.next() == Some("tmp") && parts.next().is_none()
}

/// Distinguishes temporaries of one process (nanoseconds are enough: one write at a time).
fn unique() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos())
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(is_temporary_suffix("123.456.tmp"));
        assert!(!is_temporary_suffix("b.123.456.tmp"));
        assert!(!is_temporary_suffix("123.456.tmp.x"));
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
        let held = OpenOptions::new().write(true).create(true).truncate(false).open(OsFs::lock_path(&path)).unwrap();
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
}
