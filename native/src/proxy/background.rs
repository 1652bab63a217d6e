//! `proxy start` and `proxy stop`: the proxy as a detached process of its own (a session of its
//! own on Unix, so closing the terminal does not end it), found again through its state file.
//! Deciding whether to start one holds the state file's lock, so two `start`s at once make one
//! proxy; stopping signals only the process the record proves is the proxy (its start time).

use super::{Liveness, absolute, answers, check_free, liveness, log_path, read, remove, state_path};
use crate::servers::StopSignal;
use crate::{OsFs, SelfCommand, platform};
use atlas_ports_core::proxy::ProxyRecord;
use atlas_ports_core::{Error, FileSystem, Result};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// How long a started proxy may take to listen and record itself.
const START_WAIT: Duration = Duration::from_secs(10);
/// How long a `start` waits for another `start` deciding for the same registry.
const DECIDE_WAIT: Duration = Duration::from_secs(30);
/// How long SIGKILL is given to take effect.
const KILL_WAIT: Duration = Duration::from_secs(2);
/// How many lines of its log a proxy that failed to start shows.
const LOG_LINES: usize = 20;

/// What `start` did.
#[derive(Debug, Clone)]
pub enum StartOutcome {
    /// A proxy for the registry was running already: nothing started.
    AlreadyRunning(ProxyRecord),
    /// Started, listening and recorded.
    Started(ProxyRecord),
    /// The process started and then ended, or did not listen in time (and was ended): why,
    /// with the last lines of its log.
    Failed { reason: String, log_tail: Vec<String> },
}

/// Starts `atlas-ports dashboard --port PORT --proxy-timeout S --registry REGISTRY` detached, unless a
/// proxy for the registry is running already, and waits until it listens. `registry` is made
/// absolute against `cwd`. The child works in the registry's folder, not in `cwd`: the worktree
/// it was started from may be removed while the proxy serves the others. Refuses a port something else holds,
/// naming it, before anything is written.
pub fn start(this: &SelfCommand, cwd: &Path, registry: &Path, port: u16, proxy_timeout: u64) -> Result<StartOutcome> {
    let registry = absolute(registry, cwd);
    if let Some(r) = live(&registry) {
        return Ok(StartOutcome::AlreadyRunning(r));
    }
    // Refused before the lock file is made, unless the holder may be a proxy another `start`
    // is starting right now (decided under the lock below): one named as ours, or any holder
    // once a `start` has made the lock file (a proxy that just bound its port has not recorded
    // itself yet, and under the npm bin it is `node`, not `atlas-ports`).
    if let Err(e) = check_free(port, &registry)
        && !matches!(&e, Error::PortTaken { holder, .. } if holder.starts_with("another atlas-ports proxy"))
        && !OsFs::lock_path(&state_path(&registry)).is_ok_and(|lock| lock.exists())
    {
        return Err(e);
    }
    let dir = crate::servers::state_dir(&registry);
    std::fs::create_dir_all(&dir).map_err(|source| Error::Io { action: "create", path: dir.clone(), source })?;
    let fs = OsFs::new(DECIDE_WAIT);
    let _lock = fs.lock(&state_path(&registry))?;
    if let Some(r) = live(&registry) {
        return Ok(StartOutcome::AlreadyRunning(r));
    }
    check_free(port, &registry)?;
    let log = log_path(&registry);
    let mut out = std::fs::OpenOptions::new().create(true).append(true).open(&log).map_err(|source| Error::Io {
        action: "open",
        path: log.clone(),
        source,
    })?;
    let started_at = atlas_ports_core::Clock::now(&crate::SystemClock).to_string();
    let _ = writeln!(out, "--- atlas-ports proxy start {started_at}: port {port}, registry {}", registry.display());
    let err = out.try_clone().map_err(|source| Error::Io { action: "open", path: log.clone(), source })?;
    let mut command = this.command();
    command
        .arg("dashboard")
        .arg("--port")
        .arg(port.to_string())
        .arg("--proxy-timeout")
        .arg(proxy_timeout.to_string())
        .arg("--registry")
        .arg(&registry)
        .current_dir(registry.parent().unwrap_or(cwd))
        .stdin(Stdio::null())
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err));
    let mut child = platform::spawn_daemon(command)
        .map_err(|source| Error::System { action: "start the proxy process", source })?;
    let pid = child.id();
    let deadline = Instant::now() + START_WAIT;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Ok(StartOutcome::Failed { reason: format!("it ended ({status})"), log_tail: tail(&log) });
        }
        if let Some(r) = read(&registry).record.filter(|r| r.pid == pid)
            && answers(r.port)
        {
            return Ok(StartOutcome::Started(r));
        }
        if Instant::now() >= deadline {
            // Ours (its handle is held): ended rather than left half-started.
            let _ = child.kill();
            let _ = child.wait();
            return Ok(StartOutcome::Failed {
                reason: format!("it did not listen within {} s, and was ended", START_WAIT.as_secs()),
                log_tail: tail(&log),
            });
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The recorded proxy when it is alive, the same process, and answering.
fn live(registry: &Path) -> Option<ProxyRecord> {
    read(registry).record.filter(|r| liveness(r) == Liveness::Alive && answers(r.port))
}

/// The last lines of a log.
fn tail(log: &Path) -> Vec<String> {
    let text = std::fs::read(log).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(LOG_LINES)..].iter().map(|l| (*l).to_owned()).collect()
}

