//! The native layer: real implementations of the core's host traits and registry discovery.
//! Shared by the CLI and the Node addon, so that both follow exactly the same rules.

mod discovery;
mod git_worktrees;
mod health_probe;
mod listeners;
mod os_fs;
mod protocols;
mod system_host;
mod system_probe;

pub use discovery::{REGISTRY_ENV, REGISTRY_RELATIVE, Worktree, find_worktree, registry_path};
pub use git_worktrees::GitWorktrees;
pub use health_probe::SystemHealthProbe;
pub use os_fs::{DEFAULT_LOCK_TIMEOUT, OsFs};
pub use protocols::Timeouts;
pub use system_host::{SystemClock, SystemIdentity};
pub use system_probe::SystemProbe;

use atlas_ports_core::Host;
use std::time::Duration;

/// Environment variable bounding the lock wait, in milliseconds.
pub const LOCK_TIMEOUT_ENV: &str = "ATLAS_PORTS_LOCK_TIMEOUT_MS";

/// The real host: OS filesystem, socket probe, system clock and identity.
#[derive(Debug, Default)]
pub struct NativeHost {
    pub fs: OsFs,
    pub probe: SystemProbe,
    pub clock: SystemClock,
    pub identity: SystemIdentity,
}

impl NativeHost {
    /// A host whose lock wait is `ATLAS_PORTS_LOCK_TIMEOUT_MS` when set, else 10 s.
    pub fn from_env() -> Self {
        let timeout = std::env::var(LOCK_TIMEOUT_ENV)
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map_or(DEFAULT_LOCK_TIMEOUT, Duration::from_millis);
        NativeHost { fs: OsFs::new(timeout), ..NativeHost::default() }
    }

    /// The core's view of this host.
    pub fn host(&self) -> Host<'_> {
        Host { fs: &self.fs, probe: &self.probe, clock: &self.clock, identity: &self.identity }
    }
}
