//! What an operation needs from its surroundings: the folder it works in, the registry's path,
//! the git worktree around that folder (found once), and the native host.

use crate::discovery::{
    REFERENCE_REGISTRY_RELATIVE, REGISTRY_ENV, REGISTRY_RELATIVE, Worktree, find_worktree, registry_path,
};
use crate::{LOCK_TIMEOUT_ENV, OsFs, SystemClock, SystemIdentity, SystemProbe};
use atlas_ports_core::{AllocateRequest, Error, GitIdentity, Host, Ports, Result, WorktreeFolder};
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
    /// What names the worktree worked in, found once.
    here: Option<Here>,
    native: NativeHost,
}

/// [`WorktreeFolder`], owned.
#[derive(Debug)]
struct Here {
    name: String,
    parent: Option<String>,
    path: String,
    repository: String,
    git_id: Option<String>,
}

impl Here {
    fn of(w: &Worktree) -> Here {
        let parent = w.root.parent().and_then(Path::file_name).map(|n| n.to_string_lossy().into_owned());
        Here {
            name: w.name(),
            parent,
            path: w.root.display().to_string(),
            repository: w.common_dir.display().to_string(),
            git_id: w.git_id.clone(),
        }
    }
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
        let worktree = find_worktree(&cwd);
        Ok(Workspace {
            here: worktree.as_ref().map(Here::of),
            worktree,
            env_registry: std::env::var(REGISTRY_ENV).ok(),
            native: NativeHost::from_env()?,
            cwd,
        })
    }

    /// The registry operations, on the explicit registry or the discovered one. A registry
    /// named explicitly (`explicit`, `ATLAS_PORTS_REGISTRY`) must exist; the one discovered in
    /// a git repository is created by the first allocation (reads see no allocations until
    /// then), so a repository needs no setup. A full range reclaims the ports of worktrees git
    /// says are gone.
    pub fn ports(&self, explicit: Option<&Path>) -> Ports<'_> {
        let env = self.env_registry.as_deref().filter(|p| !p.is_empty());
        let path = registry_path(explicit, env, &self.cwd, self.worktree.as_ref());
        let facts = Box::new(crate::GitFacts::new(self.repository_root(&path).as_deref()));
        let ports = if explicit.is_none() && env.is_none() && self.worktree.is_some() {
            Ports::creating(self.native.host(), path)
        } else {
            Ports::new(self.native.host(), path)
        };
        ports.reclaiming(facts)
    }

    /// The reference design's registry (`design/worktrees/ports.json`) when the discovered
    /// registry is ours beside it, so that it is not read: the caller says so, since two
    /// registries would hand out the same ports.
    pub fn ignored_reference_registry(&self, explicit: Option<&Path>) -> Option<PathBuf> {
        if explicit.is_some() || self.env_registry.as_deref().is_some_and(|p| !p.is_empty()) {
            return None;
        }
        let wt = self.worktree.as_ref()?;
        let reference = wt.main_root.join(REFERENCE_REGISTRY_RELATIVE);
        (wt.main_root.join(REGISTRY_RELATIVE).is_file() && reference.is_file()).then_some(reference)
    }

    /// The git worktree around the folder worked in, if any.
    pub fn current_worktree(&self) -> Option<&Worktree> {
        self.worktree.as_ref()
    }

    /// The worktree folder worked in, as the registry's naming needs it ([`WorktreeFolder`]).
    pub fn folder(&self) -> Option<WorktreeFolder<'_>> {
        let here = self.here.as_ref()?;
        Some(WorktreeFolder {
            name: &here.name,
            parent: here.parent.as_deref(),
            path: &here.path,
            git: GitIdentity { repository: &here.repository, worktree_id: here.git_id.as_deref() },
        })
    }

    /// A request for `service` in the worktree named `given`, else in the worktree worked in,
    /// whose name the registry decides under its lock. A name given is taken as it is; it
    /// records the folder worked in (for `prune` and moves) only when it is the name the
    /// registry gives that folder.
    pub fn request<'a>(
        &'a self,
        ports: &Ports<'_>,
        service: &'a str,
        given: Option<&'a str>,
    ) -> Result<AllocateRequest<'a>> {
        let folder = self.folder();
        match (given, folder) {
            (None, Some(folder)) => Ok(AllocateRequest::in_folder(service, folder)),
            (None, None) => Err(Error::NotInWorktree { cwd: self.cwd.clone() }),
            (Some(name), folder) => {
                let mut req = AllocateRequest::new(service, name);
                if let Some(folder) = folder.filter(|f| f.name == name)
                    && ports.load()?.name_of(&folder) == name
                {
                    req.worktree_path = Some(folder.path);
                    req.git = Some(folder.git);
                }
                Ok(req)
            }
        }
    }

    /// The worktree named `given`, else the name the registry gives the worktree worked in.
    pub fn worktree_name(&self, ports: &Ports<'_>, given: Option<&str>) -> Result<String> {
        match (given, self.folder()) {
            (Some(name), _) => Ok(name.to_owned()),
            (None, Some(folder)) => Ok(ports.load()?.name_of(&folder)),
            (None, None) => Err(Error::NotInWorktree { cwd: self.cwd.clone() }),
        }
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
