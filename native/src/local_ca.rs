//! The files of the local certificate authority behind HTTPS named URLs: where they live, the
//! checks they must pass before use (owner, permissions, size), and how they are written (a
//! temporary file renamed into place, under a lock, so two processes creating at once end with
//! one CA). The cryptography is the server crate's; this is the file side, and the one place
//! `run`, `up` and `start` learn the CA's certificate for `NODE_EXTRA_CA_CERTS`.

use atlas_ports_core::{Error, Result};
use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// Environment variable naming atlas-ports' own folder; the CA is in its `ca/`.
pub const HOME_ENV: &str = "ATLAS_PORTS_HOME";
/// The CA's certificate (public).
pub const CERT_FILE: &str = "ca.pem";
/// The CA's private key: readable by its owner only.
pub const KEY_FILE: &str = "ca-key.pem";
/// The variable Node reads extra trusted certificates from.
pub const NODE_CA_ENV: &str = "NODE_EXTRA_CA_CERTS";
/// The most bytes a CA file may have (ours are under 1 KB).
const MAX_FILE_BYTES: u64 = 64 * 1024;

/// The CA's folder: `$ATLAS_PORTS_HOME/ca`, else the user's data folder
/// (`$XDG_DATA_HOME/atlas-ports/ca` or `~/.local/share/atlas-ports/ca` on Linux,
/// `~/Library/Application Support/atlas-ports/ca` on macOS, `%LOCALAPPDATA%\atlas-ports\ca` on
/// Windows).
pub fn folder() -> Result<PathBuf> {
    let set = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(home) = set(HOME_ENV) {
        return Ok(home.join("ca"));
    }
    let missing = |what: &str| Error::InvalidArgument {
        what: "local CA folder",
        value: String::new(),
        reason: format!("{what} is not set: set {HOME_ENV} to a folder of your own"),
    };
    let data = if cfg!(windows) {
        set("LOCALAPPDATA").ok_or_else(|| missing("LOCALAPPDATA"))?
    } else if cfg!(target_os = "macos") {
        set("HOME").ok_or_else(|| missing("HOME"))?.join("Library").join("Application Support")
    } else {
        match set("XDG_DATA_HOME").filter(|p| p.is_absolute()) {
            Some(p) => p,
            None => set("HOME").ok_or_else(|| missing("HOME"))?.join(".local").join("share"),
        }
    };
    Ok(data.join("atlas-ports").join("ca"))
}

/// The bundle `NODE_EXTRA_CA_CERTS` names when the user had set it to a file of their own: that
/// file's certificates and the CA's, since Node reads one file.
pub const NODE_BUNDLE_FILE: &str = "node-extra-ca-certs.pem";
/// The most bytes of the user's own `NODE_EXTRA_CA_CERTS` file taken into the bundle.
const MAX_BUNDLE_BYTES: u64 = 16 * 1024 * 1024;

/// `NODE_EXTRA_CA_CERTS` for what `run`, `up` and `start` run, when the CA exists, so Node
/// trusts the named HTTPS URLs: the CA's certificate; or, when the user set the variable to a
/// file of their own, a bundle of that file and the CA's certificate (rewritten when either
/// changed). None when there is no CA, or the user's file already holds it or cannot be read
/// (theirs is then left as it is).
pub fn node_ca_variable() -> Option<(&'static str, OsString)> {
    let folder = folder().ok()?;
    let cert_path = folder.join(CERT_FILE);
    let Some(theirs) = std::env::var_os(NODE_CA_ENV).filter(|v| !v.is_empty()) else {
        return cert_path.is_file().then(|| (NODE_CA_ENV, cert_path.into_os_string()));
    };
    let bundle = folder.join(NODE_BUNDLE_FILE);
    if Path::new(&theirs) == bundle {
        return None;
    }
    let cert = fs::read(&cert_path).ok()?;
    let mut own = Vec::new();
    File::open(&theirs).and_then(|f| f.take(MAX_BUNDLE_BYTES).read_to_end(&mut own)).ok()?;
    if own.windows(cert.len()).any(|w| w == cert.as_slice()) {
        return None;
    }
    if !own.is_empty() && !own.ends_with(b"\n") {
        own.push(b'\n');
    }
    own.extend_from_slice(&cert);
    if fs::read(&bundle).ok().as_deref() != Some(own.as_slice()) {
        write_private(&folder, NODE_BUNDLE_FILE, &own).ok()?;
    }
    Some((NODE_CA_ENV, bundle.into_os_string()))
}

