//! The registry lock: an OS file lock on `ports.json.lock` beside the registry (advisory on
//! Unix, mandatory on Windows; locking a separate file keeps readers of the registry unblocked).
//!
//! - The lock file is opened read-only when it exists (a lock needs no write access, so a
//!   registry shared by several users works whoever created the lock file), never through a
//!   final symbolic link, never blocking, and it must be a regular file.
//! - The wait is bounded. A blocked waiter sleeps in the kernel, which wakes it as soon as the
//!   lock is free (polling starved unlucky waiters for seconds under load), on a helper thread;
//!   a process has at most one helper per lock file, shared by all its waiters, so a long-lived
//!   host (the Node addon) that times out again and again leaves no thread or descriptor behind.
//! - Once held, the lock is checked to still be the file at the lock path: a lock file replaced
//!   while we waited would let two writers in at once.

use atlas_ports_core::{Error, Result};
use std::collections::HashMap;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

/// Takes the lock at `lock_path`, waiting at most `timeout`.
pub fn acquire(lock_path: &Path, timeout: Duration) -> Result<File> {
    let started = Instant::now();
    let deadline = started + timeout;
    loop {
        let file = open(lock_path)?;
        let held = match file.try_lock() {
            Ok(()) => Some(file),
            Err(TryLockError::WouldBlock) => {
                wait(lock_path, file, deadline).map_err(|source| io_error("lock", lock_path, source))?
            }
            Err(TryLockError::Error(source)) => return Err(io_error("lock", lock_path, source)),
        };
        let Some(file) = held else {
            return Err(Error::LockTimeout {
                path: lock_path.to_owned(),
                waited_ms: started.elapsed().as_millis() as u64,
            });
        };
        if still_at(&file, lock_path) {
            return Ok(file);
        }
        // The file we locked is no longer the lock file: lock the one there now.
        drop(file);
        if Instant::now() >= deadline {
            return Err(Error::LockTimeout {
                path: lock_path.to_owned(),
                waited_ms: started.elapsed().as_millis() as u64,
            });
        }
    }
}

/// Opens the lock file as described in the module's notes, creating it when absent.
fn open(lock_path: &Path) -> Result<File> {
    let opened = options(false).open(lock_path).or_else(|e| match e.kind() {
        io::ErrorKind::NotFound => options(true).open(lock_path),
        _ => Err(e),
    });
    let file = match opened {
        Ok(file) => file,
        Err(source) => {
            if fs::symlink_metadata(lock_path).is_ok_and(|m| m.file_type().is_symlink()) {
                return Err(unusable(lock_path, "is a symbolic link; a lock file is never followed"));
            }
            return Err(io_error("open the lock file", lock_path, source));
        }
    };
    let meta = file.metadata().map_err(|source| io_error("open the lock file", lock_path, source))?;
    if !meta.is_file() {
        let what = if meta.is_dir() { "a folder" } else { "a special file" };
        return Err(unusable(lock_path, &format!("is {what}, not the regular file a lock file must be")));
    }
    Ok(file)
}

#[cfg(unix)]
fn options(create: bool) -> OpenOptions {
    use rustix::fs::OFlags;
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = OpenOptions::new();
    options.read(true).custom_flags((OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC).bits() as i32);
    if create {
        options.write(true).create(true).truncate(false);
    }
    options
}

#[cfg(not(unix))]
fn options(create: bool) -> OpenOptions {
    let mut options = OpenOptions::new();
    options.read(true);
    if create {
        options.write(true).create(true).truncate(false);
    }
    options
}

/// Whether the open file is still the one at `path` (not replaced or removed meanwhile).
#[cfg(unix)]
fn still_at(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), fs::symlink_metadata(path)) {
        (Ok(open), Ok(there)) => open.dev() == there.dev() && open.ino() == there.ino(),
        _ => false,
    }
}

/// Windows: a file's identity needs its file index, which std does not expose yet; the lock
/// file is checked only to be there still.
#[cfg(not(unix))]
fn still_at(_file: &File, path: &Path) -> bool {
    path.exists()
}

fn unusable(path: &Path, reason: &str) -> Error {
    Error::UnusableFile { path: path.to_owned(), reason: reason.to_owned() }
}

fn io_error(action: &'static str, path: &Path, source: io::Error) -> Error {
    Error::Io { action, path: path.to_owned(), source }
}

/// This process's waiters on one lock file.
#[derive(Default)]
struct Waiters {
    state: Mutex<WaitState>,
    changed: Condvar,
}

#[derive(Default)]
struct WaitState {
    /// Callers waiting now.
    wanted: usize,
    /// Whether a helper thread is blocked in the kernel for the lock.
    helper: bool,
    /// The lock, taken by the helper, for the first waiter to collect.
    parked: Option<File>,
    /// The helper's failure, for the first waiter to report.
    failed: Option<io::Error>,
}

fn waiters_of(lock_path: &Path) -> Arc<Waiters> {
    static ALL: OnceLock<Mutex<HashMap<PathBuf, Arc<Waiters>>>> = OnceLock::new();
    let mut all = relock(ALL.get_or_init(Default::default));
    Arc::clone(all.entry(lock_path.to_owned()).or_default())
}

/// Waits until `deadline` for the helper to take the lock; starts the helper (with `file`, an
/// open lock file) when none is running. `None` when the time ran out.
fn wait(lock_path: &Path, file: File, deadline: Instant) -> io::Result<Option<File>> {
    let waiters = waiters_of(lock_path);
    let mut file = Some(file);
    let mut state = relock(&waiters.state);
    state.wanted += 1;
    let outcome = loop {
        if let Some(held) = state.parked.take() {
            break Ok(Some(held));
        }
        if let Some(e) = state.failed.take() {
            break Err(e);
        }
        if !state.helper {
            let helper_file = match file.take() {
                Some(f) => f,
                None => match open(lock_path) {
                    Ok(f) => f,
                    Err(e) => break Err(io::Error::other(e.to_string())),
                },
            };
            if let Err(e) = spawn_helper(Arc::clone(&waiters), helper_file) {
                break Err(e);
            }
            state.helper = true;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break Ok(None);
        }
        state = waiters.changed.wait_timeout(state, left).unwrap_or_else(|p| p.into_inner()).0;
    };
    state.wanted -= 1;
    outcome
}

/// Blocks for the lock on a thread of its own. When it comes, the helper parks it for a waiter,
/// or, if every waiter gave up meanwhile, gives it back at once (closing the file releases it).
fn spawn_helper(waiters: Arc<Waiters>, file: File) -> io::Result<()> {
    std::thread::Builder::new().name("atlas-ports-lock".into()).stack_size(64 * 1024).spawn(move || {
        let outcome = file.lock().map(|()| file);
        let mut state = relock(&waiters.state);
        state.helper = false;
        if state.wanted > 0 {
            match outcome {
                Ok(file) => state.parked = Some(file),
                Err(e) => state.failed = Some(e),
            }
        }
        waiters.changed.notify_all();
    })?;
    Ok(())
}

fn relock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
