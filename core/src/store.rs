//! Loading and saving the registry file through a [`FileSystem`]: reads are lock-free (writes
//! replace the file atomically), every write holds the lock across read–modify–write, and a
//! failed operation never rewrites the file.

use crate::error::{Error, Result};
use crate::host::FileSystem;
use crate::registry::Registry;
use std::io;
use std::path::{Path, PathBuf};

/// The registry file at one path.
pub struct RegistryStore<'fs> {
    fs: &'fs dyn FileSystem,
    path: PathBuf,
}

impl std::fmt::Debug for RegistryStore<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryStore").field("path", &self.path).finish_non_exhaustive()
    }
}

impl<'fs> RegistryStore<'fs> {
    /// A store for the registry at `path`.
    pub fn new(fs: &'fs dyn FileSystem, path: impl Into<PathBuf>) -> Self {
        RegistryStore { fs, path: path.into() }
    }

    /// The registry file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads and validates the registry.
    pub fn load(&self) -> Result<Registry> {
        let bytes = self.fs.read(&self.path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => Error::RegistryMissing { path: self.path.clone() },
            _ => Error::io("read", &self.path, e),
        })?;
        let text = std::str::from_utf8(&bytes).map_err(|e| Error::CorruptRegistry {
            path: self.path.clone(),
            reason: format!("not UTF-8 text (invalid byte at offset {})", e.valid_up_to()),
        })?;
        Registry::from_json(text).map_err(|reason| Error::CorruptRegistry { path: self.path.clone(), reason })
    }

    /// Locked read–modify–write. `change` returns its answer and whether it modified the
    /// registry; only then is the file stamped with `now` and replaced.
    pub fn update<T>(&self, now: &str, change: impl FnOnce(&mut Registry) -> Result<(T, bool)>) -> Result<T> {
        // Checked before locking so that a missing registry leaves no lock file behind.
        if !self.fs.exists(&self.path) {
            return Err(Error::RegistryMissing { path: self.path.clone() });
        }
        let _guard = self.fs.lock(&self.path)?;
        let mut registry = self.load()?;
        let (answer, changed) = change(&mut registry)?;
        if changed {
            registry.stamp(now);
            self.write(&registry)?;
        }
        Ok(answer)
    }

    /// Writes `registry` as a new file (creating folders), refusing to replace an existing one
    /// unless `force`.
    pub fn create(&self, registry: &Registry, force: bool) -> Result<()> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            self.fs.create_dir_all(dir).map_err(|e| Error::io("create the folder", dir, e))?;
        }
        let _guard = self.fs.lock(&self.path)?;
        if !force && self.fs.exists(&self.path) {
            return Err(Error::RegistryExists { path: self.path.clone() });
        }
        self.write(registry)
    }

    fn write(&self, registry: &Registry) -> Result<()> {
        self.fs.replace(&self.path, &mut |out| registry.write_json(out)).map_err(|e| Error::io("write", &self.path, e))
    }
}
