//! Atomic, durable replacement of a registry: a flushed temporary file in the same folder,
//! renamed over the old one, then the folder itself synced so that the rename survives a power
//! loss. The new file keeps the old one's permissions and, where this process may, its owner
//! and group (a write under `sudo` must not lock the user out), but never a setuid, setgid or
//! sticky bit. Temporaries are named `.<registry>.<pid>.<nanos>.tmp`; any left by a writer that
//! died are swept before each write (on a nearly full disk they would make it fail) and after.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Replaces the file at `target` (a resolved path, never a link) with what `contents` writes.
/// The caller holds the registry lock.
pub fn replace(target: &Path, contents: &mut dyn FnMut(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
    sweep_stale_temporaries(target);
    let tmp = sibling(target, ".", &format!(".{}.{}.tmp", std::process::id(), unique()));
    let result = write_flushed(&tmp, target, contents).and_then(|()| crate::platform::replace_file(&tmp, target));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result?;
    sync_folder(target);
    sweep_stale_temporaries(target);
    Ok(())
}

/// `dir/<prefix><file name><suffix>`.
pub fn sibling(path: &Path, prefix: &str, suffix: &str) -> PathBuf {
    let mut name = OsString::from(prefix);
    name.push(path.file_name().unwrap_or_default());
    name.push(suffix);
    path.with_file_name(name)
}

fn write_flushed(
    tmp: &Path,
    target: &Path,
    contents: &mut dyn FnMut(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    let file = OpenOptions::new().write(true).create_new(true).open(tmp)?;
    if let Ok(old) = fs::metadata(target) {
        keep_owner_and_mode(&file, &old)?;
    }
    let mut out = io::BufWriter::with_capacity(256 * 1024, file);
    contents(&mut out)?;
    let file = out.into_inner().map_err(io::IntoInnerError::into_error)?;
    file.sync_data()?;
    // Looking at the new file's times makes the filesystem stamp the rename that follows with a
    // later change time, where it keeps fine-grained times for files looked at (Linux 6.13+):
    // then a reader sees that the last change was no write into the file (os_fs::steady) and
    // reads it once.
    let _ = file.metadata();
    Ok(())
}

#[cfg(unix)]
fn keep_owner_and_mode(file: &File, old: &fs::Metadata) -> io::Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let new = file.metadata()?;
    if (new.uid(), new.gid()) != (old.uid(), old.gid()) {
        // Only root may give a file away; anyone may hand it to a group they belong to.
        if std::os::unix::fs::fchown(file, Some(old.uid()), Some(old.gid())).is_err() {
            let _ = std::os::unix::fs::fchown(file, None, Some(old.gid()));
        }
    }
    // After the chown, which clears setuid/setgid on some systems anyway.
    file.set_permissions(fs::Permissions::from_mode(old.mode() & 0o777))
}

#[cfg(not(unix))]
fn keep_owner_and_mode(file: &File, old: &fs::Metadata) -> io::Result<()> {
    file.set_permissions(old.permissions())
}

/// Makes the rename durable: until the folder is synced, a power loss can bring the old file
/// back. Best effort: some filesystems refuse to sync a folder, and Windows has no such call.
#[cfg(unix)]
fn sync_folder(target: &Path) {
    let dir = target.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if let Ok(dir) = File::open(dir) {
        let _ = dir.sync_all();
    }
}

#[cfg(not(unix))]
fn sync_folder(_target: &Path) {}

fn sweep_stale_temporaries(path: &Path) {
    let Some(dir) = path.parent() else { return };
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    let prefix = sibling(path, ".", ".");
    let prefix = prefix.file_name().unwrap_or_default().to_string_lossy();
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.strip_prefix(prefix.as_ref()).is_some_and(is_temporary_suffix) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// `<pid>.<nanos>.tmp`, and nothing else: `.p.json.b.1.2.tmp` belongs to `p.json.b`, not to
/// `p.json`, and must survive `p.json`'s sweep.
pub(super) fn is_temporary_suffix(rest: &str) -> bool {
    let mut parts = rest.split('.');
    let digits = |p: Option<&str>| p.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    digits(parts.next()) && digits(parts.next()) && parts.next() == Some("tmp") && parts.next().is_none()
}

/// Distinguishes temporaries of one process (nanoseconds are enough: one write at a time).
fn unique() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos())
}
