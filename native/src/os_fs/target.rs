//! What a registry path stands for. A symbolic link is a common way to share one registry
//! between repositories, so a link is followed to the file it names, and that file is locked
//! and replaced (the link stays). A link planted by another user in a shared sticky folder is
//! not followed (the rule the kernel's `protected_symlinks` applies), and anything that is not
//! a regular file of a sane size is refused with words saying what it is.

use atlas_ports_core::Fingerprint;
use std::fs::{self, File, Metadata, OpenOptions};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// The largest registry read: about 480,000 allocations pretty-printed. A path to something
/// endless (`/dev/zero`) or absurd fails with a clear message instead of exhausting memory.
pub const MAX_REGISTRY_BYTES: u64 = 128 << 20;

/// Follows at most this many links, as the kernel does (`ELOOP`).
const MAX_LINKS: usize = 40;

/// The file `path` stands for: `path` itself, or, when it is a symbolic link (or a chain of
/// them), the path the last link names. Fails when a link may not be followed or the chain
/// does not end.
pub fn resolve(path: &Path) -> io::Result<PathBuf> {
    let mut current = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        let meta = match fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => meta,
            _ => return Ok(current),
        };
        trusted_link(&current, &meta)?;
        let target = fs::read_link(&current)?;
        current = match current.parent() {
            Some(dir) if target.is_relative() => dir.join(target),
            _ => target,
        };
    }
    Err(io::Error::other(format!("is a chain of more than {MAX_LINKS} symbolic links")))
}

/// Why the registry at `path`, which exists, can't be used; `None` when it can (or is absent).
pub fn unusable(path: &Path) -> Option<String> {
    let own = fs::symlink_metadata(path).ok()?;
    if !own.file_type().is_symlink() {
        return problem(&own).map(|p| format!("is {p}"));
    }
    let target = match resolve(path) {
        Ok(target) => target,
        Err(e) => return Some(e.to_string()),
    };
    match fs::metadata(&target) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Some(format!(
            "is a symbolic link to {}, which does not exist (create it with `atlas-ports init --registry {0}`)",
            target.display()
        )),
        Err(e) => Some(format!("is a symbolic link to {}, which cannot be read: {e}", target.display())),
        Ok(meta) => problem(&meta).map(|p| format!("is a symbolic link to {}, which is {p}", target.display())),
    }
}

/// Opens a registry for reading: only a regular file of at most [`MAX_REGISTRY_BYTES`]. Opening
/// does not block (a FIFO would wait for a writer forever), and the type is checked on the open
/// file.
pub fn open_regular(path: &Path) -> io::Result<(File, Metadata)> {
    let file = open_nonblocking(&resolve(path)?)?;
    let meta = file.metadata()?;
    if let Some(p) = problem(&meta) {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("it is {p}")));
    }
    Ok((file, meta))
}

/// The rest of an open registry, at most [`MAX_REGISTRY_BYTES`]; `len` is its size when opened.
pub fn read_rest(file: &File, len: u64) -> io::Result<Vec<u8>> {
    let mut bytes = super::buffer::for_file(len as usize);
    file.take(MAX_REGISTRY_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_REGISTRY_BYTES {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, too_large()));
    }
    Ok(bytes)
}

/// The identity and version of the file a registry path stands for: a replacement (a new
/// inode) or an edit in place (size, modification or change time) changes it.
pub fn fingerprint(path: &Path) -> Option<Fingerprint> {
    let meta = fs::metadata(path).ok()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let time = |s: i64, ns: i64| (s as u64).wrapping_mul(1_000_000_000).wrapping_add(ns as u64);
        Some(Fingerprint([
            meta.dev(),
            meta.ino(),
            meta.size(),
            time(meta.mtime(), meta.mtime_nsec()),
            time(meta.ctime(), meta.ctime_nsec()),
        ]))
    }
    #[cfg(not(unix))]
    {
        let nanos = |t: std::io::Result<std::time::SystemTime>| {
            t.ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos() as u64)
        };
        Some(Fingerprint([meta.len(), nanos(meta.modified()), nanos(meta.created()), 0, 0]))
    }
}

/// What is wrong with a file for holding a registry, as a noun phrase.
fn problem(meta: &Metadata) -> Option<String> {
    let kind = meta.file_type();
    if kind.is_file() {
        return (meta.len() > MAX_REGISTRY_BYTES).then(too_large);
    }
    if kind.is_dir() {
        return Some("a folder, not a file".into());
    }
    Some(format!("{}, not a regular file", special_kind(meta)))
}

fn too_large() -> String {
    format!("larger than the {} MiB a registry may be", MAX_REGISTRY_BYTES >> 20)
}

#[cfg(unix)]
fn special_kind(meta: &Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let kind = meta.file_type();
    if kind.is_fifo() {
        "a FIFO (named pipe)"
    } else if kind.is_char_device() || kind.is_block_device() {
        "a device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "a special file"
    }
}

#[cfg(not(unix))]
fn special_kind(_meta: &Metadata) -> &'static str {
    "a special file"
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

/// A link in a sticky, world-writable folder (`/tmp`) is followed only when this process's
/// user or the folder's owner owns it: another user could otherwise aim our writes anywhere.
#[cfg(unix)]
fn trusted_link(link: &Path, meta: &Metadata) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let dir = link.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let Ok(folder) = fs::metadata(dir) else { return Ok(()) };
    let shared = folder.mode() & 0o1002 == 0o1002;
    let me = rustix::process::geteuid().as_raw();
    if shared && meta.uid() != me && meta.uid() != folder.uid() {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "is a symbolic link owned by another user (uid {}) in a shared folder; it is not followed",
                meta.uid()
            ),
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn trusted_link(_link: &Path, _meta: &Metadata) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_resolves_to_its_target_and_relative_links_to_the_links_folder() {
        let dir = tempfile::tempdir().unwrap();
        let shared = dir.path().join("shared");
        fs::create_dir(&shared).unwrap();
        fs::write(shared.join("ports.json"), "{}").unwrap();
        let repo = dir.path().join("repo");
        fs::create_dir(&repo).unwrap();
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("../shared/ports.json", repo.join("ports.json")).unwrap();
            let target = resolve(&repo.join("ports.json")).unwrap();
            assert_eq!(fs::canonicalize(target).unwrap(), fs::canonicalize(shared.join("ports.json")).unwrap());
            assert_eq!(unusable(&repo.join("ports.json")), None);
        }
        assert_eq!(resolve(&shared.join("ports.json")).unwrap(), shared.join("ports.json"));
    }

    #[cfg(unix)]
    #[test]
    fn special_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        assert_eq!(unusable(d).unwrap(), "is a folder, not a file");
        std::os::unix::fs::symlink(d.join("gone.json"), d.join("dangling.json")).unwrap();
        let why = unusable(&d.join("dangling.json")).unwrap();
        assert!(why.starts_with("is a symbolic link to ") && why.contains("gone.json, which does not exist"), "{why}");
        std::os::unix::fs::symlink("/dev/zero", d.join("zero.json")).unwrap();
        assert_eq!(
            unusable(&d.join("zero.json")).unwrap(),
            "is a symbolic link to /dev/zero, which is a device, not a regular file"
        );
        let err = open_regular(&d.join("zero.json")).unwrap_err();
        assert!(err.to_string().contains("a device"), "{err}");
        std::os::unix::fs::symlink("loop.json", d.join("loop.json")).unwrap();
        assert!(unusable(&d.join("loop.json")).unwrap().contains("chain of more than 40"));
        assert_eq!(unusable(&d.join("absent.json")), None);
    }
}
