//! What the core needs from the platform, as traits, and [`Host`], which bundles them. The
//! native crate implements them with the real filesystem, sockets and git; [`crate::memory`]
//! implements them in memory for tests and WebAssembly.

use crate::error::Result;
use crate::health::{Observation, ProbeTarget};
use crate::registry::Allocation;
use crate::time::Timestamp;
use std::io;
use std::path::Path;

/// The few filesystem operations the registry needs.
pub trait FileSystem {
    /// Whether a file exists at `path`.
    fn exists(&self, path: &Path) -> bool;
    /// Why the file at `path`, which exists, cannot be a registry (a folder, a FIFO, a device, a
    /// dangling symbolic link…), in words that complete "it …"; `None` when it can, or when
    /// nothing is there. Asked before the lock is taken, so that a special file never makes an
    /// operation hang while holding it.
    fn unusable(&self, path: &Path) -> Option<String> {
        let _ = path;
        None
    }
    /// What identifies the file's current content without reading it (device, inode, size,
    /// modification time): equal fingerprints mean the file was not replaced or modified in
    /// between. `None` when the host cannot tell; the store then reads and compares the text.
    fn fingerprint(&self, path: &Path) -> Option<Fingerprint> {
        let _ = path;
        None
    }
    /// The whole content of a file, copied into memory this process owns: what is checked is then
    /// what is written back, whatever another program does to the file meanwhile. A host that
    /// can tell a read torn by another program's in-place rewrite reads again, and answers an
    /// error of kind `InvalidData` (a corrupt registry, to the store) when the file never holds
    /// still.
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

/// See [`FileSystem::fingerprint`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint(pub [u64; 5]);

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

/// Levels 2 and 3 of the probes: which process listens on each port, and whether the service
/// answers its protocol. The host probes many ports concurrently, each with bounded timeouts,
/// and answers one observation per target, in order.
pub trait HealthProbe {
    fn observe(&self, targets: &[ProbeTarget]) -> Vec<Observation>;
}

/// What the host knows about the worktrees on this machine, for `prune`.
pub trait WorktreeFacts {
    /// Whether the folder exists.
    fn folder_exists(&self, path: &str) -> bool;
    /// Whether git still lists the allocation's worktree as live (by folder, by git's id of
    /// it, or by name: a moved worktree keeps its id), asking the repository recorded with
    /// the allocation, else the one the registry serves. `None` when that repository cannot be
    /// asked: the allocation is then kept.
    fn is_listed(&self, allocation: &Allocation) -> Option<bool>;
}

/// The platform services an operation uses.
#[derive(Clone, Copy)]
pub struct Host<'h> {
    pub fs: &'h dyn FileSystem,
    pub probe: &'h dyn Probe,
    pub clock: &'h dyn Clock,
    pub identity: &'h dyn Identity,
}

impl std::fmt::Debug for Host<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Host")
    }
}
