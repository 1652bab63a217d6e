//! The checkouts file beside a registry (`checkouts.json`: which worktree each canonical port
//! forwards to), and the forwarders' own files (`forwarders/<pid>.json`: what each running
//! atlas-ports server forwards now).
//!
//! The checkouts file changes only under the registry's own lock, and is replaced atomically
//! (a temporary file renamed over it), as the registry is: a process killed at any instant
//! leaves the old file or the new one. A file that cannot be read as one is an error naming
//! it; it is never overwritten from a guess.

use crate::OsFs;
use atlas_ports_core::checkout::{CHECKOUTS_FILE, CheckoutsFile};
use atlas_ports_core::{Error, FileSystem, Fingerprint, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The checkouts file of one registry.
#[derive(Debug)]
pub struct Checkouts {
    registry: PathBuf,
    path: PathBuf,
    fs: OsFs,
}

impl Checkouts {
    /// The checkouts file of the registry at `registry`, waiting at most `lock_timeout` for its
    /// lock.
    pub fn beside(registry: &Path, lock_timeout: std::time::Duration) -> Checkouts {
        Checkouts {
            registry: registry.to_owned(),
            path: state_dir(registry).join(CHECKOUTS_FILE),
            fs: OsFs::new(lock_timeout),
        }
    }

    /// Where the file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file as it is now; empty when there is none.
    pub fn read(&self) -> Result<CheckoutsFile> {
        if !self.fs.exists(&self.path) {
            return Ok(CheckoutsFile::default());
        }
        if let Some(reason) = self.fs.unusable(&self.path) {
            return Err(Error::UnusableWorktreeFile { what: "checkouts file", path: self.path.clone(), reason });
        }
        let bytes =
            self.fs.read(&self.path).map_err(|e| Error::Io { action: "read", path: self.path.clone(), source: e })?;
        CheckoutsFile::parse(&self.path, &bytes)
    }

    /// What identifies the file's content without reading it: `None` when absent (or when the
    /// system cannot tell, and then every look reads it).
    pub fn fingerprint(&self) -> Option<Fingerprint> {
        self.fs.fingerprint(&self.path)
    }

    /// Changes the file under the registry's lock: `change` gets it as it is now and answers
    /// whether it changed it; only then is the file replaced. An error from `change` writes
    /// nothing.
    pub fn update<T>(&self, change: impl FnOnce(&mut CheckoutsFile) -> Result<(T, bool)>) -> Result<T> {
        let dir = state_dir(&self.registry);
        self.fs.create_dir_all(&dir).map_err(|e| Error::Io { action: "create", path: dir.clone(), source: e })?;
        let _lock = self.fs.lock(&self.registry)?;
        let mut file = self.read()?;
        let (answer, changed) = change(&mut file)?;
        if changed {
            let text = file.text();
            self.fs.replace(&self.path, &mut |out| out.write_all(text.as_bytes())).map_err(|e| Error::Io {
                action: "write",
                path: self.path.clone(),
                source: e,
            })?;
        }
        Ok(answer)
    }
}

/// What one running atlas-ports server forwards, in its own file: written by that server only
/// (replaced atomically), removed when it stops.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForwarderState {
    /// The server's process.
    pub pid: u32,
    /// The port the server itself listens on (its dashboard): while `pid` listens there, the
    /// server runs.
    pub port: u16,
    /// Each canonical port it listens on now, by service.
    pub forwarding: BTreeMap<String, Forwarded>,
    /// Each canonical port it could not listen on, with why (another process has it).
    #[serde(default)]
    pub blocked: BTreeMap<String, String>,
}

/// A canonical port a server listens on, and the worktree it forwards to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Forwarded {
    pub port: u16,
    pub worktree: String,
}

/// The forwarders' files of one registry.
#[derive(Debug)]
pub struct Forwarders {
    dir: PathBuf,
    fs: OsFs,
}

impl Forwarders {
    /// The forwarders of the registry at `registry`.
    pub fn beside(registry: &Path) -> Forwarders {
        Forwarders { dir: state_dir(registry).join("forwarders"), fs: OsFs::default() }
    }

