//! What the core needs from the platform, as traits. The native layer implements them with the
//! real filesystem and sockets; [`crate::memory`] implements them in memory for tests and wasm.

use crate::error::Result;
use crate::time::Timestamp;
use std::io;
use std::path::Path;

/// The few filesystem operations the registry needs.
pub trait FileSystem {
    /// Whether a file exists at `path`.
    fn exists(&self, path: &Path) -> bool;
    /// The whole content of a file.
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
    /// Replaces the file atomically with what `contents` writes: a reader, or a process killed
    /// at any instant, sees the old content or the new, never a mix. Called only while
    /// [`FileSystem::lock`] is held. The content is streamed so that a large registry is never
    /// held in memory twice.
    fn replace(&self, path: &Path, contents: &mut dyn FnMut(&mut dyn io::Write) -> io::Result<()>) -> io::Result<()>;
    /// Creates a folder and its parents.
    fn create_dir_all(&self, path: &Path) -> io::Result<()>;
    /// Takes the exclusive, cross-process lock that guards the registry at `registry`, waiting a
    /// bounded time ([`crate::Error::LockTimeout`] past it). Released when the guard drops, or
    /// when the process dies.
    fn lock(&self, registry: &Path) -> Result<Box<dyn LockGuard + '_>>;
}

/// Holds a lock until dropped.
pub trait LockGuard {}
impl<T> LockGuard for T {}

/// Whether a port is free on the system (Level 1 of the probes).
pub trait Probe {
    /// True only if a server could bind the port now.
    fn is_free(&self, port: u16) -> bool;
}

/// The current time.
pub trait Clock {
    /// Now, in UTC.
    fn now(&self) -> Timestamp;
}

/// Who is allocating, for `allocated_by`.
pub trait Identity {
    /// `user@hostname`.
    fn allocated_by(&self) -> String;
}