/// Creates the folder (0700 on Unix) when missing, and checks that it is ours and not
/// writable by others (who could swap the files in it).
pub fn ensure_folder(folder: &Path) -> Result<()> {
    if !folder.exists() {
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(folder).map_err(|e| Error::Io { action: "create", path: folder.to_owned(), source: e })?;
    }
    let meta =
        fs::symlink_metadata(folder).map_err(|e| Error::Io { action: "read", path: folder.to_owned(), source: e })?;
    if !meta.is_dir() {
        return Err(unusable(folder, "the local CA's folder", "is not a folder".to_owned()));
    }
    check_owner(folder, "the local CA's folder", &meta)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o022 != 0 {
            return Err(unusable(
                folder,
                "the local CA's folder",
                format!("is writable by group or others (mode {mode:04o}); run chmod 700 on it"),
            ));
        }
    }
    Ok(())
}

/// Reads one of the CA's files, or `None` when it is absent; refused when it is not a regular
/// file, is owned by another user, is too large, or (for the `secret` key) is readable by group
/// or others.
pub fn read_checked(path: &Path, what: &'static str, secret: bool) -> Result<Option<String>> {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::Io { action: "read", path: path.to_owned(), source: e }),
    };
    if !meta.is_file() {
        return Err(unusable(path, what, "is not a regular file".to_owned()));
    }
    check_owner(path, what, &meta)?;
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(unusable(
                path,
                what,
                format!("is readable or writable by group or others (mode {mode:04o}); run chmod 600 on it"),
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = secret;
    if meta.len() > MAX_FILE_BYTES {
        return Err(unusable(path, what, format!("is larger than {MAX_FILE_BYTES} bytes")));
    }
    let mut text = String::new();
    File::open(path).and_then(|f| f.take(MAX_FILE_BYTES).read_to_string(&mut text)).map_err(|e| Error::Io {
        action: "read",
        path: path.to_owned(),
        source: e,
    })?;
    Ok(Some(text))
}

/// Writes `bytes` as `folder/name`, owner-only (0600 on Unix), through a temporary file renamed
/// into place: a reader sees the whole file or none.
pub fn write_private(folder: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    let target = folder.join(name);
    let temp = folder.join(format!(".{name}.{}.tmp", std::process::id()));
    let io = |action, e| Error::Io { action, path: temp.clone(), source: e };
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let _ = fs::remove_file(&temp);
    let mut file = options.open(&temp).map_err(|e| io("create", e))?;
    file.write_all(bytes).and_then(|()| file.sync_all()).map_err(|e| io("write", e))?;
    drop(file);
    fs::rename(&temp, &target).map_err(|e| Error::Io { action: "rename into place", path: target, source: e })
}

/// Holds the CA folder's lock until dropped: one process at a time creates or replaces the CA.
pub fn lock(folder: &Path) -> Result<File> {
    let path = folder.join(".lock");
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(&path).map_err(|e| Error::Io { action: "open", path: path.clone(), source: e })?;
    file.lock().map_err(|e| Error::Io { action: "lock", path, source: e })?;
    Ok(file)
}

fn check_owner(path: &Path, what: &'static str, meta: &fs::Metadata) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let Some(me) = crate::platform::our_uid()
            && meta.uid() != me
        {
            return Err(unusable(
                path,
                what,
                format!(
                    "is owned by another user ({}, uid {}), not by you (uid {me})",
                    crate::platform::user_name(meta.uid()),
                    meta.uid()
                ),
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = (path, what, meta);
    Ok(())
}

fn unusable(path: &Path, what: &'static str, reason: String) -> Error {
    Error::UnusableWorktreeFile { what, path: path.to_owned(), reason }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_key_others_can_read_is_refused_and_a_private_one_is_read() {
        let dir = tempfile::tempdir().unwrap();
        write_private(dir.path(), KEY_FILE, b"key").unwrap();
        let path = dir.path().join(KEY_FILE);
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(read_checked(&path, "key", true).unwrap().as_deref(), Some("key"));
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        let e = read_checked(&path, "key", true).unwrap_err().to_string();
        assert!(e.contains("mode 0640") && e.contains(KEY_FILE), "{e}");
        assert!(read_checked(&dir.path().join("absent"), "key", true).unwrap().is_none());
    }

    #[test]
    fn the_folder_is_created_private() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("a/ca");
        ensure_folder(&folder).unwrap();
        assert_eq!(fs::metadata(&folder).unwrap().permissions().mode() & 0o777, 0o700);
        fs::set_permissions(&folder, fs::Permissions::from_mode(0o777)).unwrap();
        assert!(ensure_folder(&folder).unwrap_err().to_string().contains("writable by group or others"));
    }
}
