//! In-memory implementations of the host traits: for tests, and for hosts (wasm) that hold the
//! registry themselves.

use crate::error::{Error, Result};
use crate::host::{Clock, FileSystem, Identity, LockGuard, Probe};
use crate::time::Timestamp;
use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// Files in a map. `replace` is atomic by construction; the lock is a flag, and taking it twice
/// answers `LockTimeout` at once (a single-threaded host would otherwise deadlock).
#[derive(Debug, Default)]
pub struct MemoryFs {
    files: Mutex<BTreeMap<PathBuf, Vec<u8>>>,
    locked: Mutex<BTreeSet<PathBuf>>,
    writes: Mutex<usize>,
}

impl MemoryFs {
    /// An empty filesystem.
    pub fn new() -> Self {
        Self::default()
    }

    /// Puts a file in place (no lock needed).
    pub fn insert(&self, path: impl Into<PathBuf>, contents: impl Into<Vec<u8>>) {
        lock(&self.files).insert(path.into(), contents.into());
    }

    /// A file's content, if present.
    pub fn get(&self, path: impl AsRef<Path>) -> Option<Vec<u8>> {
        lock(&self.files).get(path.as_ref()).cloned()
    }

    /// How many times `replace` has run: a read-only or failed operation leaves it unchanged.
    pub fn write_count(&self) -> usize {
        *lock(&self.writes)
    }
}

struct MemoryLock<'a> {
    fs: &'a MemoryFs,
    path: PathBuf,
}

impl Drop for MemoryLock<'_> {
    fn drop(&mut self) {
        lock(&self.fs.locked).remove(&self.path);
    }
}

impl FileSystem for MemoryFs {
    fn exists(&self, path: &Path) -> bool {
        lock(&self.files).contains_key(path)
    }
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.get(path).ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))
    }
    fn replace(&self, path: &Path, contents: &mut dyn FnMut(&mut dyn io::Write) -> io::Result<()>) -> io::Result<()> {
        let mut bytes = Vec::new();
        contents(&mut bytes)?;
        *lock(&self.writes) += 1;
        self.insert(path, bytes);
        Ok(())
    }
    fn create_dir_all(&self, _path: &Path) -> io::Result<()> {
        Ok(())
    }
    fn lock(&self, registry: &Path) -> Result<Box<dyn LockGuard + '_>> {
        if !lock(&self.locked).insert(registry.to_owned()) {
            return Err(Error::LockTimeout { path: registry.to_owned(), waited_ms: 0 });
        }
        Ok(Box::new(MemoryLock { fs: self, path: registry.to_owned() }))
    }
}

/// A probe that reports the ports it was told are busy.
#[derive(Debug, Default)]
pub struct ScriptedProbe {
    busy: Mutex<BTreeSet<u16>>,
}

impl ScriptedProbe {
    /// A probe for which the given ports are busy and all others free.
    pub fn with_busy(ports: impl IntoIterator<Item = u16>) -> Self {
        ScriptedProbe { busy: Mutex::new(ports.into_iter().collect()) }
    }

    /// Marks a port busy or free.
    pub fn set_busy(&self, port: u16, busy: bool) {
        let mut set = lock(&self.busy);
        if busy {
            set.insert(port)
        } else {
            set.remove(&port)
        };
    }
}

impl Probe for ScriptedProbe {
    fn is_free(&self, port: u16) -> bool {
        !lock(&self.busy).contains(&port)
    }
}

/// A clock that always answers the same instant.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub Timestamp);

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        self.0
    }
}

/// An identity given as text.
#[derive(Debug, Clone)]
pub struct FixedIdentity(pub String);

impl Identity for FixedIdentity {
    fn allocated_by(&self) -> String {
        self.0.clone()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these cannot leave the data half-updated.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A health probe that answers what it was told for each port, and "nothing listens" for
/// the rest.
#[derive(Debug, Default)]
pub struct ScriptedHealth {
    answers: Mutex<BTreeMap<u16, crate::health::Observation>>,
}

impl ScriptedHealth {
    /// Scripts the observation of one port.
    pub fn set(&self, port: u16, observation: crate::health::Observation) {
        lock(&self.answers).insert(port, observation);
    }
}

impl crate::host::HealthProbe for ScriptedHealth {
    fn observe(&self, targets: &[crate::health::ProbeTarget]) -> Vec<crate::health::Observation> {
        let answers = lock(&self.answers);
        targets
            .iter()
            .map(|t| answers.get(&t.port).cloned().unwrap_or_else(crate::health::Observation::not_listening))
            .collect()
    }
}
