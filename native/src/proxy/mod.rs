//! The named-URL proxy as a service that outlives a terminal: its state file beside the
//! registry (`proxy.json`, written by the server once it listens), whether the process it names
//! is alive and still the same one, the port it should listen on, and the named URLs handed out
//! while it runs.
//!
//! - [`background`]: `proxy start`, `stop` and `status`;
//! - [`service_files`]: user-level systemd and launchd units that run it.

mod background;
mod service_files;

pub use background::{StartOutcome, StopOutcome, start, stop};
pub use service_files::{ServiceKind, install_path, render};

use crate::{OsFs, Workspace, WorktreeFile, platform};
use atlas_ports_core::project::{PROJECT_FILE, ProxySettings};
pub use atlas_ports_core::proxy::ProxyRecord;
use atlas_ports_core::proxy::{DEFAULT_PORT, LOG_FILE, NamedUrls, PORT_ENV, STATE_FILE};
use atlas_ports_core::{Error, FileSystem, Result};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a connect to the proxy's port may take before it counts as not answering.
const ANSWER_TIMEOUT: Duration = Duration::from_millis(500);

/// The state file of the proxy serving the registry at `registry`.
pub fn state_path(registry: &Path) -> PathBuf {
    crate::servers::state_dir(registry).join(STATE_FILE)
}

/// The log the background proxy of `registry` appends to.
pub fn log_path(registry: &Path) -> PathBuf {
    crate::servers::state_dir(registry).join(LOG_FILE)
}

/// The registry's path made absolute against `cwd` (what a detached proxy and a service file
/// must be given: they run elsewhere).
pub fn absolute(registry: &Path, cwd: &Path) -> PathBuf {
    if registry.is_absolute() { registry.to_owned() } else { cwd.join(registry) }
}

/// What the state file says: a record, or nothing; a file that can't be read or was not
/// written by atlas-ports is nothing, with a warning saying so (it never stops anything).
#[derive(Debug, Clone, Default)]
pub struct Recorded {
    pub record: Option<ProxyRecord>,
    pub warning: Option<String>,
}

/// Reads the state file beside `registry`.
pub fn read(registry: &Path) -> Recorded {
    let path = state_path(registry);
    let fs = OsFs::default();
    if !fs.exists(&path) {
        return Recorded::default();
    }
    let warn = |reason: String| Recorded {
        record: None,
        warning: Some(format!(
            "atlas-ports: warning: ignoring the proxy state file {}: it {reason}; the proxy is taken as not running",
            path.display()
        )),
    };
    if let Some(reason) = fs.unusable(&path) {
        return warn(reason);
    }
    match fs.read(&path) {
        Ok(bytes) => match ProxyRecord::parse(&bytes) {
            Ok(record) => Recorded { record: Some(record), warning: None },
            Err(reason) => warn(format!("is not a proxy state file written by atlas-ports ({reason})")),
        },
        Err(e) => warn(format!("cannot be read ({e})")),
    }
}

/// Writes the state file beside `registry` in one step (a temporary file renamed over it).
pub fn write(registry: &Path, record: &ProxyRecord) -> Result<()> {
    let path = state_path(registry);
    let fs = OsFs::default();
    let dir = crate::servers::state_dir(registry);
    fs.create_dir_all(&dir).map_err(|source| Error::Io { action: "create", path: dir, source })?;
    let text = record.to_text();
    fs.replace(&path, &mut |out| out.write_all(text.as_bytes())).map_err(|source| Error::Io {
        action: "write",
        path,
        source,
    })
}

/// Removes the state file beside `registry` if it still names process `pid` started at
/// `start_time` (a proxy started since owns it then). Whether it was removed.
pub fn remove_if_own(registry: &Path, pid: u32, start_time: u64) -> bool {
    match read(registry).record {
        Some(r) if r.pid == pid && r.start_time == start_time => std::fs::remove_file(state_path(registry)).is_ok(),
        _ => false,
    }
}

/// Removes the state file whatever it says (a stale or corrupt one).
fn remove(registry: &Path) {
    let _ = std::fs::remove_file(state_path(registry));
}

/// The record of this process listening on `port` for the registry at `registry` (absolute).
pub fn own_record(registry: &Path, port: u16) -> ProxyRecord {
    let pid = std::process::id();
    ProxyRecord {
        pid,
        start_time: platform::process_facts(pid).map_or(0, |f| f.start_time),
        port,
        registry: registry.display().to_string(),
        started_at: atlas_ports_core::Clock::now(&crate::SystemClock).to_string(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
    }
}

/// What became of the process a record names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Liveness {
    /// Alive, and started when the record says: the proxy itself.
    Alive,
    /// No such process.
    Gone,
    /// A process with that PID runs, started at another time: another program (its name),
    /// never to be signalled. Also where the system gives no start time to prove it.
    Other(Option<String>),
}

/// Whether the process `record` names is still the proxy that wrote it.
pub fn liveness(record: &ProxyRecord) -> Liveness {
    match platform::process_facts(record.pid) {
        None => {
            if record.start_time == 0 && pid_exists(record.pid) {
                Liveness::Other(None)
            } else {
                Liveness::Gone
            }
        }
        Some(f) if record.start_time != 0 && f.start_time == record.start_time => Liveness::Alive,
        Some(f) => Liveness::Other(f.name),
    }
}

/// Whether some process has PID `pid`, where the system can say (used only where no start time
/// proves anything, so that an unproven record is never called gone).
fn pid_exists(pid: u32) -> bool {
    cfg!(not(target_os = "linux")) || Path::new(&format!("/proc/{pid}")).exists()
}

