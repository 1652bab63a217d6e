//! What the dashboard page shows: every worktree with its services and their live state, and
//! the conflicts, built from one look at the registry and its ports. No I/O here; the CLI's
//! `dashboard` serves it as JSON and the page draws it.

use crate::conflicts::{self, ConflictReport};
use crate::health::{Ownership, ProbeKind};
use crate::names;
use crate::registry::{HealthStatus, Registry};
use crate::status::{AllocationState, HealthSummary};
use serde::Serialize;

/// The whole page's data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DashboardState {
    /// The registry file, as the user would name it.
    pub registry: String,
    /// When this look was taken (RFC 3339 UTC).
    pub observed_at: String,
    /// Worktrees in natural name order (ignoring case, numbers by value: `agent-2` before
    /// `agent-10`), each with its services in range order.
    pub worktrees: Vec<WorktreeView>,
    pub summary: HealthSummary,
    pub total: usize,
    pub conflicts: ConflictReport,
}

/// One worktree's row group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorktreeView {
    pub name: String,
    /// Its folder, when recorded.
    pub path: Option<String>,
    /// The label of its named URLs ([`names::host_label`]).
    pub label: String,
    pub services: Vec<ServiceView>,
}

/// One allocation, as a row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceView {
    pub port: u16,
    pub service: String,
    pub description: String,
    pub status: HealthStatus,
    /// Why: what the probe saw (`HTTP 200 from GET /`, `nothing listens`).
    pub detail: String,
    pub pid: Option<u32>,
    pub process: Option<String>,
    /// Whose server listens: the worktree's own, a foreign one, or unknown.
    pub ownership: Option<Ownership>,
    /// Whether atlas-ports started the process on the port (`start`), or found it there; `None`
    /// when nothing listens or this was not looked at.
    pub started_by_atlas_ports: Option<bool>,
    /// Whether the worktree's atlas-ports.toml declares a command for this service (so `start`
    /// can start it); filled in by the front end, which reads the file.
    pub command: bool,
    pub allocated_at: String,
    pub allocated_by: String,
    /// Whether the service speaks HTTP (so the page links to it).
    pub http: bool,
    /// `http://127.0.0.1:<port>/`.
    pub direct_url: String,
    /// `http://<service>.<worktree>.localhost:<proxy port>/`, when the proxy serves names.
    pub named_url: Option<String>,
}

impl DashboardState {
    /// Builds the page's data from the registry and the states of all its allocations;
    /// `proxy_port` is where named URLs are served.
    pub fn new(
        registry: String,
        observed_at: String,
        reg: &Registry,
        states: Vec<AllocationState>,
        proxy_port: Option<u16>,
    ) -> DashboardState {
        let conflicts = conflicts::detect(reg, &states);
        let summary = crate::status::summarize(&states);
        let total = states.len();
        let range_order = |service: &str| reg.ranges.get_index_of(service).unwrap_or(usize::MAX);
        let mut states = states;
        states.sort_by_cached_key(|s| {
            let a = &s.allocation;
            (natural_key(&a.worktree), a.worktree.clone(), range_order(&a.service), a.service.clone(), a.port)
        });
        let mut worktrees: Vec<WorktreeView> = Vec::new();
        for s in states {
            let a = &s.allocation;
            let row = ServiceView {
                port: a.port,
                service: a.service.to_string(),
                description: a.description.to_string(),
                status: s.status,
                detail: s.detail,
                pid: s.pid,
                process: s.process,
                ownership: s.ownership,
                started_by_atlas_ports: s.started_by_atlas_ports,
                command: false,
                allocated_at: a.allocated_at.to_string(),
                allocated_by: a.allocated_by.to_string(),
                http: matches!(s.probe, ProbeKind::Http { .. }),
                direct_url: format!("http://127.0.0.1:{}/", a.port),
                named_url: proxy_port.map(|p| names::url(a, p)),
            };
            match worktrees.last_mut() {
                Some(w) if w.name == a.worktree.as_str() => {
                    w.path = w.path.take().or_else(|| a.worktree_path.clone());
                    w.services.push(row);
                }
                _ => worktrees.push(WorktreeView {
                    name: a.worktree.to_string(),
                    path: a.worktree_path.clone(),
                    label: names::host_label(&a.worktree),
                    services: vec![row],
                }),
            }
        }
        DashboardState { registry, observed_at, worktrees, summary, total, conflicts }
    }
}

