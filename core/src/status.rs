//! The live state of allocations: what `status` shows and `--health-check` stores. Built from
//! the registry and the host's observations; no I/O here.

use crate::health::{Observation, Ownership, ProbeKind, ProbeTarget, ownership};
use crate::host::HealthProbe;
use crate::registry::{Allocation, HealthStatus, PortSet, Registry};
use serde::Serialize;

/// One allocation and what was seen on its port just now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AllocationState {
    pub allocation: Allocation,
    /// The live status (the stored one is `allocation.health_status`).
    pub status: HealthStatus,
    pub pid: Option<u32>,
    pub process: Option<String>,
    /// What the probe saw (`HTTP 200 from GET /`, `nothing listens`).
    pub detail: String,
    /// Whose server listens, when something does.
    pub ownership: Option<Ownership>,
    /// Whether `atlas-ports start` started the listening process (it, or its process group,
    /// is recorded with its start time), when the front end looked (the CLI's `status` does);
    /// left out otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_by_atlas_ports: Option<bool>,
    /// How the service was asked (for the health-check text; not part of the output shape).
    #[serde(skip)]
    pub probe: ProbeKind,
}

impl AllocationState {
    /// The state last stored by a health check, for hosts that probe nothing (WebAssembly).
    pub fn as_stored(reg: &Registry, allocation: Allocation) -> AllocationState {
        AllocationState {
            status: allocation.health_status,
            pid: allocation.process_id,
            process: None,
            detail: "as stored by the last health check".to_owned(),
            ownership: None,
            started_by_atlas_ports: None,
            probe: ProbeKind::for_service(&allocation.service, reg.ranges.get(allocation.service.as_str())),
            allocation,
        }
    }
}

/// One service range of the `--all` report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RangeStatus {
    pub service: String,
    /// `None` for allocations whose service has no range.
    pub start: Option<u16>,
    pub end: Option<u16>,
    pub allocations: Vec<AllocationState>,
    /// Runs of ports no allocation holds, as inclusive `[first, last]` pairs.
    pub available: Vec<(u16, u16)>,
    pub available_count: u32,
}

/// `status --all`: every range with its allocations and free ports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatusReport {
    pub ranges: Vec<RangeStatus>,
    pub total_allocated: usize,
    pub total_available: u32,
}

/// The allocations of one worktree with their live state.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorktreeStatus {
    pub worktree: String,
    pub allocations: Vec<AllocationState>,
}

/// `status --worktree W`: one worktree's allocations with their live state.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorktreeReport {
    pub worktree: String,
    pub allocations: Vec<AllocationState>,
    pub total: usize,
}

impl WorktreeReport {
    /// The report of one worktree's states.
    pub fn new(worktree: &str, allocations: Vec<AllocationState>) -> WorktreeReport {
        WorktreeReport { worktree: worktree.to_owned(), total: allocations.len(), allocations }
    }
}

/// What a health check answers: each worktree's states, and the counts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HealthReport {
    pub worktrees: Vec<WorktreeStatus>,
    pub summary: HealthSummary,
}

impl HealthReport {
    /// Groups the states by worktree and counts them.
    pub fn new(states: Vec<AllocationState>) -> HealthReport {
        HealthReport { summary: summarize(&states), worktrees: by_worktree(states) }
    }

    /// Whether every checked port is healthy.
    pub fn all_healthy(&self) -> bool {
        self.summary.not_running + self.summary.unhealthy + self.summary.unknown == 0
    }
}

/// Counts of a health check.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct HealthSummary {
    pub healthy: usize,
    pub not_running: usize,
    pub unhealthy: usize,
    pub unknown: usize,
}

/// Probes the ports of `allocations` (concurrently, in the host) and pairs each with what was seen.
pub fn observe(reg: &Registry, allocations: Vec<Allocation>, health: &dyn HealthProbe) -> Vec<AllocationState> {
    let targets: Vec<ProbeTarget> = allocations
        .iter()
        .map(|a| ProbeTarget {
            port: a.port,
            kind: ProbeKind::for_service(&a.service, reg.ranges.get(a.service.as_str())),
        })
        .collect();
    let observations = health.observe(&targets);
    debug_assert_eq!(observations.len(), targets.len());
    allocations.into_iter().zip(targets).zip(observations).map(|((a, t), o)| state(a, t.kind, o)).collect()
}

fn state(allocation: Allocation, probe: ProbeKind, o: Observation) -> AllocationState {
    let ownership = o.listener.as_ref().map(|l| ownership(&allocation, l));
    let (pid, process) = o.listener.as_ref().map_or((None, None), |l| (l.pid, l.process.clone()));
    AllocationState {
        status: o.status(),
        pid,
        process,
        detail: o.detail,
        ownership,
        started_by_atlas_ports: None,
        probe,
        allocation,
    }
}

