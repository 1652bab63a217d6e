//! `stop`, and the stopping part of `down` and `prune`: find the processes provably a
//! worktree's, send them SIGTERM, give them a grace period, then SIGKILL what is left. Each
//! signal goes through [`platform::signal_process`], which checks the start time of the process
//! it pinned first; everything not provably the worktree's is only reported.

use super::{Records, StopSignal};
use crate::{GitFacts, GitWorktrees, Workspace, platform};
use atlas_ports_core::report::{LeftAlone, StopReport, StoppedProcess};
use atlas_ports_core::servers::{
    ProcessFacts, Proof, ServersFile, StartedServer, group_member_is_ours, listener_is_ours, working_folder,
};
use atlas_ports_core::{Error, Probe, Result};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long SIGKILL is given to take effect.
const KILL_WAIT: Duration = Duration::from_secs(2);

/// What to stop.
#[derive(Debug, Clone)]
pub struct StopOptions {
    /// One service's processes only; default: all of the worktree's.
    pub service: Option<String>,
    /// How long SIGTERM is given before SIGKILL.
    pub grace: Duration,
    /// Find and report, signal nothing.
    pub dry_run: bool,
}

/// A worktree whose servers are stopped.
#[derive(Debug, Clone)]
pub struct Worktree {
    /// Its name in the registry.
    pub name: String,
    /// Its folder (which may be gone).
    pub root: PathBuf,
    /// Git's id of a linked worktree.
    pub git_worktree: Option<String>,
    /// Its allocated ports: `(service, port)`.
    pub ports: Vec<(String, u16)>,
}

/// A process that may be stopped, with what became of it.
struct Target {
    facts: ProcessFacts,
    proof: Proof,
    service: Option<String>,
    port: Option<u16>,
    signal: Option<&'static str>,
}

/// Whether the process `pid` is alive and still the one that started at `start_time`.
pub(super) fn is_alive(pid: u32, start_time: u64) -> bool {
    start_time != 0 && platform::process_facts(pid).is_some_and(|f| f.start_time == start_time)
}

/// The servers files of a worktree: those recorded for its folder, or for git's id of it (a
/// worktree moved since).
pub(super) fn files_of(records: &Records, root: &Path, git_worktree: Option<&str>) -> Vec<(String, ServersFile)> {
    records
        .all()
        .into_iter()
        .filter(|(_, f)| {
            Path::new(&f.worktree_path) == root || (git_worktree.is_some() && f.git_worktree.as_deref() == git_worktree)
        })
        .collect()
}

/// Stops the servers of the worktree worked in.
pub fn stop_here(ws: &Workspace, registry: Option<&Path>, options: &StopOptions) -> Result<StopReport> {
    let here = ws.current_worktree().ok_or_else(|| Error::NotInWorktree { cwd: ws.cwd.clone() })?;
    let ports = ws.ports(registry);
    let name = ws.worktree_name(&ports, None)?;
    let allocated = match ports.list(Some(&name)) {
        Ok(list) => list,
        Err(Error::RegistryMissing { .. }) => Vec::new(),
        Err(e) => return Err(e),
    };
    let worktree = Worktree {
        name,
        root: here.root.clone(),
        git_worktree: here.git_id.clone(),
        ports: allocated.iter().map(|a| (a.service.to_string(), a.port)).collect(),
    };
    stop(&Records::beside(ports.registry_path()), &worktree, options)
}

/// Stops (or, in a dry run, finds) the servers of `worktree`: the processes its servers files
/// record that are still the same processes, with the members of their process groups; and the
/// processes listening on its ports from inside its folder, as this user. The rest found on its
/// ports is reported as left alone.
pub fn stop(records: &Records, worktree: &Worktree, options: &StopOptions) -> Result<StopReport> {
    let root = worktree.root.canonicalize().unwrap_or_else(|_| worktree.root.clone());
    let files = files_of(records, &worktree.root, worktree.git_worktree.as_deref());
    let wanted = |service: &str| options.service.as_deref().is_none_or(|s| s == service);
    let uid = platform::our_uid();
    let mut targets: Vec<Target> = Vec::new();
    for server in files.iter().flat_map(|(_, f)| &f.servers).filter(|s| wanted(&s.service)) {
        for facts in recorded_processes(server, uid) {
            if !targets.iter().any(|t| t.facts.pid == facts.pid) {
                targets.push(Target {
                    facts,
                    proof: Proof::Started,
                    service: Some(server.service.clone()),
                    port: None,
                    signal: None,
                });
            }
        }
    }
    let ports: Vec<&(String, u16)> = worktree.ports.iter().filter(|(s, _)| wanted(s)).collect();
    let mut left_alone = Vec::new();
    let found = platform::find_listeners(&ports.iter().map(|(_, p)| *p).collect::<Vec<_>>());
    for (service, port) in ports {
        let alone = |pid: Option<u32>, facts: Option<&ProcessFacts>, reason: String| LeftAlone {
            port: *port,
            service: service.clone(),
            pid,
            process: facts.and_then(|f| f.name.clone()),
            user: facts.and_then(|f| f.user.clone()),
            cwd: facts.and_then(|f| f.cwd.clone()),
            reason,
        };
        let Some(pid) = found.get(port).and_then(|l| l.pid) else {
            if !crate::SystemProbe.is_free(*port) {
                left_alone.push(alone(
                    None,
                    None,
                    "its process can't be read (another user's, or the system's)".into(),
                ));
            }
            continue;
        };
        if let Some(t) = targets.iter_mut().find(|t| t.facts.pid == pid) {
            t.port = Some(*port);
            continue;
        }
        let Some(facts) = platform::process_facts(pid) else {
            left_alone.push(alone(Some(pid), None, "its process can't be read".into()));
            continue;
        };
        let Some(uid) = uid else {
            left_alone.push(alone(Some(pid), Some(&facts), "this system's processes are not matched to users".into()));
            continue;
        };
        let cwd_worktree =
            facts.cwd.as_deref().filter(|c| !working_folder(c).1).and_then(crate::health_probe::worktree_root);
        match listener_is_ours(&facts, &root.display().to_string(), cwd_worktree.as_deref(), uid) {
            Ok(()) => targets.push(Target {
                facts,
                proof: Proof::RunsInside,
                service: Some(service.clone()),
                port: Some(*port),
                signal: None,
            }),
            Err(reason) => left_alone.push(alone(Some(pid), Some(&facts), reason)),
        }
    }
    if !options.dry_run {
        signal_all(&mut targets, options.grace);
        forget_ended(records, &files, &wanted)?;
    }
    let stopped = targets
        .into_iter()
        .map(|t| StoppedProcess {
            pid: t.facts.pid,
            ended: !options.dry_run && !is_alive(t.facts.pid, t.facts.start_time),
            process: t.facts.name,
            service: t.service,
            port: t.port,
            proof: t.proof,
            signal: t.signal.map(str::to_owned),
        })
        .collect();
    Ok(StopReport {
        worktree: worktree.name.clone(),
        worktree_path: worktree.root.display().to_string(),
        dry_run: options.dry_run,
        stopped,
        left_alone,
    })
}

