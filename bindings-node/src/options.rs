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
    /// Only say what would be released; the registry is unchanged.
    pub dry_run: Option<bool>,
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
