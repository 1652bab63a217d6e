//! Loading and saving the registry file through a [`FileSystem`]: reads are lock-free (writes
//! replace the file atomically), every write holds the lock across read–modify–write, and a
//! failed operation never rewrites the file.

use crate::error::{Error, Result};
use crate::host::{FileBytes, FileSystem, Fingerprint};
use crate::registry::Registry;
use crate::registry::splice::Layout;
use std::io;
use std::path::{Path, PathBuf};

/// What a change did to the registry, which decides how the file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Nothing: the file is not written.
    Unchanged,
    /// Only new allocations at the end: the file's text is kept and they are inserted into it.
    Appended,
    /// Anything else: the whole file is written again.
    Rewritten,
}

impl From<bool> for Change {
    fn from(changed: bool) -> Change {
        if changed { Change::Rewritten } else { Change::Unchanged }
    }
}

/// A registry file's content, known to be UTF-8 text.
#[derive(Debug)]
struct Text(FileBytes);

impl Text {
    fn new(bytes: FileBytes) -> std::result::Result<Text, std::str::Utf8Error> {
        std::str::from_utf8(&bytes)?;
        Ok(Text(bytes))
    }

    /// The text. Checked again on every call (0.45 ms for 13.5 MB), which keeps this crate free
    /// of `unsafe`, and means that a mapped file another program rewrote in place meanwhile is
    /// refused as corrupt instead of being taken as text.
    fn as_str(&self, path: &Path) -> Result<&str> {
        std::str::from_utf8(&self.0).map_err(|e| Error::CorruptRegistry {
            path: path.to_owned(),
            reason: format!("changed in place while it was read (invalid byte at offset {})", e.valid_up_to()),
        })
    }
}

