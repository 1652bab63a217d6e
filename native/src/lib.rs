//! The native host of atlas-ports: the real implementations of the core's host traits (the
//! filesystem with its cross-process lock, the bind probe, the health probes with listening
//! processes, the clock and identity, git's view of worktrees) and the [`Workspace`] that finds
//! the registry and the current worktree. The CLI and the Node addon both stand on it, so they
//! follow exactly the same rules.
//!
//! Code that differs by operating system lives in [`platform`], one file per system.

pub mod checkout;
pub mod checkouts;
mod discovery;
mod git_worktrees;
mod health_probe;
mod keys;
pub mod lifecycle;
pub mod local_ca;
mod os_fs;
pub mod platform;
mod protocols;
pub mod proxy;
pub mod readiness;
mod self_command;
pub mod servers;
mod small_file;
mod system_host;
mod system_probe;
mod workspace;

pub use discovery::{REGISTRY_ENV, REGISTRY_RELATIVE, Worktree, find_worktree, registry_path};
pub use git_worktrees::{GitFacts, GitWorktrees};
pub use health_probe::SystemHealthProbe;
pub use keys::Keys;
pub use os_fs::{DEFAULT_LOCK_TIMEOUT, MAX_REGISTRY_BYTES, OsFs};
pub use protocols::Timeouts;
pub use self_command::SelfCommand;
pub use small_file::{MAX_WORKTREE_FILE_BYTES, WorktreeFile};
pub use system_host::{SystemClock, SystemIdentity};
pub use system_probe::SystemProbe;
pub use workspace::{NativeHost, Workspace};

/// Environment variable bounding the lock wait, in milliseconds.
pub const LOCK_TIMEOUT_ENV: &str = "ATLAS_PORTS_LOCK_TIMEOUT_MS";
