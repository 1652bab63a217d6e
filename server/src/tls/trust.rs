//! Putting the local CA where the system and the browsers look, and taking it out again:
//! Debian/Ubuntu's CA store (`update-ca-certificates`, as root), the NSS databases of Chromium
//! and Firefox (`certutil` from `libnss3-tools`), macOS's login keychain (`security`) and the
//! Windows user Root store (`certutil -user`). Each store is one line of the report; a store
//! that cannot be used is skipped with the reason, and the others go on. The CA is named in
//! every store by its short fingerprint, so `untrust` removes exactly ours.

use super::Ca;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// What happened in one store.
#[derive(Debug, Clone, Serialize)]
pub struct StoreOutcome {
    /// The store, as a person would name it (`NSS database ~/.pki/nssdb`).
    pub store: String,
    /// `trusted`, `already trusted`, `removed`, `not there`, `skipped` or `failed`.
    pub outcome: &'static str,
    /// Why, for `skipped` and `failed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl StoreOutcome {
    fn new(store: impl Into<String>, outcome: &'static str, reason: Option<String>) -> StoreOutcome {
        StoreOutcome { store: store.into(), outcome, reason }
    }

    /// Whether the store ended as asked (or was skipped for a stated reason).
    pub fn failed(&self) -> bool {
        self.outcome == "failed"
    }

    /// One line: `trusted: NSS database ~/.pki/nssdb`, with the reason after a colon.
    pub fn line(&self) -> String {
        match &self.reason {
            Some(r) => format!("{}: {} ({r})", self.outcome, self.store),
            None => format!("{}: {}", self.outcome, self.store),
        }
    }
}

/// The CA's nickname in the stores that name certificates.
fn nickname(ca: &Ca) -> String {
    format!("atlas-ports local CA {}", ca.short_fingerprint())
}

/// The kinds of store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    /// Debian/Ubuntu's system CA store.
    System,
    /// The NSS databases of Chromium and Firefox.
    Nss,
    /// macOS's login keychain.
    Keychain,
    /// The Windows user Root store.
    Windows,
}

/// Every kind of store.
pub const ALL_STORES: &[Store] = &[Store::System, Store::Nss, Store::Keychain, Store::Windows];

/// Installs the CA in every store of the kinds in `stores` found on this system.
pub fn trust(ca: &Ca, stores: &[Store]) -> Vec<StoreOutcome> {
    each(ca, stores, true)
}

/// Removes the CA from every store of the kinds in `stores` that has it.
pub fn untrust(ca: &Ca, stores: &[Store]) -> Vec<StoreOutcome> {
    each(ca, stores, false)
}

fn each(ca: &Ca, stores: &[Store], add: bool) -> Vec<StoreOutcome> {
    let mut out = Vec::new();
    for store in stores {
        match store {
            Store::System => system_store(ca, add, &mut out),
            Store::Nss => nss_stores(ca, add, &mut out),
            Store::Keychain => apple_keychain(ca, add, &mut out),
            Store::Windows => windows_store(ca, add, &mut out),
        }
    }
    out
}

/// How long a store's tool (certutil, update-ca-certificates, security) may take.
const TOOL_WAIT: std::time::Duration = std::time::Duration::from_secs(60);
/// How much of a tool's output is kept: a tool stuck printing a prompt must not fill memory.
const TOOL_OUTPUT: u64 = 64 * 1024;

/// Runs a command to the end (at most [`TOOL_WAIT`], then it is killed); its stdout, or its
/// stderr (else stdout) as the error. Only the first [`TOOL_OUTPUT`] bytes of each are kept.
fn run(command: &mut Command) -> Result<String, String> {
    let program = command.get_program().to_string_lossy().into_owned();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not run {program}: {e}"))?;
    let keep = |stream: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut kept = Vec::new();
            if let Some(mut s) = stream {
                use std::io::Read as _;
                let _ = (&mut s).take(TOOL_OUTPUT).read_to_end(&mut kept);
                let _ = std::io::copy(&mut s, &mut std::io::sink());
            }
            String::from_utf8_lossy(&kept).into_owned()
        })
    };
    let out = keep(child.stdout.take().map(|s| Box::new(s) as _));
    let err = keep(child.stderr.take().map(|s| Box::new(s) as _));
    let deadline = std::time::Instant::now() + TOOL_WAIT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    let Some(status) = status else {
        return Err(format!("{program} did not finish within {} s and was ended", TOOL_WAIT.as_secs()));
    };
    if status.success() {
        return Ok(stdout);
    }
    let said = if stderr.trim().is_empty() { stdout.trim().to_owned() } else { stderr.trim().to_owned() };
    Err(format!("{program} failed ({status}): {said}"))
}