/// A registry as read, with the text it was parsed from and the file's fingerprint before.
#[derive(Debug)]
pub struct Snapshot {
    text: Option<Text>,
    fingerprint: Option<Fingerprint>,
    /// Where an append goes in `text`, when the parse learned it.
    layout: Option<Layout>,
    pub registry: Registry,
}

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
        Ok(self.snapshot()?.registry)
    }

    /// Reads and validates the registry, keeping its text: a later [`RegistryStore::update_from`]
    /// reuses the parse when the file has not changed meanwhile, and can append to the text
    /// instead of rewriting it.
    pub fn snapshot(&self) -> Result<Snapshot> {
        let fingerprint = self.fs.fingerprint(&self.path);
        let text = self.read_text()?;
        let (registry, layout) = match &text {
            Some(text) => self.parse(text.as_str(&self.path)?)?,
            None => (Registry::with_default_ranges(""), None),
        };
        let fingerprint = fingerprint.filter(|_| text.is_some());
        Ok(Snapshot { text, fingerprint, layout, registry })
    }

    /// The file's text; `None` when it is missing and that means the default registry.
    fn read_text(&self) -> Result<Option<Text>> {
        self.check_usable()?;
        let bytes = match self.fs.read(&self.path) {
            Ok(bytes) => bytes,
            Err(e)
                if e.kind() == io::ErrorKind::NotFound && self.default_when_missing && !self.fs.exists(&self.path) =>
            {
                return Ok(None);
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(Error::RegistryMissing { path: self.path.clone() });
            }
            Err(e) => return Err(Error::io("read", &self.path, e)),
        };
        Text::new(bytes).map(Some).map_err(|e| Error::CorruptRegistry {
            path: self.path.clone(),
            reason: format!("not UTF-8 text (invalid byte at offset {})", e.valid_up_to()),
        })
    }

    fn parse(&self, text: &str) -> Result<(Registry, Option<Layout>)> {
        Registry::from_json_laid_out(text).map_err(|reason| Error::CorruptRegistry { path: self.path.clone(), reason })
    }

    /// Locked read–modify–write. `change` returns its answer and what it did to the registry
    /// (a `bool` for "changed"); unless nothing, the file is stamped with `now` and replaced.
    pub fn update<T, C: Into<Change>>(
        &self,
        now: &str,
        change: impl FnMut(&mut Registry) -> Result<(T, C)>,
    ) -> Result<T> {
        self.update_from(None, now, change)
    }

    /// [`RegistryStore::update`], starting from a snapshot read without the lock: if the file is
    /// still the same text under the lock, its parse is reused.
    pub fn update_from<T, C: Into<Change>>(
        &self,
        snapshot: Option<Snapshot>,
        now: &str,
        mut change: impl FnMut(&mut Registry) -> Result<(T, C)>,
    ) -> Result<T> {
        // Checked before locking so that a missing registry leaves no lock file behind, and a
        // special file never makes us hang while holding the lock.
        self.check_usable()?;
        if !self.fs.exists(&self.path) {
            if !self.default_when_missing {
                return Err(Error::RegistryMissing { path: self.path.clone() });
            }
            // A change that changes nothing (releasing from an empty registry) creates nothing.
            let (answer, changed) = change(&mut Registry::with_default_ranges(now))?;
            if matches!(changed.into(), Change::Unchanged) {
                return Ok(answer);
            }
            self.create_dir()?;
        }
        let _guard = self.fs.lock(&self.path)?;
        let existed = self.fs.exists(&self.path);
        // The snapshot is still the file when its fingerprint (taken before it was read) is
        // unchanged, or, where the host has none, when the text read again is the same.
        let unchanged = |s: &Snapshot| s.fingerprint.is_some() && s.fingerprint == self.fs.fingerprint(&self.path);
        let (text, mut registry, layout) = match snapshot {
            Some(s) if existed && unchanged(&s) => (s.text, s.registry, s.layout),
            snapshot => {
                let text = if existed { self.read_text()? } else { None };
                let (registry, layout) = match (&text, snapshot) {
                    (Some(now_text), Some(s)) if s.text.as_ref().map(|t| &*t.0) == Some(&*now_text.0) => {
                        (s.registry, s.layout)
                    }
                    (Some(now_text), _) => self.parse(now_text.as_str(&self.path)?)?,
                    (None, _) => (Registry::with_default_ranges(now), None),
                };
                (text, registry, layout)
            }
        };
        let before = registry.allocations.len();
        let (answer, changed) = change(&mut registry)?;
        let changed = changed.into();
        if matches!(changed, Change::Unchanged) {
            return Ok(answer);
        }
        registry.stamp(now);
        // Where the parse did not learn the layout (an escaped key, say), look for it.
        let layout = match (&changed, &text) {
            (Change::Appended, Some(text)) if registry.allocations.len() > before => match layout {
                Some(layout) => Some(layout),
                None => Layout::find(text.as_str(&self.path)?),
            },
            _ => None,
        };
        match (layout, &text) {
            (Some(layout), Some(text)) => {
                let (text, total) = (text.as_str(&self.path)?, registry.metadata.total_allocations);
                let appended = &registry.allocations[before..];
                self.fs
                    .replace(&self.path, &mut |out| layout.write(text, appended, now, total, out))
                    .map_err(|e| Error::io("write", &self.path, e))?;
            }
            _ => self.write(&registry)?,
        }
        if !existed {
            self.created.set(true);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::LockGuard;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Bytes that are a registry when first looked at and then stop being UTF-8, as a mapped
    /// file rewritten in place by another program would.
    struct Rewritten {
        valid: Vec<u8>,
        broken: Vec<u8>,
        looks: AtomicUsize,
    }

    impl AsRef<[u8]> for Rewritten {
        fn as_ref(&self) -> &[u8] {
            if self.looks.fetch_add(1, Ordering::SeqCst) == 0 { &self.valid } else { &self.broken }
        }
    }

    struct RewrittenFs;

    impl FileSystem for RewrittenFs {
        fn exists(&self, _: &Path) -> bool {
            true
        }
        fn read(&self, _: &Path) -> io::Result<FileBytes> {
            let valid = br#"{"ranges": {}, "allocations": []}"#.to_vec();
            let mut broken = valid.clone();
            broken[3] = 0xff;
            Ok(FileBytes::new(Rewritten { valid, broken, looks: AtomicUsize::new(0) }))
        }
        fn replace(&self, _: &Path, _: &mut dyn FnMut(&mut dyn io::Write) -> io::Result<()>) -> io::Result<()> {
            unreachable!("nothing is written")
        }
        fn create_dir_all(&self, _: &Path) -> io::Result<()> {
            Ok(())
        }
        fn lock(&self, _: &Path) -> Result<Box<dyn LockGuard + '_>> {
            Ok(Box::new(()))
        }
    }

    /// Text that stops being UTF-8 after it was checked is refused as corrupt, not taken as text
    /// and not a panic.
    #[test]
    fn text_changed_in_place_after_the_check_is_a_corrupt_registry() {
        let err = RegistryStore::new(&RewrittenFs, "ports.json").load().unwrap_err();
        assert_eq!(err.code(), "ERR_CORRUPT_REGISTRY");
        assert!(err.to_string().contains("changed in place while it was read (invalid byte at offset 3)"), "{err}");
    }
}
