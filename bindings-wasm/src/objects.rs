//! The objects the WebAssembly API takes and returns: the core's output types
//! (`atlas_ports_core::report`), field for field, in camelCase, as the Node addon returns them;
//! an absent value is an absent property. Their TypeScript declarations are generated from
//! these definitions by tsify; the exports name them as their return types.

use atlas_ports_core::report;
use serde::{Deserialize, Serialize};
use tsify::Tsify;

/// What the host knows and WebAssembly cannot find out.
#[derive(Debug, Default, Deserialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct HostOptions {
    /// Ports in use on the host's machine: allocation skips them.
    #[serde(default)]
    #[tsify(optional)]
    pub busy: Vec<u16>,
    /// Now, in milliseconds since the epoch. Default: `Date.now()`.
    #[tsify(optional)]
    pub now: Option<f64>,
    /// `allocated_by` of new allocations. Default: `"wasm"`.
    #[tsify(optional)]
    pub allocated_by: Option<String>,
}

/// The result of the last health check of an allocation (`unknown`: never checked).
#[derive(Debug, Clone, Copy, Serialize, Tsify)]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    Unknown,
    Healthy,
    Unhealthy,
    NotRunning,
}

impl HostOptions {
    /// The members `HostOptions` may have, as JavaScript names them.
    pub const MEMBERS: [&'static str; 3] = ["busy", "now", "allocatedBy"];
}

impl From<atlas_ports_core::HealthStatus> for HealthStatus {
    fn from(s: atlas_ports_core::HealthStatus) -> Self {
        match s {
            atlas_ports_core::HealthStatus::Unknown => HealthStatus::Unknown,
            atlas_ports_core::HealthStatus::Healthy => HealthStatus::Healthy,
            atlas_ports_core::HealthStatus::Unhealthy => HealthStatus::Unhealthy,
            atlas_ports_core::HealthStatus::NotRunning => HealthStatus::NotRunning,
        }
    }
}

/// One port held by one worktree's service, as stored (the registry's fields in camelCase).
#[derive(Debug, Clone, Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct Allocation {
    pub port: u16,
    pub worktree: String,
    pub service: String,
    /// RFC 3339 UTC time of allocation.
    pub allocated_at: String,
    /// `user@hostname` of whoever allocated it.
    pub allocated_by: String,
    pub description: String,
    /// The PID last seen listening on the port.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[tsify(optional)]
    pub process_id: Option<u32>,
    pub health_status: HealthStatus,
    /// The worktree's folder, when it was known at allocation time.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[tsify(optional)]
    pub worktree_path: Option<String>,
    /// The worktree's repository (its common git folder), when allocated from inside it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[tsify(optional)]
    pub repository: Option<String>,
    /// Git's id of the linked worktree, which survives `git worktree move`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[tsify(optional)]
    pub git_worktree: Option<String>,
}

impl From<&report::Allocation> for Allocation {
    fn from(a: &report::Allocation) -> Self {
        Allocation {
            port: a.port,
            worktree: a.worktree.to_string(),
            service: a.service.to_string(),
            allocated_at: a.allocated_at.to_string(),
            allocated_by: a.allocated_by.to_string(),
            description: a.description.to_string(),
            process_id: a.process_id,
            health_status: a.health_status.into(),
            worktree_path: a.worktree_path.clone(),
            repository: a.repository.clone(),
            git_worktree: a.git_worktree.clone(),
        }
    }
}

/// A list of allocations.
#[derive(Debug, Clone, Serialize, Tsify)]
#[serde(transparent)]
pub struct Allocations(pub Vec<Allocation>);

impl From<&[report::Allocation]> for Allocations {
    fn from(list: &[report::Allocation]) -> Self {
        Allocations(list.iter().map(Allocation::from).collect())
    }
}

/// The port `allocatePort` would return now (absent when the range is full), and its range.
#[derive(Debug, Clone, Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct NextPort {
    pub service: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[tsify(optional)]
    pub port: Option<u16>,
    pub start: u16,
    pub end: u16,
    /// Ports of the range held in the registry, ascending.
    pub allocated: Vec<u16>,
}

impl From<&report::NextPort> for NextPort {
    fn from(n: &report::NextPort) -> Self {
        NextPort {
            service: n.service.clone(),
            port: n.port,
            start: n.start,
            end: n.end,
            allocated: n.allocated.clone(),
        }
    }
}

/// A port held by several allocations.
#[derive(Debug, Clone, Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct RegistryConflict {
    pub port: u16,
    pub allocations: Vec<Allocation>,
}