fn on_path(program: &str) -> bool {
    let Some(path) = std::env::var_os("PATH") else { return false };
    std::env::split_paths(&path).any(|dir| {
        let p = dir.join(program);
        p.is_file() || (cfg!(windows) && p.with_extension("exe").is_file())
    })
}

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME").filter(|h| !h.is_empty()).map(PathBuf::from)
}

/// Debian/Ubuntu's system store: the certificate in /usr/local/share/ca-certificates, then
/// `update-ca-certificates`. Root only.
fn system_store(ca: &Ca, add: bool, out: &mut Vec<StoreOutcome>) {
    if !cfg!(target_os = "linux") {
        return;
    }
    let folder = Path::new("/usr/local/share/ca-certificates");
    let file = folder.join(format!("atlas-ports-{}.crt", ca.short_fingerprint()));
    let store = format!("system CA store {}", file.display());
    if !on_path("update-ca-certificates") {
        out.push(StoreOutcome::new(
            store,
            "skipped",
            Some("no update-ca-certificates: not a Debian-like system".into()),
        ));
        return;
    }
    let root = atlas_ports_native::platform::our_uid() == Some(0);
    let present = file.is_file();
    let cmd = if add { "trust" } else { "untrust" };
    match (add, present) {
        (true, true) => return out.push(StoreOutcome::new(store, "already trusted", None)),
        (false, false) => return out.push(StoreOutcome::new(store, "not there", None)),
        _ if !root => {
            return out.push(StoreOutcome::new(
                store,
                "skipped",
                Some(format!("needs root: run `sudo atlas-ports {cmd}` for this store")),
            ));
        }
        _ => {}
    }
    let changed = if add {
        std::fs::create_dir_all(folder).and_then(|()| std::fs::write(&file, &ca.cert_pem))
    } else {
        std::fs::remove_file(&file)
    };
    if let Err(e) = changed {
        return out.push(StoreOutcome::new(store, "failed", Some(e.to_string())));
    }
    let mut update = Command::new("update-ca-certificates");
    if !add {
        update.arg("--fresh");
    }
    match run(&mut update) {
        Ok(_) => out.push(StoreOutcome::new(store, if add { "trusted" } else { "removed" }, None)),
        Err(e) => out.push(StoreOutcome::new(store, "failed", Some(e))),
    }
}

/// The NSS databases: Chromium's `~/.pki/nssdb` (created when absent, on trust), Firefox's
/// profiles, and the snap packages' own.
fn nss_stores(ca: &Ca, add: bool, out: &mut Vec<StoreOutcome>) {
    if !cfg!(target_os = "linux") {
        return;
    }
    let Some(home) = home() else {
        return out.push(StoreOutcome::new("NSS databases", "skipped", Some("HOME is not set".into())));
    };
    let chromium = home.join(".pki/nssdb");
    let mut databases = vec![chromium.clone(), home.join("snap/chromium/current/.pki/nssdb")];
    for profiles in [home.join(".mozilla/firefox"), home.join("snap/firefox/common/.mozilla/firefox")] {
        if let Ok(entries) = std::fs::read_dir(&profiles) {
            let mut found: Vec<PathBuf> =
                entries.flatten().map(|e| e.path()).filter(|p| p.join("cert9.db").is_file()).collect();
            found.sort();
            databases.extend(found);
        }
    }
    let shown = |db: &Path| format!("NSS database {}", db.display());
    let present: Vec<&PathBuf> = databases.iter().filter(|db| db.join("cert9.db").is_file()).collect();
    if !on_path("certutil") {
        let reason = "certutil is missing: install libnss3-tools (apt-get install libnss3-tools)".to_owned();
        if add || !present.is_empty() {
            out.push(StoreOutcome::new("NSS databases (Chromium, Firefox)", "skipped", Some(reason)));
        }
        return;
    }
    let name = nickname(ca);
    for db in databases {
        let exists = db.join("cert9.db").is_file();
        // Only Chromium's own database is created, and only to add to it.
        let create = add && db == chromium;
        if !exists && !create {
            continue;
        }
        let dir = format!("sql:{}", db.display());
        if !exists {
            let made = std::fs::create_dir_all(&db)
                .map_err(|e| e.to_string())
                .and_then(|()| run(Command::new("certutil").args(["-N", "--empty-password", "-d", &dir])).map(drop));
            if let Err(e) = made {
                out.push(StoreOutcome::new(shown(&db), "failed", Some(e)));
                continue;
            }
        }
        let listed = run(Command::new("certutil").args(["-L", "-d", &dir, "-n", &name])).is_ok();
        let outcome = match (add, listed) {
            (true, true) => Ok("already trusted"),
            (false, false) => Ok("not there"),
            (true, false) => run(Command::new("certutil")
                .args(["-A", "-d", &dir, "-t", "C,,", "-n", &name, "-i"])
                .arg(ca.cert_path()))
            .map(|_| "trusted"),
            (false, true) => run(Command::new("certutil").args(["-D", "-d", &dir, "-n", &name])).map(|_| "removed"),
        };
        out.push(match outcome {
            Ok(o) => StoreOutcome::new(shown(&db), o, None),
            Err(e) => StoreOutcome::new(shown(&db), "failed", Some(e)),
        });
    }
}