/// The processes of a recorded server that are provably it: the recorded process, when it
/// still has the recorded start time, and the members of its process group that run as this
/// user and started after it. Members are not taken when the recorded PID now leads another
/// process group (the number was reused for a new group).
pub(super) fn recorded_processes(server: &StartedServer, uid: Option<u32>) -> Vec<ProcessFacts> {
    if server.start_time == 0 {
        return Vec::new();
    }
    let now = platform::process_facts(server.pid);
    let mut found = Vec::new();
    let reused_as_leader = match &now {
        Some(f) if f.start_time == server.start_time => {
            found.push(f.clone());
            false
        }
        Some(f) => f.process_group == f.pid,
        None => false,
    };
    if let (false, Some(uid)) = (reused_as_leader, uid) {
        found.extend(
            platform::processes_in_group(server.process_group)
                .into_iter()
                .filter(|m| m.pid != server.pid && group_member_is_ours(m, server, uid)),
        );
    }
    found
}

/// SIGTERM to every target, up to `grace` for them to end, then SIGKILL to those left.
fn signal_all(targets: &mut [Target], grace: Duration) {
    let alive = |t: &Target| is_alive(t.facts.pid, t.facts.start_time);
    for t in targets.iter_mut() {
        if platform::signal_process(t.facts.pid, t.facts.start_time, StopSignal::Terminate).unwrap_or(false) {
            t.signal = Some("SIGTERM");
        }
    }
    let deadline = Instant::now() + grace;
    while targets.iter().any(alive) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    for t in targets.iter_mut().filter(|t| alive(t)) {
        if platform::signal_process(t.facts.pid, t.facts.start_time, StopSignal::Kill).unwrap_or(false) {
            t.signal = Some("SIGKILL");
        }
    }
    let deadline = Instant::now() + KILL_WAIT;
    while targets.iter().any(alive) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Removes from the servers files the records of the chosen services whose process has ended.
fn forget_ended(records: &Records, files: &[(String, ServersFile)], wanted: &dyn Fn(&str) -> bool) -> Result<()> {
    for (key, file) in files {
        records.update(key, file, |f| f.servers.retain(|s| !wanted(&s.service) || is_alive(s.pid, s.start_time)))?;
    }
    Ok(())
}

/// Stops (or, in a dry run, finds) the servers of the worktrees that are gone: those whose
/// allocations `prune` would release (folder gone, git no longer lists them), and those whose
/// servers file names a folder that is gone and that git no longer lists.
pub fn reap(ws: &Workspace, registry: Option<&Path>, grace: Duration, dry_run: bool) -> Result<Vec<StopReport>> {
    let ports = ws.ports(registry);
    let reg = match ports.load() {
        Ok(reg) => reg,
        Err(Error::RegistryMissing { .. }) => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let facts = GitFacts::new(ws.repository_root(ports.registry_path()).as_deref());
    let mut gone: Vec<Worktree> = Vec::new();
    for a in reg.allocations.iter().filter(|a| atlas_ports_core::prune::is_gone(a, &facts)) {
        let root = PathBuf::from(a.worktree_path.as_deref().expect("a gone allocation records its folder"));
        match gone.iter_mut().find(|w| w.root == root) {
            Some(w) => w.ports.push((a.service.to_string(), a.port)),
            None => gone.push(Worktree {
                name: a.worktree.to_string(),
                root,
                git_worktree: None,
                ports: vec![(a.service.to_string(), a.port)],
            }),
        }
    }
    let records = Records::beside(ports.registry_path());
    for (_, file) in records.all() {
        let root = PathBuf::from(&file.worktree_path);
        if gone.iter().any(|w| w.root == root) || root.exists() {
            continue;
        }
        let unlisted = file
            .repository
            .as_deref()
            .and_then(|r| GitWorktrees::of_git_dir(Path::new(r)))
            .is_some_and(|g| !g.lists_folder(&root, file.git_worktree.as_deref()));
        if unlisted {
            gone.push(Worktree { name: file.worktree.clone(), root, git_worktree: None, ports: Vec::new() });
        }
    }
    let options = StopOptions { service: None, grace, dry_run };
    let mut reports = Vec::new();
    for worktree in &gone {
        let report = stop(&records, worktree, &options)?;
        if !report.stopped.is_empty() || !report.left_alone.is_empty() {
            reports.push(report);
        }
    }
    Ok(reports)
}
