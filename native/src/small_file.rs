//! The small files of a worktree that atlas-ports reads and writes: the project file
//! (`atlas-ports.toml`) and the env file `up` writes. Both come from a repository, which anyone
//! may have committed anything to, so both get the registry's rules and one more:
//!
//! - the path must stay inside the worktree: no symbolic link along it may lead out (a committed
//!   `conf -> /shared/conf` would make every worktree write, and `down` remove, one shared file);
//! - only a regular file is read, opened without blocking (a FIFO would hang) and at most
//!   [`MAX_WORKTREE_FILE_BYTES`] of it (`/dev/zero` would fill memory).
//!
//! Every operation works on the path as resolved and checked, which holds no symbolic link. On
//! Unix it walks that path again from the worktree's root one folder at a time without
//! following links (`O_NOFOLLOW`), then reads, creates and renames relative to the folder it
//! opened: a folder swapped for a link between the check and the use makes the operation fail
//! instead of writing through the link.

use atlas_ports_core::{Error, Result};
use std::fs;
use std::io::{self, ErrorKind, Read};
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
    /// The worktree's root, resolved.
    root: PathBuf,
    /// The file with every existing folder resolved, relative to `root`: no symbolic link in
    /// it but, possibly, the file's own name (which is then replaced, not written through).
    resolved: PathBuf,
    /// What is read: `resolved`, or the file its own link names (inside the worktree).
    read_from: PathBuf,
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
        let mut read_from = None;
        if !relative.components().all(|c| matches!(c, Component::Normal(_) | Component::CurDir)) {
            return Err(unusable("is not a path inside the worktree".to_owned()));
        }
        let mut walked = root.to_path_buf();
        let mut parts = relative.components().peekable();
        while let Some(part) = parts.next() {
            let name = match part {
                Component::Normal(name) => name,
                _ => continue,
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
            if last {
                resolved = next;
                read_from = Some(target);
            } else {
                resolved = target;
            }
        }
        if resolved == real_root {
            return Err(unusable("is not a file name".to_owned()));
        }
        let relative = |p: PathBuf| p.strip_prefix(&real_root).map(Path::to_path_buf).unwrap_or(p);
        let resolved = relative(resolved);
        let read_from = read_from.map_or_else(|| resolved.clone(), relative);
        if read_from.as_os_str().is_empty() {
            return Err(unusable("is a link to the worktree's own folder".to_owned()));
        }
        Ok(WorktreeFile { what, shown, root: real_root, resolved, read_from })
    }

    /// Refuses the file when it lies (once resolved) in one of the folders `names`: an env
    /// file may not land in `.git` (hooks, config) nor in `.atlas` (where the registry is
    /// created, after the env file was looked at).
    pub fn outside_of(self, names: &[&str]) -> Result<WorktreeFile> {
        let mut folders = self.resolved.parent().into_iter().chain(self.read_from.parent()).flat_map(Path::components);
        match folders.find(|c| names.iter().any(|n| c.as_os_str().eq_ignore_ascii_case(n))) {
            Some(folder) => {
                let folder = folder.as_os_str().to_string_lossy().into_owned();
                Err(self.unusable(format!("lies in the worktree's {folder} folder, which is not for env files")))
            }
            None => Ok(self),
        }
    }

    /// The path as the user named it.
    pub fn path(&self) -> &Path {
        &self.shown
    }

    /// The file's text; `None` when there is none. Only a regular file of at most
    /// [`MAX_WORKTREE_FILE_BYTES`] in UTF-8 is read; opening never blocks.
    pub fn read(&self) -> Result<Option<String>> {
        let mut file = match secure::open_read(&self.root, &self.read_from) {
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
        secure::replace(&self.root, &self.resolved, bytes).map_err(|e| self.io("write", e))
    }

    /// Removes the file (a link of its own name is removed, not what it names).
    pub fn remove(&self) -> Result<()> {
        self.refuse_special()?;
        secure::remove(&self.root, &self.resolved).map_err(|e| self.io("remove", e))
    }

    /// A folder or special file where the file should be is refused rather than replaced.
    fn refuse_special(&self) -> Result<()> {
        match fs::symlink_metadata(self.root.join(&self.resolved)) {
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

/// The file operations on a path relative to the worktree's root that holds no link.
#[cfg(unix)]
mod secure {
    use rustix::fs::{AtFlags, Mode, OFlags};
    use std::ffi::OsStr;
    use std::fs::File;
    use std::io::{self, Write};
    use std::os::fd::OwnedFd;
    use std::path::Path;

    /// Opens the folder `dir` (relative to `root`) one component at a time, following no link:
    /// a component that became a link since it was checked fails with `ELOOP` or `ENOTDIR`.
    fn open_dir(root: &Path, dir: &Path) -> io::Result<OwnedFd> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let mut fd = rustix::fs::open(root, flags, Mode::empty())?;
        for part in dir.components() {
            fd = rustix::fs::openat(&fd, part.as_os_str(), flags | OFlags::NOFOLLOW, Mode::empty())?;
        }
        Ok(fd)
    }

    fn split(path: &Path) -> (&Path, &OsStr) {
        (path.parent().unwrap_or(Path::new("")), path.file_name().unwrap_or_default())
    }

    /// Opens for reading without blocking (a FIFO would wait for a writer) and without
    /// following a link.
    pub fn open_read(root: &Path, path: &Path) -> io::Result<File> {
        let (dir, name) = split(path);
        let dir = open_dir(root, dir)?;
        let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        Ok(File::from(rustix::fs::openat(&dir, name, flags, Mode::empty())?))
    }

    /// A flushed temporary file created anew beside `path` (a leftover or a link of its name
    /// is removed, never written through), renamed over it.
    pub fn replace(root: &Path, path: &Path, bytes: &[u8]) -> io::Result<()> {
        let (dir, name) = split(path);
        let dir = open_dir(root, dir)?;
        let mut tmp = name.to_owned();
        tmp.push(format!(".{}.tmp", std::process::id()));
        let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let create = || rustix::fs::openat(&dir, &tmp, flags, Mode::from_raw_mode(0o666));
        let fd = match create() {
            Err(rustix::io::Errno::EXIST) => {
                rustix::fs::unlinkat(&dir, &tmp, AtFlags::empty())?;
                create()?
            }
            other => other?,
        };
        let mut file = File::from(fd);
        let written = file
            .write_all(bytes)
            .and_then(|()| file.sync_data())
            .and_then(|()| Ok(rustix::fs::renameat(&dir, &tmp, &dir, name)?));
        if written.is_err() {
            let _ = rustix::fs::unlinkat(&dir, &tmp, AtFlags::empty());
        }
        written
    }

    pub fn remove(root: &Path, path: &Path) -> io::Result<()> {
        let (dir, name) = split(path);
        Ok(rustix::fs::unlinkat(&open_dir(root, dir)?, name, AtFlags::empty())?)
    }
}

/// Elsewhere, the same operations by path: the check above still holds, without the guard
/// against a link swapped in meanwhile.
#[cfg(not(unix))]
mod secure {
    use std::fs::{self, File, OpenOptions};
    use std::io::{self, ErrorKind, Write};
    use std::path::Path;

    pub fn open_read(root: &Path, path: &Path) -> io::Result<File> {
        File::open(root.join(path))
    }

    pub fn replace(root: &Path, path: &Path, bytes: &[u8]) -> io::Result<()> {
        let path = root.join(path);
        let mut name = path.file_name().unwrap_or_default().to_owned();
        name.push(format!(".{}.tmp", std::process::id()));
        let tmp = path.with_file_name(name);
        let create = || OpenOptions::new().write(true).create_new(true).open(&tmp);
        let file = match create() {
            Err(e) if e.kind() == ErrorKind::AlreadyExists => fs::remove_file(&tmp).and_then(|()| create()),
            other => other,
        };
        let result = file
            .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_data()))
            .and_then(|()| crate::platform::replace_file(&tmp, &path));
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }

    pub fn remove(root: &Path, path: &Path) -> io::Result<()> {
        fs::remove_file(root.join(path))
    }
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

    /// A folder swapped for a link out of the worktree between the check and the write: the
    /// write fails rather than land outside, and so do the read and the removal.
    #[test]
    fn a_folder_swapped_for_a_link_after_the_check_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let (root, away) = (dir.path().join("wt"), dir.path().join("away"));
        fs::create_dir_all(root.join("conf")).unwrap();
        fs::create_dir_all(&away).unwrap();
        fs::write(root.join("conf/profile.sh"), "A=1\n").unwrap();
        fs::write(away.join("profile.sh"), "SECRET=1\n").unwrap();
        let f = WorktreeFile::inside("env file", &root, Path::new("conf/profile.sh")).unwrap();
        fs::rename(root.join("conf"), root.join("conf.old")).unwrap();
        symlink(&away, root.join("conf")).unwrap();
        assert_eq!(f.write(b"B=2\n").unwrap_err().code(), "ERR_IO");
        assert_eq!(f.read().unwrap_err().code(), "ERR_IO");
        assert_eq!(f.remove().unwrap_err().code(), "ERR_IO");
        assert_eq!(fs::read_to_string(away.join("profile.sh")).unwrap(), "SECRET=1\n");
        assert_eq!(fs::read_dir(&away).unwrap().count(), 1, "no temporary file was left there");
        // The file's own name swapped for a link: replaced, not written through.
        fs::remove_file(root.join("conf")).unwrap();
        fs::rename(root.join("conf.old"), root.join("conf")).unwrap();
        fs::remove_file(root.join("conf/profile.sh")).unwrap();
        symlink(away.join("profile.sh"), root.join("conf/profile.sh")).unwrap();
        f.write(b"B=2\n").unwrap();
        assert_eq!(fs::read_to_string(away.join("profile.sh")).unwrap(), "SECRET=1\n");
        assert!(!fs::symlink_metadata(root.join("conf/profile.sh")).unwrap().file_type().is_symlink());
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