/// Whether something accepts connections on 127.0.0.1:`port`.
pub fn answers(port: u16) -> bool {
    TcpStream::connect_timeout(&SocketAddr::from((Ipv4Addr::LOCALHOST, port)), ANSWER_TIMEOUT).is_ok()
}

/// The proxy recorded for `registry` when it is running: alive, the same process, and
/// answering on its port; with the state file's warning, if any.
pub fn running(registry: &Path) -> (Option<ProxyRecord>, Option<String>) {
    let Recorded { record, warning } = read(registry);
    (record.filter(|r| liveness(r) == Liveness::Alive && answers(r.port)), warning)
}

/// The `[proxy]` table of the atlas-ports.toml of the worktree worked in; the defaults when
/// there is no worktree or no file.
pub fn settings(ws: &Workspace) -> Result<ProxySettings> {
    let Some(root) = ws.current_worktree().map(|w| w.root.clone()) else { return Ok(ProxySettings::default()) };
    let file = WorktreeFile::inside("project file", &root, Path::new(PROJECT_FILE))?;
    match file.read()? {
        Some(text) => ProxySettings::parse(file.path(), &text),
        None => Ok(ProxySettings::default()),
    }
}

/// The port the proxy listens on: `explicit` (`--port`), else `$ATLAS_PORTS_PROXY_PORT`, else
/// `[proxy] port` of atlas-ports.toml, else 1355. 0 means any free port.
pub fn configured_port(ws: &Workspace, explicit: Option<u16>) -> Result<u16> {
    if let Some(port) = explicit {
        return Ok(port);
    }
    if let Some(value) = std::env::var_os(PORT_ENV) {
        let text = value.to_string_lossy();
        return text.trim().parse::<u16>().map_err(|_| Error::InvalidArgument {
            what: PORT_ENV,
            value: text.into_owned(),
            reason: "expected a port number from 0 (any free port) to 65535".to_owned(),
        });
    }
    Ok(settings(ws)?.port.unwrap_or(DEFAULT_PORT))
}

/// The named URLs to hand out beside ports: `Some` while a proxy for `registry` runs, with
/// the scheme `[proxy] https` chooses; and a warning about an unusable state file.
pub fn named_urls(ws: &Workspace, registry: &Path) -> Result<(Option<NamedUrls>, Option<String>)> {
    let (record, warning) = running(registry);
    let Some(record) = record else { return Ok((None, warning)) };
    Ok((Some(NamedUrls { scheme: settings(ws)?.scheme(), port: record.port }), warning))
}

/// Who holds `port` on this machine, in words: another atlas-ports proxy (this registry's, or
/// one whose process is named so), or a process with its PID and name.
pub fn holder(port: u16, registry: &Path) -> String {
    let listener = platform::find_listeners(&[port]).remove(&port).unwrap_or_default();
    let Some(pid) = listener.pid else {
        return "a process that can't be read (another user's, or the system's)".to_owned();
    };
    let name = listener.process.unwrap_or_else(|| "name unknown".to_owned());
    if read(registry).record.is_some_and(|r| r.pid == pid && r.port == port) {
        return format!("another atlas-ports proxy (pid {pid}, {name}) serving {}", registry.display());
    }
    if name.starts_with("atlas-ports") {
        return format!("another atlas-ports proxy (pid {pid}, {name})");
    }
    format!("pid {pid} ({name})")
}

/// Refuses `port` when it can't be listened on at 127.0.0.1 because something holds it,
/// naming the holder; 0 (any free port) always passes.
pub fn check_free(port: u16, registry: &Path) -> Result<()> {
    if port == 0 {
        return Ok(());
    }
    match std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port)) {
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            Err(Error::PortTaken { port, holder: holder(port, registry) })
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_written_read_and_removed_only_by_its_owner() {
        let dir = tempfile::tempdir().unwrap();
        let registry = dir.path().join("ports.json");
        assert!(read(&registry).record.is_none());
        let mine = own_record(&registry, 4242);
        write(&registry, &mine).unwrap();
        assert_eq!(read(&registry).record.as_ref(), Some(&mine));
        // Where the system gives no process start time (Windows and macOS here), nothing proves
        // the PID is still the proxy: unproven, never "alive" (and never signalled).
        let proven = platform::process_facts(mine.pid).is_some();
        assert_eq!(liveness(&mine), if proven { Liveness::Alive } else { Liveness::Other(None) });
        assert!(!remove_if_own(&registry, mine.pid, mine.start_time + 1));
        assert!(remove_if_own(&registry, mine.pid, mine.start_time));
        assert!(!state_path(&registry).exists());
        std::fs::write(state_path(&registry), "{\"pid\": 1").unwrap();
        let r = read(&registry);
        assert!(r.record.is_none());
        assert!(r.warning.unwrap().contains("is not a proxy state file written by atlas-ports"));
    }

    #[test]
    fn a_taken_port_names_its_holder() {
        let dir = tempfile::tempdir().unwrap();
        let registry = dir.path().join("ports.json");
        let held = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = held.local_addr().unwrap().port();
        let err = check_free(port, &registry).unwrap_err();
        assert_eq!(err.code(), "ERR_PORT_TAKEN");
        if cfg!(target_os = "linux") {
            assert!(err.to_string().contains(&format!("pid {}", std::process::id())), "{err}");
        }
        assert!(answers(port));
        drop(held);
        assert!(check_free(port, &registry).is_ok());
        assert!(check_free(0, &registry).is_ok());
    }
}