/// macOS: the login keychain, trusted as a root for SSL (unverified: built, not run, here).
fn apple_keychain(ca: &Ca, add: bool, out: &mut Vec<StoreOutcome>) {
    if !cfg!(target_os = "macos") {
        return;
    }
    let Some(home) = home() else { return };
    let keychain = home.join("Library/Keychains/login.keychain-db");
    let store = format!("macOS login keychain {}", keychain.display());
    let sha1 = sha1_hex(ca);
    let present = run(Command::new("security").args(["find-certificate", "-a", "-Z"]).arg(&keychain))
        .map(|listing| listing.to_ascii_uppercase().contains(&sha1))
        .unwrap_or(false);
    let outcome = match (add, present) {
        (true, true) => Ok("already trusted"),
        (false, false) => Ok("not there"),
        (true, false) => run(Command::new("security")
            .args(["add-trusted-cert", "-r", "trustRoot", "-k"])
            .arg(&keychain)
            .arg(ca.cert_path()))
        .map(|_| "trusted"),
        (false, true) => run(Command::new("security").args(["delete-certificate", "-t", "-Z", &sha1]).arg(&keychain))
            .map(|_| "removed"),
    };
    out.push(match outcome {
        Ok(o) => StoreOutcome::new(store, o, None),
        Err(e) => StoreOutcome::new(store, "failed", Some(e)),
    });
}

/// Windows: the current user's Root store (unverified: built, not run, here).
fn windows_store(ca: &Ca, add: bool, out: &mut Vec<StoreOutcome>) {
    if !cfg!(windows) {
        return;
    }
    let store = "Windows user Root store".to_owned();
    let sha1 = sha1_hex(ca);
    let present = run(Command::new("certutil").args(["-user", "-store", "Root", &sha1])).is_ok();
    let outcome = match (add, present) {
        (true, true) => Ok("already trusted"),
        (false, false) => Ok("not there"),
        (true, false) => {
            run(Command::new("certutil").args(["-user", "-addstore", "Root"]).arg(ca.cert_path())).map(|_| "trusted")
        }
        (false, true) => run(Command::new("certutil").args(["-user", "-delstore", "Root", &sha1])).map(|_| "removed"),
    };
    out.push(match outcome {
        Ok(o) => StoreOutcome::new(store, o, None),
        Err(e) => StoreOutcome::new(store, "failed", Some(e)),
    });
}

/// SHA-1 of the certificate, upper-case hex: how macOS and Windows name a certificate.
fn sha1_hex(ca: &Ca) -> String {
    ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &ca.cert_der)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(unix)]
    fn a_tool_that_prints_without_end_is_kept_to_its_first_bytes() {
        // `yes` prints forever; head ends it after 10 MB, of which only the first 64 KiB are kept.
        let out = run(Command::new("sh").args(["-c", "yes | head -c 10000000"])).unwrap();
        assert_eq!(out.len() as u64, TOOL_OUTPUT);
        let err = run(Command::new("sh").args(["-c", "echo why >&2; exit 3"])).unwrap_err();
        assert_eq!(err, "sh failed (exit status: 3): why");
        assert!(run(&mut Command::new("no-such-program-atlas")).unwrap_err().starts_with("could not run"));
    }
}
