//! The small files of a worktree that atlas-ports reads and writes: the project file
//! (`atlas-ports.toml`) and the env file `up` writes. Both come from a repository, which anyone
//! may have committed anything to, so both get the registry's rules and one more:
//!
//! - the path must stay inside the worktree: no symbolic link along it may lead out (a committed
//!   `conf -> /shared/conf` would make every worktree write, and `down` remove, one shared file);
//! - only a regular file is read, opened without blocking (a FIFO would hang) and at most
//!   [`MAX_WORKTREE_FILE_BYTES`] of it (`/dev/zero` would fill memory).
//!
//! Every operation works on the path as resolved and checked, which holds no symbolic link, so
//! a link that was checked is not followed again between the check and the use.

use atlas_ports_core::{Error, Result};
use std::fs::{self, File, OpenOptions};
use std::io::{self, ErrorKind, Read, Write};
use std::path::{Component, Path, PathBuf};

/// The largest project or env file read: far past any real one.
pub const MAX_WORKTREE_FILE_BYTES: u64 = 1 << 20;

/// A file of a worktree, its path checked to stay inside it.
#[derive(Debug, Clone)]
pub struct WorktreeFile {
    /// What the file is, for messages: "project file", "env file".
    what: &'static str,
    /// The path as the user named it (under the worktree's root as found), for messages.
    shown: PathBuf,
    /// The same file with every existing folder resolved: no symbolic link in it but,
    /// possibly, the file's own name.
    resolved: PathBuf,
}

impl WorktreeFile {
    /// The file `relative` to the worktree at `root`. Fails, naming the file, when a symbolic
    /// link along the path (the file's own included) leads out of the worktree or nowhere.
    pub fn inside(what: &'static str, root: &Path, relative: &Path) -> Result<WorktreeFile> {
        let shown = root.join(relative);
        let unusable = |reason: String| Error::UnusableWorktreeFile { what, path: shown.clone(), reason };
        let real_root = fs::canonicalize(root).map_err(|source| Error::Io {
            action: "read the folder",
            path: root.to_owned(),
            source,
        })?;
        let mut resolved = real_root.clone();
        let mut walked = root.to_path_buf();
        let mut parts = relative.components().peekable();
        while let Some(part) = parts.next() {
            let name = match part {
                Component::Normal(name) => name,
                Component::CurDir => continue,
                _ => return Err(unusable("is not a path inside the worktree".to_owned())),
            };
            walked.push(name);
            let last = parts.peek().is_none();
            let next = resolved.join(name);
            let meta = match fs::symlink_metadata(&next) {
                Ok(meta) => meta,
                // Nothing there yet: nothing below it can lead anywhere.
                Err(e) if e.kind() == ErrorKind::NotFound => {
                    resolved = next;
                    resolved.extend(parts);
                    break;
                }
                Err(e) => return Err(unusable(format!("cannot be looked at: {e}"))),
            };
            if !meta.file_type().is_symlink() {
                resolved = next;
                continue;
            }
            let target = fs::canonicalize(&next).map_err(|_| {
                let to = fs::read_link(&next).map(|t| t.display().to_string()).unwrap_or_default();
                unusable(format!("goes through the symbolic link {} (to {to}), which leads nowhere", walked.display()))
            })?;
            if !target.starts_with(&real_root) {
                return Err(unusable(format!(
                    "leads out of the worktree through the symbolic link {} (to {}); a file every worktree \
                     shared would be overwritten by each one's `up` and removed by any one's `down`",
                    walked.display(),
                    target.display()
                )));
            }
            // The file's own link is kept as the name: it is replaced, not written through.
            resolved = if last { next } else { target };
        }
        if resolved == real_root {
            return Err(unusable("is not a file name".to_owned()));
        }
        Ok(WorktreeFile { what, shown, resolved })
    }

    /// The path as the user named it.
    pub fn path(&self) -> &Path {
        &self.shown
    }

