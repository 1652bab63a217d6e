//! The options objects of the exports, and how they become a [`Workspace`] (the same registry
//! discovery and default worktree as the `atlas-ports` program).

use atlas_ports_native::Workspace;
use std::path::PathBuf;

/// Where to work.
#[napi(object)]
#[derive(Debug, Default, Clone)]
pub struct Options {
    /// Registry file. Default: `$ATLAS_PORTS_REGISTRY`, else `.atlas/worktrees/ports.json` in the
    /// main worktree of the git repository around `cwd`.
    pub registry: Option<String>,
    /// Folder to resolve the registry and the default worktree from. Default: `process.cwd()`.
    pub cwd: Option<String>,
}

/// Options of `allocatePort` and `ensurePort`. They may stand in the worktree's place, as in
/// get-port: `ensurePort('web', { preferred: 8085 })`.
#[napi(object)]
#[derive(Debug, Default, Clone)]
pub struct AllocateOptions {
    pub registry: Option<String>,
    pub cwd: Option<String>,
    /// The worktree id, when the options stand in the worktree's place.
    pub worktree: Option<String>,
    /// Recorded with a new allocation, when the options stand in the worktree's place.
    pub description: Option<String>,
    /// A port to take if it is in the service's range and free; otherwise the first free one.
    pub preferred: Option<u32>,
    /// Ports never to hand out.
    pub exclude: Option<Vec<u32>>,
}

/// Options of `releasePort`.
#[napi(object)]
#[derive(Debug, Default, Clone)]
pub struct ReleaseOptions {
    pub registry: Option<String>,
    pub cwd: Option<String>,
    /// Release only this worktree's allocation of the port (resolves duplicate entries).
    pub worktree: Option<String>,
}

/// Options of `prune`.
#[napi(object)]
#[derive(Debug, Default, Clone)]
pub struct PruneOptions {
    pub registry: Option<String>,
    pub cwd: Option<String>,
    /// Only say what would be stopped and released; nothing is signalled, the registry is unchanged.
    pub dry_run: Option<bool>,
    /// Milliseconds a server is given to end after SIGTERM before SIGKILL (default 5000).
    pub grace: Option<f64>,
}

/// A duration given in milliseconds: `default` when absent; a negative, fractional or
/// non-finite number is refused.
pub fn millis(what: &'static str, value: Option<f64>, default: u64) -> atlas_ports_core::Result<std::time::Duration> {
    match value {
        None => Ok(std::time::Duration::from_millis(default)),
        Some(ms) if ms.is_finite() && ms >= 0.0 && ms.fract() == 0.0 && ms <= 1e12 => {
            Ok(std::time::Duration::from_millis(ms as u64))
        }
        Some(ms) => Err(atlas_ports_core::Error::InvalidArgument {
            what,
            value: ms.to_string(),
            reason: "expected a whole number of milliseconds, 0 or more".to_owned(),
        }),
    }
}

/// Options of `down`.
#[napi(object)]
#[derive(Debug, Default, Clone)]
pub struct DownOptions {
    pub registry: Option<String>,
    pub cwd: Option<String>,
    /// Milliseconds a server is given to end after SIGTERM before SIGKILL (default 5000).
    pub grace: Option<f64>,
}

/// Options of `start`: the worktree is always the one `cwd` is in.
#[napi(object)]
#[derive(Debug, Default, Clone)]
pub struct StartOptions {
    pub registry: Option<String>,
    pub cwd: Option<String>,
    /// Start this service only (it must declare a command); default: every service that does.
    pub service: Option<String>,
    /// Milliseconds to wait for the services to be ready (default 60000).
    pub timeout: Option<f64>,
}

/// Options of `stop`: the worktree is always the one `cwd` is in.
#[napi(object)]
#[derive(Debug, Default, Clone)]
pub struct StopOptions {
    pub registry: Option<String>,
    pub cwd: Option<String>,
    /// Stop this service's processes only; default: all of the worktree's.
    pub service: Option<String>,
    /// Milliseconds a server is given to end after SIGTERM before SIGKILL (default 5000).
    pub grace: Option<f64>,
}

/// Options of `initRegistry`.
#[napi(object)]
#[derive(Debug, Default, Clone)]
pub struct InitOptions {
    pub registry: Option<String>,
    pub cwd: Option<String>,
    /// Replace an existing registry with the defaults (its allocations are lost).
    pub force: Option<bool>,
}

/// The context an export runs in.
pub struct Place {
    pub ctx: Workspace,
    pub registry: Option<PathBuf>,
}

impl Place {
    pub fn new(registry: Option<String>, cwd: Option<String>) -> atlas_ports_core::Result<Place> {
        let here = std::env::current_dir().map_err(|source| atlas_ports_core::Error::System {
            action: "read the folder this process works in",
            source,
        })?;
        let cwd = match cwd {
            Some(c) => here.join(c),
            None => here,
        };
        Ok(Place { ctx: Workspace::at(cwd)?, registry: registry.map(PathBuf::from) })
    }

    pub fn ports(&self) -> atlas_ports_core::Ports<'_> {
        self.ctx.ports(self.registry.as_deref())
    }
}
