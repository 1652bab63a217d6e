//! Loading and saving the registry file through a [`FileSystem`]: reads are lock-free (writes
//! replace the file atomically), every write holds the lock across read–modify–write, and a
//! failed operation never rewrites the file.

use crate::error::{Error, Result};
use crate::host::{FileSystem, Fingerprint};
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

/// How many times a read is tried while another program is seen rewriting the file in place.
const READ_TRIES: usize = 3;

/// The folder of the default registry (`.atlas/worktrees/ports.json`), ignored by git.
const ATLAS_DIR: &str = ".atlas";

/// A registry file's content: UTF-8 text this process owns, checked once. Because it is a
/// private copy, what is written back from it (an append keeps the text and inserts into it) is
/// exactly what was validated, whatever another program does to the file meanwhile.
#[derive(Debug)]
struct Text(String);

impl Text {
    fn as_str(&self) -> &str {
        &self.0
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
        let (text, fingerprint) = self.read_text()?;
        let (registry, layout) = match &text {
            Some(text) => self.parse(text.as_str())?,
            None => (Registry::with_default_ranges(""), None),
        };
        let fingerprint = fingerprint.filter(|_| text.is_some());
        Ok(Snapshot { text, fingerprint, layout, registry })
    }

    /// The file's text and its fingerprint from before it was read; `None` when it is missing and
    /// that means the default registry. Another program may be rewriting the file in place (an
    /// editor, `jq … > ports.json`), which no lock of ours keeps out: when the fingerprint moved
    /// during the read, the read is torn, so it is tried again, and refused as corrupt when the
    /// file never holds still.
    fn read_text(&self) -> Result<(Option<Text>, Option<Fingerprint>)> {
        self.check_usable()?;
        for _ in 0..READ_TRIES {
            let before = self.fs.fingerprint(&self.path);
            let bytes = match self.fs.read(&self.path) {
                Ok(bytes) => bytes,
                Err(e)
                    if e.kind() == io::ErrorKind::NotFound
                        && self.default_when_missing
                        && !self.fs.exists(&self.path) =>
                {
                    return Ok((None, None));
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    return Err(Error::RegistryMissing { path: self.path.clone() });
                }
                // The host's word for a file that never read the same twice (see `FileSystem::read`).
                Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                    return Err(Error::CorruptRegistry { path: self.path.clone(), reason: e.to_string() });
                }
                Err(e) => return Err(Error::io("read", &self.path, e)),
            };
            if before.is_some() && self.fs.fingerprint(&self.path) != before {
                continue;
            }
            let text = String::from_utf8(bytes).map_err(|e| Error::CorruptRegistry {
                path: self.path.clone(),
                reason: format!("not UTF-8 text (invalid byte at offset {})", e.utf8_error().valid_up_to()),
            })?;
            return Ok((Some(Text(text)), before));
        }
        Err(Error::CorruptRegistry {
            path: self.path.clone(),
            reason: format!(
                "another program kept changing it in place while it was read ({READ_TRIES} tries); \
                 try again when it is saved"
            ),
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
                let text = if existed { self.read_text()?.0 } else { None };
                let (registry, layout) = match (&text, snapshot) {
                    (Some(now_text), Some(s)) if s.text.as_ref().map(Text::as_str) == Some(now_text.as_str()) => {
                        (s.registry, s.layout)
                    }
                    (Some(now_text), _) => self.parse(now_text.as_str())?,
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
                None => Layout::find(text.as_str()),
            },
            _ => None,
        };
        match (layout, &text) {
            (Some(layout), Some(text)) => {
                let (text, total) = (text.as_str(), registry.metadata.total_allocations);
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
            // The registry describes this machine, not the project: a `.atlas` folder made here
            // keeps itself out of `git status` with a `.gitignore` of its own.
            let fresh_atlas = dir
                .ancestors()
                .find(|d| d.file_name().is_some_and(|n| n == ATLAS_DIR))
                .filter(|d| !self.fs.exists(d))
                .map(Path::to_path_buf);
            self.fs.create_dir_all(dir).map_err(|e| Error::io("create the folder", dir, e))?;
            if let Some(atlas) = fresh_atlas {
                let ignore = atlas.join(".gitignore");
                self.fs
                    .replace(&ignore, &mut |out| out.write_all(b"*\n"))
                    .map_err(|e| Error::io("write", &ignore, e))?;
            }
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
    use std::sync::atomic::{AtomicU64, Ordering};

    const REGISTRY: &[u8] = br#"{"ranges": {}, "allocations": []}"#;

    /// A registry file that another program rewrites in place: its fingerprint moves on each of
    /// the first `moving` reads, as size and times do under an in-place writer.
    struct RewrittenFs {
        moving: u64,
        looks: AtomicU64,
        reads: AtomicU64,
    }

    impl RewrittenFs {
        fn new(moving: u64) -> Self {
            RewrittenFs { moving, looks: AtomicU64::new(0), reads: AtomicU64::new(0) }
        }
    }

    impl FileSystem for RewrittenFs {
        fn exists(&self, _: &Path) -> bool {
            true
        }
        fn fingerprint(&self, _: &Path) -> Option<Fingerprint> {
            // Two looks per read (before and after): it moves between them while reads are torn.
            let look = self.looks.fetch_add(1, Ordering::SeqCst);
            let read = look / 2;
            let version = if read < self.moving { look } else { 2 * self.moving };
            Some(Fingerprint([version, 0, 0, 0, 0]))
        }
        fn read(&self, _: &Path) -> io::Result<Vec<u8>> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            Ok(REGISTRY.to_vec())
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

    /// A read during which the file changed is not trusted: it is read again.
    #[test]
    fn a_read_torn_by_an_in_place_rewrite_is_tried_again() {
        let fs = RewrittenFs::new(READ_TRIES as u64 - 1);
        let registry = RegistryStore::new(&fs, "ports.json").load().unwrap();
        assert!(registry.allocations.is_empty());
        assert_eq!(fs.reads.load(Ordering::SeqCst), READ_TRIES as u64);
    }

    /// A file that never holds still is refused as corrupt, naming why, rather than taken from
    /// a torn read.
    #[test]
    fn a_file_that_keeps_changing_in_place_is_refused() {
        let fs = RewrittenFs::new(u64::MAX / 4);
        let err = RegistryStore::new(&fs, "ports.json").load().unwrap_err();
        assert_eq!(err.code(), "ERR_CORRUPT_REGISTRY");
        assert!(err.to_string().contains("kept changing it in place while it was read (3 tries)"), "{err}");
        assert_eq!(fs.reads.load(Ordering::SeqCst), READ_TRIES as u64);
    }
}