/// Groups states by service range (registry order, then services without a range), each sorted
/// by port, with the free ports of every range.
pub fn by_range(reg: &Registry, states: Vec<AllocationState>) -> StatusReport {
    by_range_probed(reg, states, &|_| true)
}

/// [`by_range`], where a port counts as available only when it is unallocated, not a
/// canonical port, *and* `is_free`
/// says a server could bind it now: what `allocate` would hand out, so that a range whose free
/// ports another process holds is not reported as having room.
pub fn by_range_probed(
    reg: &Registry,
    mut states: Vec<AllocationState>,
    is_free: &dyn Fn(u16) -> bool,
) -> StatusReport {
    states.sort_by_key(|s| s.allocation.port);
    let mut taken = reg.unavailable_ports();
    for r in reg.ranges.values() {
        for port in r.start..=r.end {
            if !taken.contains(port) && !is_free(port) {
                taken.insert(port);
            }
        }
    }
    let total_allocated = states.len();
    let mut ranges: Vec<RangeStatus> = reg
        .ranges
        .iter()
        .map(|(service, r)| {
            let available = free_runs(r.start, r.end, &taken);
            let available_count = available.iter().map(|(a, b)| u32::from(b - a) + 1).sum();
            RangeStatus {
                service: service.clone(),
                start: Some(r.start),
                end: Some(r.end),
                allocations: Vec::new(),
                available,
                available_count,
            }
        })
        .collect();
    for s in states {
        match ranges.iter_mut().find(|r| r.service == s.allocation.service.as_str()) {
            Some(r) => r.allocations.push(s),
            None => ranges.push(RangeStatus {
                service: s.allocation.service.to_string(),
                start: None,
                end: None,
                allocations: vec![s],
                available: Vec::new(),
                available_count: 0,
            }),
        }
    }
    let total_available = ranges.iter().map(|r| r.available_count).sum();
    StatusReport { ranges, total_allocated, total_available }
}

/// Groups states by worktree, in order of first appearance.
pub fn by_worktree(states: Vec<AllocationState>) -> Vec<WorktreeStatus> {
    let mut out: Vec<WorktreeStatus> = Vec::new();
    for s in states {
        match out.iter_mut().find(|w| w.worktree == s.allocation.worktree.as_str()) {
            Some(w) => w.allocations.push(s),
            None => out.push(WorktreeStatus { worktree: s.allocation.worktree.to_string(), allocations: vec![s] }),
        }
    }
    out
}

/// Counts the live statuses.
pub fn summarize<'a>(states: impl IntoIterator<Item = &'a AllocationState>) -> HealthSummary {
    let mut sum = HealthSummary::default();
    for s in states {
        match s.status {
            HealthStatus::Healthy => sum.healthy += 1,
            HealthStatus::NotRunning => sum.not_running += 1,
            HealthStatus::Unhealthy => sum.unhealthy += 1,
            HealthStatus::Unknown => sum.unknown += 1,
        }
    }
    sum
}

/// Stores the live status and PID of each state into the registry's matching allocation
/// (same port, worktree and service). Returns whether anything changed.
pub fn record(reg: &mut Registry, states: &[AllocationState]) -> bool {
    let mut changed = false;
    for s in states {
        let key = (&s.allocation.port, &s.allocation.worktree, &s.allocation.service);
        for a in reg.allocations.iter_mut().filter(|a| (&a.port, &a.worktree, &a.service) == key) {
            if a.health_status != s.status || a.process_id != s.pid {
                a.health_status = s.status;
                a.process_id = s.pid;
                changed = true;
            }
        }
    }
    changed
}

/// Inclusive runs of ports in `start..=end` that are not in `taken`.
pub fn free_runs(start: u16, end: u16, taken: &PortSet) -> Vec<(u16, u16)> {
    let mut runs: Vec<(u16, u16)> = Vec::new();
    for p in start..=end {
        if taken.contains(p) {
            continue;
        }
        match runs.last_mut() {
            Some((_, last)) if *last + 1 == p => *last = p,
            _ => runs.push((p, p)),
        }
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_runs_skip_allocated_ports() {
        let taken: PortSet = [8080, 8081, 8085, 8099].into_iter().collect();
        assert_eq!(free_runs(8080, 8099, &taken), vec![(8082, 8084), (8086, 8098)]);
        assert_eq!(free_runs(1, 1, &taken), vec![(1, 1)]);
        assert_eq!(free_runs(8080, 8081, &taken), vec![]);
        assert_eq!(free_runs(65535, 65535, &PortSet::new()), vec![(65535, 65535)]);
    }
}
