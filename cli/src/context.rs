//! What a command needs from its surroundings: the current folder, the registry's path, the
//! current git worktree, and the native host.

use crate::native::{NativeHost, REGISTRY_ENV, Worktree, find_worktree, registry_path};
use atlas_ports_core::{Error, Ports, Result};
use std::path::{Path, PathBuf};

/// The surroundings of one command.
#[derive(Debug)]
pub struct Context {
    pub cwd: PathBuf,
    env_registry: Option<String>,
    worktree: Option<Worktree>,
    native: NativeHost,
}

impl Context {
    /// The surroundings of this process.
    pub fn from_process() -> Result<Context> {
        let cwd = std::env::current_dir().map_err(|source| Error::Io {
            action: "read",
            path: PathBuf::from("the current folder"),
            source,
        })?;
        Ok(Context::at(cwd))
    }

    /// The surroundings of a process working in `cwd` (the Node addon's `options.cwd`).
    pub fn at(cwd: PathBuf) -> Context {
        Context {
            worktree: find_worktree(&cwd),
            env_registry: std::env::var(REGISTRY_ENV).ok(),
            cwd,
            native: NativeHost::from_env(),
        }
    }

    /// The registry operations, on the explicit registry or the discovered one.
    pub fn ports(&self, explicit: Option<&Path>) -> Ports<'_> {
        Ports::new(self.native.host(), registry_path(explicit, self.env_registry.as_deref(), &self.cwd))
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
                None => Err(Error::InvalidArgument {
                    what: "worktree",
                    value: String::new(),
                    reason: format!(
                        "none given and {} is not inside a git worktree; pass --worktree NAME",
                        self.cwd.display()
                    ),
                }),
            },
        }
    }

    /// The repository whose worktrees the registry serves: the root above
    /// `.atlas/worktrees/ports.json`, else the current repository's main worktree.
    pub fn repository_root(&self, registry: &Path) -> Option<PathBuf> {
        if registry.ends_with(crate::native::REGISTRY_RELATIVE) {
            return registry.ancestors().nth(3).map(Path::to_path_buf);
        }
        self.worktree.as_ref().map(|w| w.main_root.clone())
    }

    /// A path as users see it: relative to the current folder when under it.
    pub fn display(&self, path: &Path) -> String {
        match path.strip_prefix(&self.cwd) {
            Ok(rel) if !rel.as_os_str().is_empty() => rel.display().to_string(),
            _ => path.display().to_string(),
        }
    }
}