    fn path(&self, pid: u32) -> PathBuf {
        self.dir.join(format!("{pid}.json"))
    }

    /// Writes this server's state (only when it changed: the caller keeps the last one).
    pub fn write(&self, state: &ForwarderState) -> Result<()> {
        self.fs.create_dir_all(&self.dir).map_err(|e| Error::Io {
            action: "create",
            path: self.dir.clone(),
            source: e,
        })?;
        let path = self.path(state.pid);
        let text = serde_json::to_vec_pretty(state).expect("a forwarder state serialises");
        self.fs.replace(&path, &mut |out| out.write_all(&text)).map_err(|e| Error::Io {
            action: "write",
            path,
            source: e,
        })
    }

    /// Removes this server's file.
    pub fn remove(&self, pid: u32) {
        let _ = std::fs::remove_file(self.path(pid));
    }

    /// The states of the servers that run now (their process listens on the port they
    /// recorded); the files of servers that are gone are removed.
    pub fn running(&self) -> Vec<ForwarderState> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else { return Vec::new() };
        let states: Vec<(PathBuf, ForwarderState)> = entries
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
            .filter_map(|e| {
                let bytes = self.fs.read(&e.path()).ok()?;
                Some((e.path(), serde_json::from_slice(&bytes).ok()?))
            })
            .collect();
        let ports: Vec<u16> = states.iter().map(|(_, s)| s.port).collect();
        let listeners = crate::platform::find_listeners(&ports);
        let mut running = Vec::new();
        for (path, state) in states {
            match listeners.get(&state.port).and_then(|l| l.pid) {
                Some(pid) if pid == state.pid => running.push(state),
                // Someone listens there, but we can't tell who: keep the file.
                None if !atlas_ports_core::Probe::is_free(&crate::SystemProbe, state.port) => {}
                _ => {
                    let _ = std::fs::remove_file(path);
                }
            }
        }
        running.sort_by_key(|s| s.pid);
        running
    }
}

/// The folder beside the registry that holds its companion files.
fn state_dir(registry: &Path) -> PathBuf {
    registry.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use atlas_ports_core::checkout::Checkout;
    use std::time::Duration;

    #[test]
    fn changes_are_written_whole_and_a_corrupt_file_is_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let c = Checkouts::beside(&dir.path().join("ports.json"), Duration::from_secs(5));
        assert!(c.read().unwrap().checkouts.is_empty());
        assert!(c.fingerprint().is_none());
        let held = Checkout { port: 3000, worktree: "a".into(), path: None, git_id: None, since: "t".into() };
        c.update(|f| Ok(((), f.check_out("web", held.clone()) != atlas_ports_core::checkout::Recorded::Already)))
            .unwrap();
        assert_eq!(c.read().unwrap().checkouts["web"], held);
        assert!(c.fingerprint().is_some());
        std::fs::write(c.path(), "{ not json").unwrap();
        let err = c.update(|_| Ok(((), true))).unwrap_err();
        assert!(err.to_string().contains("checkouts.json as the checkouts file"), "{err}");
        assert_eq!(std::fs::read_to_string(c.path()).unwrap(), "{ not json");
    }

    #[test]
    fn a_forwarder_that_is_gone_is_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let f = Forwarders::beside(&dir.path().join("ports.json"));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let me = ForwarderState { pid: std::process::id(), port, ..Default::default() };
        f.write(&me).unwrap();
        if crate::platform::find_listeners(&[port]).get(&port).and_then(|l| l.pid) == Some(me.pid) {
            assert_eq!(f.running(), std::slice::from_ref(&me));
        } else {
            // Where the listener's process can't be told (wine), it is not called ours, and its
            // file is kept: someone listens there.
            assert!(f.running().is_empty());
            assert!(f.path(me.pid).exists());
        }
        drop(listener);
        assert!(f.running().is_empty());
        assert!(!f.path(me.pid).exists(), "the file of a server that is gone is removed");
    }
}
