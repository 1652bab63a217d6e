//! What `up` and `down` answer.

use crate::registry::Allocation;
use serde::Serialize;
use std::fmt::Write;

/// One declared service's port after `up`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServicePort {
    pub service: String,
    pub port: u16,
    /// The environment variable the env file sets (`PORT_WEB`).
    pub variable: String,
    /// The port held before, when a foreign process had taken it and the allocation moved.
    pub moved_from: Option<u16>,
    /// What the user should know about this port (it moved off a canonical port, or a busy
    /// port was kept although whose process holds it cannot be told).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
    /// The named URL (`http://web.pr-42.localhost:1355`), while a proxy for the registry runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// What `up` did: the worktree's ports, and whether the env file changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UpReport {
    pub worktree: String,
    /// The env file, as shown to the user.
    pub env_file: String,
    /// False when the env file already said exactly this.
    pub written: bool,
    pub services: Vec<ServicePort>,
}

impl UpReport {
    /// The ports, and what happened to the env file.
    pub fn text(&self) -> String {
        let mut out = format!(
            "Worktree '{}': {} {}\n",
            self.worktree,
            if self.written { "wrote" } else { "unchanged:" },
            self.env_file
        );
        for s in &self.services {
            let moved =
                s.moved_from.map_or_else(String::new, |p| format!("  (moved from {p}: taken by another process)"));
            let url = s.url.as_ref().map_or_else(String::new, |u| format!("  {u}"));
            let _ = writeln!(out, "  {:<12} {:<5}  {}{moved}{url}", s.service, s.port, s.variable);
        }
        out
    }
}

/// What `down` did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DownReport {
    pub worktree: String,
    pub released: Vec<Allocation>,
    /// The env file it removed, if `up` had written one.
    pub removed: Option<String>,
    /// An env file left in place because `up` did not write it.
    pub kept: Option<String>,
    /// The servers stopped first, when the front end stops them (the CLI does).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub servers: Option<crate::report::StopReport>,
}

impl DownReport {
    /// What was released and removed.
    pub fn text(&self) -> String {
        let mut out = String::new();
        if let Some(servers) = self.servers.as_ref().filter(|s| !s.stopped.is_empty() || !s.left_alone.is_empty()) {
            out.push_str(&servers.text());
        }
        let _ = write!(out, "Worktree '{}': ", self.worktree);
        if self.released.is_empty() {
            out.push_str("no ports were allocated\n");
        } else {
            let list: Vec<String> = self.released.iter().map(|a| format!("{} ({})", a.port, a.service)).collect();
            let _ = writeln!(out, "released {}", list.join(", "));
        }
        if let Some(f) = &self.removed {
            let _ = writeln!(out, "  removed {f}");
        }
        if let Some(f) = &self.kept {
            let _ = writeln!(out, "  kept {f}: `atlas-ports up` did not write it");
        }
        out
    }
}

/// What `wait` found: whether a worktree's service is ready (its port listens and its protocol
/// answers), and why not when it is not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Readiness {
    pub worktree: String,
    pub service: String,
    /// The worktree's port for the service; `None` while the worktree holds none.
    pub port: Option<u16>,
    pub ready: bool,
    /// The last probe's answer (`HTTP 200 from GET /`, `nothing listens on port 8080`).
    pub reason: String,
    /// Milliseconds spent waiting.
    pub waited_ms: u64,
}