/// What `stop` did.
#[derive(Debug, Clone)]
pub enum StopOutcome {
    /// No proxy is recorded (an unusable state file was removed, with the warning).
    NotRunning { warning: Option<String> },
    /// The recorded proxy was ended (`killed`: it needed SIGKILL) and its record removed.
    Stopped { record: ProxyRecord, killed: bool },
    /// The record named a process that is gone, or a PID now another program's: nothing was
    /// signalled, the record was removed. Why, in words.
    Stale { record: ProxyRecord, reason: String },
}

/// Stops the proxy recorded for `registry`: SIGTERM, `grace`, then SIGKILL, each only to the
/// process the record proves is the proxy; then removes the record.
pub fn stop(registry: &Path, cwd: &Path, grace: Duration) -> Result<StopOutcome> {
    let registry: PathBuf = absolute(registry, cwd);
    if !state_path(&registry).exists() {
        return Ok(StopOutcome::NotRunning { warning: None });
    }
    let fs = OsFs::new(DECIDE_WAIT);
    let _lock = fs.lock(&state_path(&registry))?;
    let recorded = read(&registry);
    let Some(record) = recorded.record else {
        if recorded.warning.is_some() {
            remove(&registry);
        }
        return Ok(StopOutcome::NotRunning { warning: recorded.warning });
    };
    let reason = match liveness(&record) {
        Liveness::Gone => Some(format!("process {} is gone", record.pid)),
        Liveness::Other(name) if record.start_time == 0 || !cfg!(target_os = "linux") => Some(format!(
            "process {} ({}) can't be proven to be the proxy on this system: left alone",
            record.pid,
            name.as_deref().unwrap_or("name unknown")
        )),
        Liveness::Other(name) => Some(format!(
            "process {} is now another program ({}), started after the proxy: left alone",
            record.pid,
            name.as_deref().unwrap_or("name unknown")
        )),
        Liveness::Alive => None,
    };
    if let Some(reason) = reason {
        remove(&registry);
        return Ok(StopOutcome::Stale { record, reason });
    }
    let signal = |s| {
        platform::signal_process(record.pid, record.start_time, s)
            .map_err(|source| Error::System { action: "signal the proxy", source })
    };
    signal(StopSignal::Terminate)?;
    let mut killed = false;
    if !gone_within(&record, grace) {
        killed = signal(StopSignal::Kill)?;
        gone_within(&record, KILL_WAIT);
    }
    if read(&registry).record.is_some_and(|r| r.pid == record.pid && r.start_time == record.start_time) {
        remove(&registry);
    }
    Ok(StopOutcome::Stopped { record, killed })
}

/// Waits up to `wait` for the recorded process to end; whether it did.
fn gone_within(record: &ProxyRecord, wait: Duration) -> bool {
    let deadline = Instant::now() + wait;
    loop {
        if liveness(record) != Liveness::Alive {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
