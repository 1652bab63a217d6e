//! The servers files: `<registry folder>/servers/<worktree>.json`, one per worktree, holding
//! what `start` started there. Each change holds the file's own lock across read, change and
//! write, and replaces the file atomically (a temporary file renamed over it), exactly as the
//! registry is written: a process killed at any instant leaves the old file or the new one.

use crate::OsFs;
use atlas_ports_core::servers::ServersFile;
use atlas_ports_core::{Error, FileSystem, Result};
use std::path::{Path, PathBuf};

/// The servers files beside one registry.
#[derive(Debug)]
pub struct Records {
    dir: PathBuf,
    fs: OsFs,
}

impl Records {
    /// The servers files of the registry at `registry`.
    pub fn beside(registry: &Path) -> Records {
        Records { dir: super::state_dir(registry).join("servers"), fs: OsFs::default() }
    }

    /// The file of the worktree whose key is `key`.
    pub fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.json"))
    }

    /// The worktree's servers file, if there is one.
    pub fn read(&self, key: &str) -> Result<Option<ServersFile>> {
        read_at(&self.fs, &self.path(key))
    }

    /// Every servers file there is, with its key. Files that can't be read are skipped: they
    /// are reported when their own worktree uses them.
    pub fn all(&self) -> Vec<(String, ServersFile)> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else { return Vec::new() };
        let mut found: Vec<(String, ServersFile)> = entries
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let key = name.strip_suffix(".json")?.to_owned();
                let file = read_at(&self.fs, &e.path()).ok()??;
                Some((key, file))
            })
            .collect();
        found.sort_by(|a, b| a.0.cmp(&b.0));
        found
    }

    /// Changes the worktree's servers file under its lock: `change` gets the file as it is now
    /// (empty when absent, with `fresh` as its worktree) and the result replaces it; a file left
    /// with no servers is removed.
    pub fn update(&self, key: &str, fresh: &ServersFile, change: impl FnOnce(&mut ServersFile)) -> Result<()> {
        let path = self.path(key);
        self.fs.create_dir_all(&self.dir).map_err(|e| Error::Io {
            action: "create",
            path: self.dir.clone(),
            source: e,
        })?;
        let _lock = self.fs.lock(&path)?;
        let mut file = read_at(&self.fs, &path)?.unwrap_or_else(|| fresh.clone());
        change(&mut file);
        if file.servers.is_empty() {
            return match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    Err(Error::Io { action: "remove", path, source: e })
                }
                _ => Ok(()),
            };
        }
        let mut text = serde_json::to_vec_pretty(&file).expect("a servers file serialises");
        text.push(b'\n');
        self.fs.replace(&path, &mut |out| out.write_all(&text)).map_err(|e| Error::Io {
            action: "write",
            path,
            source: e,
        })
    }
}

fn read_at(fs: &OsFs, path: &Path) -> Result<Option<ServersFile>> {
    if !fs.exists(path) {
        return Ok(None);
    }
    let unusable = |reason: String| Error::UnusableWorktreeFile { what: "servers file", path: path.to_owned(), reason };
    if let Some(reason) = fs.unusable(path) {
        return Err(unusable(reason));
    }
    let bytes = fs.read(path).map_err(|e| Error::Io { action: "read", path: path.to_owned(), source: e })?;
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| unusable(format!("is not a servers file written by atlas-ports ({e})")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use atlas_ports_core::servers::StartedServer;

    #[test]
    fn a_file_is_written_whole_and_removed_when_empty() {
        let dir = tempfile::tempdir().unwrap();
        let records = Records::beside(&dir.path().join("ports.json"));
        let fresh = ServersFile { worktree: "app".into(), worktree_path: "/w/app".into(), ..Default::default() };
        let server = StartedServer {
            service: "web".into(),
            pid: 42,
            process_group: 42,
            start_time: 7,
            command: "serve".into(),
            cwd: "/w/app".into(),
            log: "web.log".into(),
            started_at: "t".into(),
        };
        records.update("app", &fresh, |f| f.servers.push(server.clone())).unwrap();
        let read = records.read("app").unwrap().unwrap();
        assert_eq!(read.servers, [server]);
        assert_eq!(read.worktree_path, "/w/app");
        assert_eq!(records.all().len(), 1);
        records.update("app", &fresh, |f| f.servers.clear()).unwrap();
        assert!(records.read("app").unwrap().is_none());
        std::fs::write(records.path("bad"), "{").unwrap();
        let err = records.read("bad").unwrap_err();
        assert!(err.to_string().contains("is not a servers file written by atlas-ports"), "{err}");
    }
}
