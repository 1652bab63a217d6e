//! What an operation needs from its surroundings: the folder it works in, the registry's path,
//! the git worktree around that folder (found once), and the native host.

use crate::discovery::{REGISTRY_ENV, REGISTRY_RELATIVE, Worktree, find_worktree, registry_path};
use crate::{LOCK_TIMEOUT_ENV, OsFs, SystemClock, SystemIdentity, SystemProbe};
use atlas_ports_core::{Error, GitIdentity, Host, Ports, Result};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The real host: OS filesystem, socket probe, system clock and identity.
#[derive(Debug, Default)]
pub struct NativeHost {
    pub fs: OsFs,
    pub probe: SystemProbe,
    pub clock: SystemClock,
    pub identity: SystemIdentity,
}

impl NativeHost {
    /// A host whose lock wait is `ATLAS_PORTS_LOCK_TIMEOUT_MS` when set, else 10 s. A value
    /// that is not a whole number of milliseconds is an error, not a silent 10 s.
    pub fn from_env() -> Result<Self> {
        let timeout = match std::env::var(LOCK_TIMEOUT_ENV) {
            Err(_) => crate::DEFAULT_LOCK_TIMEOUT,
            Ok(v) => Duration::from_millis(v.trim().parse::<u64>().map_err(|_| Error::InvalidArgument {
                what: LOCK_TIMEOUT_ENV,
                value: v.clone(),
                reason: "expected a whole number of milliseconds".to_owned(),
            })?),
        };
        Ok(NativeHost { fs: OsFs::new(timeout), ..NativeHost::default() })
    }

    /// The core's view of this host.
    pub fn host(&self) -> Host<'_> {
        Host { fs: &self.fs, probe: &self.probe, clock: &self.clock, identity: &self.identity }
    }
}

/// The surroundings of one operation.
#[derive(Debug)]
pub struct Workspace {
    pub cwd: PathBuf,
    env_registry: Option<String>,
    worktree: Option<Worktree>,
    native: NativeHost,
}

impl Workspace {
    /// The surroundings of this process.
    pub fn from_process() -> Result<Workspace> {
        let cwd = std::env::current_dir()
            .map_err(|source| Error::System { action: "read the folder this process works in", source })?;
        Workspace::at(cwd)
    }

    /// The surroundings of an operation working in `cwd` (the Node addon's `options.cwd`).
    pub fn at(cwd: PathBuf) -> Result<Workspace> {
        Ok(Workspace {
            worktree: find_worktree(&cwd),
            env_registry: std::env::var(REGISTRY_ENV).ok(),
            native: NativeHost::from_env()?,
            cwd,
        })
    }

    /// The registry operations, on the explicit registry or the discovered one. A registry
    /// named explicitly (`explicit`, `ATLAS_PORTS_REGISTRY`) must exist; the one discovered in
    /// a git repository is created by the first allocation (reads see no allocations until
    /// then), so a repository needs no setup.
    pub fn ports(&self, explicit: Option<&Path>) -> Ports<'_> {
        let env = self.env_registry.as_deref().filter(|p| !p.is_empty());
        let path = registry_path(explicit, env, &self.cwd, self.worktree.as_ref());
        if explicit.is_none() && env.is_none() && self.worktree.is_some() {
            Ports::creating(self.native.host(), path)
        } else {
            Ports::new(self.native.host(), path)
        }
    }

    /// The git worktree around the folder worked in, if any.
    pub fn current_worktree(&self) -> Option<&Worktree> {
        self.worktree.as_ref()
    }

    /// The worktree id to use, and the worktree's folder when it is the current one.
    pub fn worktree(&self, given: Option<&str>) -> Result<(String, Option<String>)> {
        let here = self.worktree.as_ref();
        match given {
            Some(name) => {
                let path = here.filter(|w| w.name() == name).map(|w| w.root.display().to_string());
                Ok((name.to_owned(), path))
            }
            None => match here {
                Some(w) => Ok((w.name(), Some(w.root.display().to_string()))),
                None => Err(Error::NotInWorktree { cwd: self.cwd.clone() }),
            },
        }
    }

    /// Who the worktree named `name` is to git, when it is the one worked in: recorded with its
    /// allocations so that `prune` asks the right repository and a moved worktree keeps them.
    pub fn git_identity(&self, name: &str) -> Option<OwnedGitIdentity> {
        let here = self.worktree.as_ref().filter(|w| w.name() == name)?;
        Some(OwnedGitIdentity { repository: here.common_dir.display().to_string(), worktree_id: here.git_id.clone() })
    }

    /// The repository whose worktrees the registry serves: the root above
    /// `.atlas/worktrees/ports.json`, else the current repository's main worktree.
    pub fn repository_root(&self, registry: &Path) -> Option<PathBuf> {
        if registry.ends_with(REGISTRY_RELATIVE) || registry.ends_with(crate::discovery::REFERENCE_REGISTRY_RELATIVE) {
            return registry.ancestors().nth(3).map(Path::to_path_buf);
        }
        self.worktree.as_ref().map(|w| w.main_root.clone())
    }

    /// A path as users see it: relative to the folder worked in when under it.
    pub fn display(&self, path: &Path) -> String {
        match path.strip_prefix(&self.cwd) {
            Ok(rel) if !rel.as_os_str().is_empty() => rel.display().to_string(),
            _ => path.display().to_string(),
        }
    }
}

/// [`GitIdentity`], owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedGitIdentity {
    pub repository: String,
    pub worktree_id: Option<String>,
}

impl OwnedGitIdentity {
    /// The borrowed form an [`atlas_ports_core::AllocateRequest`] carries.
    pub fn identity(&self) -> GitIdentity<'_> {
        GitIdentity { repository: &self.repository, worktree_id: self.worktree_id.as_deref() }
    }
}
