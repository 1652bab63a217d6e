//! `start`: the worktree's ports as `up` ensures them, then each declared command that is not
//! already running, in the background, recorded before anything waits.

use super::{Records, file_key, logs};
use crate::{Workspace, lifecycle, platform, readiness};
use atlas_ports_core::project::DeclaredService;
use atlas_ports_core::report::{ServerStart, StartReport, StartState, UpReport};
use atlas_ports_core::servers::{ServersFile, StartedServer};
use atlas_ports_core::{Error, ProbeKind, Result};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// What to start, and how long to wait for it.
#[derive(Debug, Clone)]
pub struct StartOptions {
    /// One service only (it must declare a command); default: every service that declares one.
    pub service: Option<String>,
    /// How long to wait for the services to be ready.
    pub timeout: Duration,
}

/// A service waited for: a command started now (its child), or one started before that is not
/// ready yet (its recorded process).
struct Launched {
    index: usize,
    child: Option<Child>,
    recorded: Option<(u32, u64)>,
    kind: ProbeKind,
}

impl Drop for Launched {
    /// A child still running is waited for on a thread of its own: in a process that goes on
    /// (Node's `start`, the dashboard) a server that ends later would otherwise stay a zombie,
    /// holding its PID, until that process exits.
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = std::thread::Builder::new().name("atlas-ports-reaper".into()).spawn(move || child.wait());
        }
    }
}

/// Ensures the worktree's ports and env file (as `up`), starts the declared commands that are
/// not running yet, and waits until they are ready or `timeout` passes. Returns `up`'s report,
/// what happened to each service, and whether the registry was created.
pub fn start(ws: &Workspace, registry: Option<&Path>, options: &StartOptions) -> Result<(UpReport, StartReport, bool)> {
    let (project, root) = lifecycle::project(ws)?;
    let chosen = chosen(&project.services, options.service.as_deref(), project.path())?;
    let (up, created) = lifecycle::up(ws, registry)?;
    let ports = ws.ports(registry);
    let reg = ports.load()?;
    let held: Vec<(String, u16)> = up.services.iter().map(|s| (s.service.clone(), s.port)).collect();
    let env = project.env_variables(&held);
    let records = Records::beside(ports.registry_path());
    let folder = ws.folder();
    let git_id = folder.as_ref().and_then(|f| f.git.worktree_id);
    let existing = super::stop::files_of(&records, &root, git_id);
    let key = existing.first().map_or_else(|| free_key(&records, &up.worktree), |(k, _)| k.clone());
    let fresh = ServersFile {
        worktree: up.worktree.clone(),
        worktree_path: root.display().to_string(),
        repository: folder.as_ref().map(|f| f.git.repository.to_owned()),
        git_worktree: folder.as_ref().and_then(|f| f.git.worktree_id.map(str::to_owned)),
        servers: Vec::new(),
    };
    let recorded: Vec<StartedServer> = existing.into_iter().flat_map(|(_, f)| f.servers).collect();
    let mut report = StartReport { worktree: up.worktree.clone(), services: Vec::new() };
    let mut launched = Vec::new();
    for service in chosen {
        let port = held.iter().find(|(s, _)| *s == service.name).map(|(_, p)| *p).expect("up ensured every port");
        let kind = match &service.ready {
            Some(path) => ProbeKind::Http { path: path.clone() },
            None => ProbeKind::for_service(&service.name, reg.ranges.get(&service.name)),
        };
        let log = logs::path(ports.registry_path(), &key, &service.name);
        let mut entry = ServerStart {
            service: service.name.clone(),
            port,
            url: url(&kind, port),
            state: StartState::AlreadyRunning,
            pid: None,
            started_by_atlas_ports: false,
            log: ws.display(&log),
            reason: String::new(),
        };
        // Started before and still the same process: left alone, never a second copy.
        if let Some(r) =
            recorded.iter().find(|r| r.service == service.name && super::stop::is_alive(r.pid, r.start_time))
        {
            entry.pid = Some(r.pid);
            entry.started_by_atlas_ports = true;
            let (ready, answer) = readiness::look(&kind, port);
            entry.reason = answer;
            if !ready {
                // Still starting (an earlier `start` was interrupted): waited for, not started again.
                entry.state = StartState::NotReady;
                let recorded = Some((r.pid, r.start_time));
                launched.push(Launched { index: report.services.len(), child: None, recorded, kind });
            }
            report.services.push(entry);
            continue;
        }
        // Something already answers on the worktree's port (`up` moved the port off a foreign
        // process): a server started by hand in this worktree. Left alone too.
        let (ready, answer) = readiness::look(&kind, port);
        if ready {
            entry.pid = platform::find_listeners(&[port]).get(&port).and_then(|l| l.pid);
            entry.reason = answer;
            report.services.push(entry);
            continue;
        }
        let line = project.command_line(&service.name, &held).expect("chosen services declare a command");
        let cwd = working_folder(&root, service.cwd.as_deref())?;
        let started_at = atlas_ports_core::Clock::now(&crate::SystemClock).to_string();
        let out = logs::open_for(&log, &format!("--- atlas-ports start {started_at}: {line} (in {})", cwd.display()))?;
        let err = out.try_clone().map_err(|e| Error::Io { action: "open", path: log.clone(), source: e })?;
        let mut command = platform::shell_command(&line);
        command
            .current_dir(&cwd)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env("PORT", port.to_string())
            .env("ATLAS_PORTS_WORKTREE", &up.worktree)
            .env("ATLAS_PORTS_SERVICE", &service.name)
            .envs(crate::local_ca::node_ca_variable());
        let child = platform::spawn_detached(command)
            .map_err(|source| Error::System { action: "start the command of a service", source })?;
        let pid = child.id();
        let start_time = platform::process_facts(pid).map_or(0, |f| f.start_time);
        // Recorded before anything waits: if atlas-ports is killed from here on, `stop` finds it.
        let server = StartedServer {
            service: service.name.clone(),
            pid,
            process_group: pid,
            start_time,
            command: line,
            cwd: cwd.display().to_string(),
            log: log.display().to_string(),
            started_at,
        };
        records.update(&key, &fresh, |f| {
            // A worktree moved since keeps its file, under its new folder.
            f.worktree.clone_from(&fresh.worktree);
            f.worktree_path.clone_from(&fresh.worktree_path);
            f.servers.retain(|s| s.service != server.service);
            f.servers.push(server.clone());
        })?;
        entry.pid = Some(pid);
        entry.started_by_atlas_ports = true;
        entry.state = StartState::NotReady;
        launched.push(Launched { index: report.services.len(), child: Some(child), recorded: None, kind });
        report.services.push(entry);
    }
    wait_ready(&mut report, launched, options.timeout);
    let ended: Vec<&str> =
        report.services.iter().filter(|s| s.state == StartState::Exited).map(|s| s.service.as_str()).collect();
    if !ended.is_empty() {
        records.update(&key, &fresh, |f| f.servers.retain(|s| !ended.contains(&s.service.as_str())))?;
    }
    Ok((up, report, created))
}

