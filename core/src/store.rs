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
    /// Whether a missing file means the default registry (a discovered location) rather than
    /// an error (a path named explicitly, where a typo must not create a stray registry).
    default_when_missing: bool,
    /// Set when an update created the file.
    created: std::cell::Cell<bool>,
}

impl std::fmt::Debug for RegistryStore<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryStore").field("path", &self.path).finish_non_exhaustive()
    }
}

impl<'fs> RegistryStore<'fs> {
    /// A store for the registry at `path`.
    pub fn new(fs: &'fs dyn FileSystem, path: impl Into<PathBuf>) -> Self {
        RegistryStore { fs, path: path.into(), default_when_missing: false, created: std::cell::Cell::new(false) }
    }

    /// A missing file reads as the default registry (no allocations), and the first update that
    /// changes it creates the file, folders included.
    pub fn default_when_missing(mut self) -> Self {
        self.default_when_missing = true;
        self
    }

    /// Whether an update created the file.
    pub fn created(&self) -> bool {
        self.created.get()
    }

    /// The registry file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads and validates the registry.
    pub fn load(&self) -> Result<Registry> {
        self.check_usable()?;
        let bytes = match self.fs.read(&self.path) {
            Ok(bytes) => bytes,
            Err(e)
                if e.kind() == io::ErrorKind::NotFound && self.default_when_missing && !self.fs.exists(&self.path) =>
            {
                return Ok(Registry::with_default_ranges(""));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(Error::RegistryMissing { path: self.path.clone() });
            }
            Err(e) => return Err(Error::io("read", &self.path, e)),
        };
        let text = std::str::from_utf8(&bytes).map_err(|e| Error::CorruptRegistry {
            path: self.path.clone(),
            reason: format!("not UTF-8 text (invalid byte at offset {})", e.valid_up_to()),
        })?;
        Registry::from_json(text).map_err(|reason| Error::CorruptRegistry { path: self.path.clone(), reason })
    }

    /// Locked read–modify–write. `change` returns its answer and whether it modified the
    /// registry; only then is the file stamped with `now` and replaced.
    pub fn update<T>(&self, now: &str, mut change: impl FnMut(&mut Registry) -> Result<(T, bool)>) -> Result<T> {
        // Checked before locking so that a missing registry leaves no lock file behind, and a
        // special file never makes us hang while holding the lock.
        self.check_usable()?;
        if !self.fs.exists(&self.path) {
            if !self.default_when_missing {
                return Err(Error::RegistryMissing { path: self.path.clone() });
            }
            // A change that changes nothing (releasing from an empty registry) creates nothing.
            let (answer, changed) = change(&mut Registry::with_default_ranges(now))?;
            if !changed {
                return Ok(answer);
            }
            self.create_dir()?;
        }
        let _guard = self.fs.lock(&self.path)?;
        let existed = self.fs.exists(&self.path);
        let mut registry = if existed { self.load()? } else { Registry::with_default_ranges(now) };
        let (answer, changed) = change(&mut registry)?;
        if changed {
            registry.stamp(now);
            self.write(&registry)?;
            if !existed {
                self.created.set(true);
            }
        }
        Ok(answer)
    }

    /// Writes `registry` as a new file (creating folders), refusing to replace an existing one
    /// unless `force`.
    pub fn create(&self, registry: &Registry, force: bool) -> Result<()> {
        self.check_usable()?;
        self.create_dir()?;
        let _guard = self.fs.lock(&self.path)?;
        if !force && self.fs.exists(&self.path) {
            return Err(Error::RegistryExists { path: self.path.clone() });
        }
        self.write(registry)
    }

    /// Refuses a path that is there but is no registry file (a folder, a FIFO, a dangling link).
    fn check_usable(&self) -> Result<()> {
        match self.fs.unusable(&self.path) {
            Some(reason) => Err(Error::UnusableFile { path: self.path.clone(), reason }),
            None => Ok(()),
        }
    }

    fn create_dir(&self) -> Result<()> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            self.fs.create_dir_all(dir).map_err(|e| Error::io("create the folder", dir, e))?;
        }
        Ok(())
    }

    fn write(&self, registry: &Registry) -> Result<()> {
        self.fs.replace(&self.path, &mut |out| registry.write_json(out)).map_err(|e| Error::io("write", &self.path, e))
    }
}
