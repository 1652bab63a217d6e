//! What `start`, `stop` (and the stopping part of `down` and `prune`) answer.

use crate::servers::Proof;
use serde::Serialize;
use std::fmt::Write;

/// What became of one service's command after `start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StartState {
    /// Started now, and ready.
    Started,
    /// Started by an earlier `start` (or found listening from inside the worktree), and left
    /// alone.
    AlreadyRunning,
    /// Running, but not ready when the wait ended.
    NotReady,
    /// The command ended before it was ready.
    Exited,
}

/// One service after `start`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServerStart {
    pub service: String,
    pub port: u16,
    /// Where to reach it: `http://localhost:PORT` for an HTTP service, `localhost:PORT` else.
    pub url: String,
    pub state: StartState,
    /// The process atlas-ports started (or found).
    pub pid: Option<u32>,
    /// Whether atlas-ports started that process.
    pub started_by_atlas_ports: bool,
    /// The service's log file, as shown to the user.
    pub log: String,
    /// The readiness check's last answer, or why the command ended.
    pub reason: String,
}

/// What `start` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StartReport {
    pub worktree: String,
    pub services: Vec<ServerStart>,
}

impl StartReport {
    /// Whether every service is up.
    pub fn all_ready(&self) -> bool {
        self.services.iter().all(|s| matches!(s.state, StartState::Started | StartState::AlreadyRunning))
    }

    /// One line per service: its URL and what happened.
    pub fn text(&self) -> String {
        let mut out = format!("Worktree '{}':\n", self.worktree);
        for s in &self.services {
            let pid = s.pid.map_or_else(String::new, |p| format!(" (pid {p})"));
            let what = match s.state {
                StartState::Started => format!("started{pid}, ready: {}", s.reason),
                StartState::AlreadyRunning if s.started_by_atlas_ports => format!("already running{pid}"),
                StartState::AlreadyRunning => format!("already running{pid}, not started by atlas-ports"),
                StartState::NotReady => format!("started{pid}, not ready: {}; log: {}", s.reason, s.log),
                StartState::Exited => format!("exited: {}; log: {}", s.reason, s.log),
            };
            let _ = writeln!(out, "  {:<12} {:<24} {what}", s.service, s.url);
        }
        out
    }
}

/// A process that was (or, in a dry run, would be) stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoppedProcess {
    pub pid: u32,
    pub process: Option<String>,
    /// The service it was started for, or whose port it listens on.
    pub service: Option<String>,
    /// The port it listened on, when found listening.
    pub port: Option<u16>,
    pub proof: Proof,
    /// The last signal it was sent (`SIGTERM`, or `SIGKILL` after the grace period); `None`
    /// in a dry run.
    pub signal: Option<String>,
    /// Whether it is gone now (`false` in a dry run, or when even SIGKILL left it running).
    pub ended: bool,
}

/// A process found on one of the worktree's ports and left alone: not provably the worktree's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeftAlone {
    pub port: u16,
    pub service: String,
    pub pid: Option<u32>,
    pub process: Option<String>,
    pub user: Option<String>,
    /// Its working folder, as far as it could be read.
    pub cwd: Option<String>,
    pub reason: String,
}

/// What `stop` did (or, in a dry run, would do) for one worktree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StopReport {
    pub worktree: String,
    pub worktree_path: String,
    pub dry_run: bool,
    pub stopped: Vec<StoppedProcess>,
    pub left_alone: Vec<LeftAlone>,
}

impl StopReport {
    /// The stopped processes, one a line, then the ones left alone with why.
    pub fn text(&self) -> String {
        let mut out = format!("Worktree '{}': ", self.worktree);
        let n = self.stopped.len();
        let processes = if n == 1 { "process" } else { "processes" };
        if n == 0 {
            out.push_str("no servers to stop\n");
        } else if self.dry_run {
            let _ = writeln!(out, "would stop {n} {processes}");
        } else {
            let _ = writeln!(out, "stopped {n} {processes}");
        }
        for p in &self.stopped {
            let why = match (p.proof, p.port) {
                (Proof::Started, _) => "started by atlas-ports".to_owned(),
                (Proof::RunsInside, Some(port)) => format!("listening on {port} from inside the worktree"),
                (Proof::RunsInside, None) => "running from inside the worktree".to_owned(),
            };
            let outcome = match (&p.signal, p.ended) {
                (None, _) => String::new(),
                (Some(sig), true) => format!("; ended by {sig}"),
                (Some(sig), false) => format!("; still running after {sig}"),
            };
            let _ = writeln!(
                out,
                "  {:<12} pid {:<7} {:<12} {why}{outcome}",
                p.service.as_deref().unwrap_or("-"),
                p.pid,
                p.process.as_deref().unwrap_or("?")
            );
        }
        if !self.left_alone.is_empty() {
            out.push_str("Left alone (not provably this worktree's):\n");
            for l in &self.left_alone {
                let pid = l.pid.map_or_else(|| "?".to_owned(), |p| p.to_string());
                let _ = writeln!(
                    out,
                    "  port {} ({}): pid {pid} {}, user {}, folder {}: {}",
                    l.port,
                    l.service,
                    l.process.as_deref().unwrap_or("?"),
                    l.user.as_deref().unwrap_or("?"),
                    l.cwd.as_deref().unwrap_or("?"),
                    l.reason
                );
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stop_text_names_what_was_stopped_and_what_was_left_alone() {
        let report = StopReport {
            worktree: "app".into(),
            worktree_path: "/src/app".into(),
            dry_run: false,
            stopped: vec![StoppedProcess {
                pid: 4242,
                process: Some("python3".into()),
                service: Some("web".into()),
                port: None,
                proof: Proof::Started,
                signal: Some("SIGTERM".into()),
                ended: true,
            }],
            left_alone: vec![LeftAlone {
                port: 20001,
                service: "api".into(),
                pid: Some(99),
                process: Some("nc".into()),
                user: Some("root".into()),
                cwd: Some("/srv".into()),
                reason: "it runs from /srv, outside /src/app".into(),
            }],
        };
        assert_eq!(
            report.text(),
            "Worktree 'app': stopped 1 process\n  web          pid 4242    python3      started by atlas-ports; ended by SIGTERM\nLeft alone (not provably this worktree's):\n  port 20001 (api): pid 99 nc, user root, folder /srv: it runs from /srv, outside /src/app\n"
        );
    }
}