/// A name's sort key: lower-cased text, with each run of digits compared by its value.
fn natural_key(name: &str) -> Vec<(String, u128)> {
    let mut key = Vec::new();
    let mut text = String::new();
    let mut digits = String::new();
    for c in name.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        if !digits.is_empty() {
            key.push((std::mem::take(&mut text), digits.parse().unwrap_or(u128::MAX)));
            digits.clear();
        }
        text.extend(c.to_lowercase());
    }
    key.push((text, if digits.is_empty() { 0 } else { digits.parse().unwrap_or(u128::MAX) }));
    key
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::AllocateRequest;

    fn state(reg: &mut Registry, service: &str, worktree: &str, status: HealthStatus) -> AllocationState {
        let new = AllocateRequest {
            description: "d",
            worktree_path: Some("/repo/wt"),
            ..AllocateRequest::new(service, worktree)
        };
        let a = reg.allocate(&new, "2026-01-01T00:00:00Z", "me@host", &mut |_| true).unwrap().clone();
        let mut s = AllocationState::as_stored(reg, a);
        s.status = status;
        s
    }

    #[test]
    fn worktrees_in_name_order_with_services_in_range_order() {
        let mut reg = Registry::with_default_ranges("t");
        let states = vec![
            state(&mut reg, "cache", "b", HealthStatus::Unknown),
            state(&mut reg, "web", "b", HealthStatus::Healthy),
            state(&mut reg, "api", "a", HealthStatus::NotRunning),
            state(&mut reg, "web", "a", HealthStatus::Healthy),
        ];
        let d = DashboardState::new("ports.json".into(), "now".into(), &reg, states, Some(4100));
        let names: Vec<_> = d.worktrees.iter().map(|w| w.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        let services: Vec<_> = d.worktrees[1].services.iter().map(|s| s.service.as_str()).collect();
        assert_eq!(services, ["web", "cache"]);
        assert_eq!(d.total, 4);
        assert_eq!(d.summary.healthy, 2);
        assert_eq!(d.summary.not_running, 1);
        let web = &d.worktrees[0].services[0];
        assert_eq!(d.worktrees[0].services[1].service, "api", "web before api, as the ranges are");
        assert!(web.http);
        assert_eq!(web.named_url.as_deref(), Some("http://web.a.localhost:4100/"));
        assert_eq!(web.direct_url, format!("http://127.0.0.1:{}/", web.port));
        assert!(!d.worktrees[1].services[1].http, "a cache is not linked");
        assert_eq!(d.worktrees[0].path.as_deref(), Some("/repo/wt"));
    }

    #[test]
    fn names_sort_naturally() {
        let mut names = vec!["agent-10", "Agent-9", "agent-2", "main", "agent-2b", "agent", "Zeta", "alpha"];
        names.sort_by_cached_key(|n| natural_key(n));
        assert_eq!(names, ["agent", "agent-2", "agent-2b", "Agent-9", "agent-10", "alpha", "main", "Zeta"]);
    }

    #[test]
    fn an_idle_allocation_is_a_mismatch_in_the_conflicts() {
        let mut reg = Registry::with_default_ranges("t");
        let states = vec![state(&mut reg, "web", "a", HealthStatus::NotRunning)];
        let d = DashboardState::new("r".into(), "now".into(), &reg, states, None);
        assert_eq!(d.conflicts.mismatches.len(), 1);
        assert_eq!(d.worktrees[0].services[0].named_url, None);
    }
}