/// An allocated port in use by a foreign process (never found here: nothing is probed).
#[derive(Debug, Clone, Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct SystemConflict {
    pub allocation: Allocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[tsify(optional)]
    pub pid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[tsify(optional)]
    pub process: Option<String>,
    /// How ownership was decided.
    pub reason: String,
}

/// What kind of structural problem a registry has.
#[derive(Debug, Clone, Copy, Serialize, Tsify)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    OutsideRange,
    UnknownService,
    OverlappingRanges,
}

/// A structural problem of the registry.
#[derive(Debug, Clone, Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    pub kind: ProblemKind,
    pub message: String,
}

/// The counts of a conflict report.
#[derive(Debug, Clone, Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct ConflictSummary {
    /// Registry and system conflicts.
    pub conflicts: usize,
    pub mismatches: usize,
    pub problems: usize,
}

/// Registry-level conflicts: nothing is probed in WebAssembly, so `systemConflicts` and
/// `mismatches` stay empty.
#[derive(Debug, Clone, Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct ConflictReport {
    pub registry_conflicts: Vec<RegistryConflict>,
    pub system_conflicts: Vec<SystemConflict>,
    pub mismatches: Vec<Allocation>,
    pub problems: Vec<Problem>,
    pub summary: ConflictSummary,
    /// Whether there are conflicts or problems (mismatches alone are not).
    pub has_conflicts: bool,
}

impl From<&report::ConflictReport> for ConflictReport {
    fn from(r: &report::ConflictReport) -> Self {
        let sum = r.summary();
        ConflictReport {
            registry_conflicts: r
                .registry
                .iter()
                .map(|c| RegistryConflict {
                    port: c.port,
                    allocations: c.allocations.iter().map(Allocation::from).collect(),
                })
                .collect(),
            system_conflicts: r
                .system
                .iter()
                .map(|c| SystemConflict {
                    allocation: (&c.allocation).into(),
                    pid: c.pid,
                    process: c.process.clone(),
                    reason: c.reason.clone(),
                })
                .collect(),
            mismatches: r.mismatches.iter().map(Allocation::from).collect(),
            problems: r
                .problems
                .iter()
                .map(|p| Problem {
                    kind: match p {
                        report::Problem::OutsideRange { .. } => ProblemKind::OutsideRange,
                        report::Problem::UnknownService { .. } => ProblemKind::UnknownService,
                        report::Problem::OverlappingRanges { .. } => ProblemKind::OverlappingRanges,
                    },
                    message: p.to_string(),
                })
                .collect(),
            summary: ConflictSummary { conflicts: sum.conflicts, mismatches: sum.mismatches, problems: sum.problems },
            has_conflicts: r.has_conflicts(),
        }
    }
}

/// An allocation with its state: here, as stored by the last health check.
#[derive(Debug, Clone, Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct AllocationState {
    pub allocation: Allocation,
    pub status: HealthStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[tsify(optional)]
    pub pid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[tsify(optional)]
    pub process: Option<String>,
    pub detail: String,
}

/// One service range with its allocations and free ports.
#[derive(Debug, Clone, Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct RangeStatus {
    pub service: String,
    /// Absent for allocations of a service that has no range.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[tsify(optional)]
    pub start: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[tsify(optional)]
    pub end: Option<u16>,
    pub allocations: Vec<AllocationState>,
    /// Runs of free ports as `[first, last]` pairs.
    pub available: Vec<(u16, u16)>,
    pub available_count: u32,
}

/// Every range with its allocations and free ports.
#[derive(Debug, Clone, Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct StatusReport {
    pub ranges: Vec<RangeStatus>,
    pub total_allocated: usize,
    pub total_available: u32,
}

impl From<&report::StatusReport> for StatusReport {
    fn from(r: &report::StatusReport) -> Self {
        StatusReport {
            ranges: r
                .ranges
                .iter()
                .map(|g| RangeStatus {
                    service: g.service.clone(),
                    start: g.start,
                    end: g.end,
                    allocations: g
                        .allocations
                        .iter()
                        .map(|s| AllocationState {
                            allocation: (&s.allocation).into(),
                            status: s.status.into(),
                            pid: s.pid,
                            process: s.process.clone(),
                            detail: s.detail.clone(),
                        })
                        .collect(),
                    available: g.available.clone(),
                    available_count: g.available_count,
                })
                .collect(),
            total_allocated: r.total_allocated,
            total_available: r.total_available,
        }
    }
}