/// A key for a new servers file: the worktree's name, or with `-2`, `-3`… where a file of a
/// worktree that is gone already has it.
fn free_key(records: &Records, name: &str) -> String {
    let base = file_key(name);
    std::iter::once(base.clone())
        .chain((2..).map(|n| format!("{base}-{n}")))
        .find(|k| !records.path(k).exists())
        .expect("some key is free")
}

/// The services to start: the one named, which must declare a command, or all that do.
fn chosen<'p>(services: &'p [DeclaredService], named: Option<&str>, file: &Path) -> Result<Vec<&'p DeclaredService>> {
    let declared = || services.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", ");
    let chosen: Vec<&DeclaredService> = match named {
        Some(name) => {
            let s = services.iter().find(|s| s.name == name).ok_or_else(|| Error::InvalidArgument {
                what: "--service",
                value: name.to_owned(),
                reason: format!("{} declares no such service (declared: {})", file.display(), declared()),
            })?;
            if s.command.is_none() {
                return Err(Error::InvalidArgument {
                    what: "--service",
                    value: name.to_owned(),
                    reason: format!("[services.{name}] of {} declares no command", file.display()),
                });
            }
            vec![s]
        }
        None => services.iter().filter(|s| s.command.is_some()).collect(),
    };
    if chosen.is_empty() {
        return Err(Error::InvalidArgument {
            what: "project file",
            value: file.display().to_string(),
            reason: "declares no command to start: add command = \"…\" to a [services.NAME]".to_owned(),
        });
    }
    Ok(chosen)
}

/// The command's working folder: `cwd` under the worktree's root, which it must not leave
/// through a symbolic link either.
fn working_folder(root: &Path, cwd: Option<&Path>) -> Result<PathBuf> {
    let Some(relative) = cwd else { return Ok(root.to_owned()) };
    let path = root.join(relative);
    let unusable = |reason: String| Error::UnusableWorktreeFile { what: "working folder", path: path.clone(), reason };
    let real = path.canonicalize().map_err(|e| unusable(format!("can't be used ({e})")))?;
    let real_root = root.canonicalize().map_err(|e| unusable(format!("can't be used ({e})")))?;
    if !real.starts_with(&real_root) {
        return Err(unusable(format!("leads out of the worktree (to {})", real.display())));
    }
    if !real.is_dir() {
        return Err(unusable("is not a folder".to_owned()));
    }
    Ok(path)
}

/// Where to reach a service.
fn url(kind: &ProbeKind, port: u16) -> String {
    match kind {
        ProbeKind::Http { .. } => format!("http://localhost:{port}"),
        ProbeKind::Redis => format!("redis://localhost:{port}"),
        ProbeKind::Database | ProbeKind::Tcp => format!("localhost:{port}"),
    }
}

/// Looks at every launched service until each is ready or has ended, or `timeout` passes.
fn wait_ready(report: &mut StartReport, mut launched: Vec<Launched>, timeout: Duration) {
    let begun = Instant::now();
    while !launched.is_empty() {
        launched.retain_mut(|l| {
            let entry = &mut report.services[l.index];
            let ended = match (&mut l.child, l.recorded) {
                (Some(child), _) => {
                    child.try_wait().ok().flatten().map(|status| format!("the command ended ({status})"))
                }
                (None, Some((pid, start_time))) => {
                    (!super::stop::is_alive(pid, start_time)).then(|| "the command ended".to_owned())
                }
                (None, None) => None,
            };
            if let Some(ended) = ended {
                entry.state = StartState::Exited;
                entry.reason = format!("{ended} before it was ready");
                return false;
            }
            let (ready, answer) = readiness::look(&l.kind, entry.port);
            entry.reason = answer;
            if ready {
                entry.state = if l.child.is_some() { StartState::Started } else { StartState::AlreadyRunning };
            }
            !ready
        });
        if launched.is_empty() || begun.elapsed() >= timeout {
            return;
        }
        std::thread::sleep(readiness::POLL_INTERVAL.min(timeout - begun.elapsed()));
    }
}