    /// The file's text; `None` when there is none. Only a regular file of at most
    /// [`MAX_WORKTREE_FILE_BYTES`] in UTF-8 is read; opening never blocks.
    pub fn read(&self) -> Result<Option<String>> {
        let mut file = match open_nonblocking(&self.resolved) {
            Ok(file) => file,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.io("read", e)),
        };
        let meta = file.metadata().map_err(|e| self.io("read", e))?;
        if let Some(kind) = not_a_file(&meta) {
            return Err(self.unusable(format!("is {kind}, not a regular file")));
        }
        if meta.len() > MAX_WORKTREE_FILE_BYTES {
            return Err(self.unusable(too_large()));
        }
        let mut bytes = Vec::with_capacity(meta.len() as usize);
        (&mut file).take(MAX_WORKTREE_FILE_BYTES + 1).read_to_end(&mut bytes).map_err(|e| self.io("read", e))?;
        if bytes.len() as u64 > MAX_WORKTREE_FILE_BYTES {
            return Err(self.unusable(too_large()));
        }
        String::from_utf8(bytes).map(Some).map_err(|e| {
            self.unusable(format!("is not UTF-8 text (invalid byte at offset {})", e.utf8_error().valid_up_to()))
        })
    }

    /// Replaces the file with `bytes`: a flushed temporary file created anew beside it (never
    /// through a link that was there), renamed over it.
    pub fn write(&self, bytes: &[u8]) -> Result<()> {
        self.refuse_special()?;
        let mut name = self.resolved.file_name().unwrap_or_default().to_owned();
        name.push(format!(".{}.tmp", std::process::id()));
        let tmp = self.resolved.with_file_name(name);
        let create = || OpenOptions::new().write(true).create_new(true).open(&tmp);
        // A leftover of a killed run with this process id (or a link planted there) is
        // removed, not written through.
        let file = match create() {
            Err(e) if e.kind() == ErrorKind::AlreadyExists => fs::remove_file(&tmp).and_then(|()| create()),
            other => other,
        };
        let result = file
            .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_data()))
            .and_then(|()| crate::platform::replace_file(&tmp, &self.resolved));
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result.map_err(|e| self.io("write", e))
    }

    /// Removes the file (a link of its own name is removed, not what it names).
    pub fn remove(&self) -> Result<()> {
        self.refuse_special()?;
        fs::remove_file(&self.resolved).map_err(|e| self.io("remove", e))
    }

    /// A folder or special file where the file should be is refused rather than replaced.
    fn refuse_special(&self) -> Result<()> {
        match fs::symlink_metadata(&self.resolved) {
            Ok(meta) if meta.is_dir() => Err(self.unusable("is a folder, not a file".to_owned())),
            Ok(meta) if !meta.file_type().is_symlink() => match not_a_file(&meta) {
                Some(kind) => Err(self.unusable(format!("is {kind}, not a regular file"))),
                None => Ok(()),
            },
            _ => Ok(()),
        }
    }

    fn unusable(&self, reason: String) -> Error {
        Error::UnusableWorktreeFile { what: self.what, path: self.shown.clone(), reason }
    }

    fn io(&self, action: &'static str, source: io::Error) -> Error {
        Error::Io { action, path: self.shown.clone(), source }
    }
}

fn too_large() -> String {
    format!("is larger than the {} MiB such a file may be", MAX_WORKTREE_FILE_BYTES >> 20)
}

/// What a file that is not a regular file is, in words; `None` for a regular file.
fn not_a_file(meta: &fs::Metadata) -> Option<&'static str> {
    let kind = meta.file_type();
    if kind.is_file() {
        return None;
    }
    if kind.is_dir() {
        return Some("a folder");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return Some("a FIFO (named pipe)");
        }
        if kind.is_char_device() || kind.is_block_device() {
            return Some("a device");
        }
        if kind.is_socket() {
            return Some("a socket");
        }
    }
    Some("a special file")
}

#[cfg(unix)]
fn open_nonblocking(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new().read(true).custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32).open(path)
}

#[cfg(not(unix))]
fn open_nonblocking(path: &Path) -> io::Result<File> {
    OpenOptions::new().read(true).open(path)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn code(e: Error) -> String {
        format!("{} {e}", e.code())
    }

    #[test]
    fn links_may_stay_inside_but_not_lead_out() {
        let dir = tempfile::tempdir().unwrap();
        let (root, away) = (dir.path().join("wt"), dir.path().join("away"));
        fs::create_dir_all(root.join("real")).unwrap();
        fs::create_dir_all(&away).unwrap();
        symlink("real", root.join("inside")).unwrap();
        symlink(&away, root.join("conf")).unwrap();
        symlink("../away", root.join("file-out")).unwrap();
        symlink("missing", root.join("dangling")).unwrap();
        let f = WorktreeFile::inside("env file", &root, Path::new("inside/profile.sh")).unwrap();
        f.write(b"A=1\n").unwrap();
        assert_eq!(fs::read_to_string(root.join("real/profile.sh")).unwrap(), "A=1\n");
        assert_eq!(f.read().unwrap().as_deref(), Some("A=1\n"));
        let out = code(WorktreeFile::inside("env file", &root, Path::new("conf/profile.sh")).unwrap_err());
        assert!(out.starts_with("ERR_UNUSABLE_FILE cannot use"), "{out}");
        assert!(
            out.contains("conf/profile.sh as the env file: it leads out of the worktree through the symbolic link"),
            "{out}"
        );
        assert!(
            code(WorktreeFile::inside("env file", &root, Path::new("file-out")).unwrap_err()).contains("leads out")
        );
        assert!(
            code(WorktreeFile::inside("env file", &root, Path::new("dangling/x")).unwrap_err())
                .contains("leads nowhere")
        );
        assert_eq!(fs::read_dir(&away).unwrap().count(), 0);
    }

    #[test]
    fn special_and_large_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::write(root.join("big"), vec![b'a'; MAX_WORKTREE_FILE_BYTES as usize + 1]).unwrap();
        let big = WorktreeFile::inside("project file", root, Path::new("big")).unwrap();
        assert!(code(big.read().unwrap_err()).contains("larger than the 1 MiB"));
        assert!(std::process::Command::new("mkfifo").arg(root.join("fifo")).status().unwrap().success());
        let fifo = WorktreeFile::inside("project file", root, Path::new("fifo")).unwrap();
        assert!(code(fifo.read().unwrap_err()).contains("is a FIFO (named pipe), not a regular file"));
        assert!(code(fifo.write(b"x").unwrap_err()).contains("FIFO"));
        let none = WorktreeFile::inside("project file", root, Path::new("none")).unwrap();
        assert_eq!(none.read().unwrap(), None);
    }
}
