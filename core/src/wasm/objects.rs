//! The objects the WebAssembly API returns: the same shapes as the Node addon's (camelCase
//! names, absent rather than null for a missing optional), so code can move between the two.

use crate::conflicts::{ConflictReport, Problem};
use crate::registry::{Allocation, NextPort};
use crate::status::StatusReport;
use serde::{Deserialize, Serialize};

/// What the host tells each operation: no I/O happens in WebAssembly.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HostInput {
    /// Ports in use on the host's machine: allocation skips them.
    #[serde(default)]
    pub busy: Vec<u16>,
    /// Now, in milliseconds since the epoch (`Date.now()`, the default).
    pub now: Option<f64>,
    /// `allocated_by` of new allocations (default `"wasm"`).
    pub allocated_by: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JsAllocation<'a> {
    port: u16,
    worktree: &'a str,
    service: &'a str,
    allocated_at: &'a str,
    allocated_by: &'a str,
    description: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    process_id: Option<u32>,
    health_status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    worktree_path: Option<&'a str>,
}

impl<'a> From<&'a Allocation> for JsAllocation<'a> {
    fn from(a: &'a Allocation) -> Self {
        JsAllocation {
            port: a.port,
            worktree: &a.worktree,
            service: &a.service,
            allocated_at: &a.allocated_at,
            allocated_by: &a.allocated_by,
            description: &a.description,
            process_id: a.process_id,
            health_status: a.health_status.as_str(),
            worktree_path: a.worktree_path.as_deref(),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JsNextPort<'a> {
    service: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    port: Option<u16>,
    start: u16,
    end: u16,
    allocated: &'a [u16],
}

impl<'a> From<&'a NextPort> for JsNextPort<'a> {
    fn from(n: &'a NextPort) -> Self {
        JsNextPort { service: &n.service, port: n.port, start: n.start, end: n.end, allocated: &n.allocated }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsRegistryConflict<'a> {
    port: u16,
    allocations: Vec<JsAllocation<'a>>,
}

#[derive(Serialize)]
struct JsProblem {
    kind: &'static str,
    message: String,
}

/// The registry-level conflicts: duplicates and structural problems (nothing is probed here,
/// so there are no system conflicts or mismatches).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JsConflictReport<'a> {
    registry_conflicts: Vec<JsRegistryConflict<'a>>,
    system_conflicts: [(); 0],
    mismatches: [(); 0],
    problems: Vec<JsProblem>,
    has_conflicts: bool,
}

impl<'a> From<&'a ConflictReport> for JsConflictReport<'a> {
    fn from(r: &'a ConflictReport) -> Self {
        JsConflictReport {
            registry_conflicts: r
                .registry
                .iter()
                .map(|c| JsRegistryConflict {
                    port: c.port,
                    allocations: c.allocations.iter().map(Into::into).collect(),
                })
                .collect(),
            system_conflicts: [],
            mismatches: [],
            problems: r
                .problems
                .iter()
                .map(|p| JsProblem {
                    kind: match p {
                        Problem::OutsideRange { .. } => "outside_range",
                        Problem::UnknownService { .. } => "unknown_service",
                        Problem::OverlappingRanges { .. } => "overlapping_ranges",
                    },
                    message: p.to_string(),
                })
                .collect(),
            has_conflicts: r.has_conflicts(),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsAllocationState<'a> {
    allocation: JsAllocation<'a>,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pid: Option<u32>,
    detail: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsRangeStatus<'a> {
    service: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    start: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    end: Option<u16>,
    allocations: Vec<JsAllocationState<'a>>,
    available: Vec<[u16; 2]>,
    available_count: u32,
}

/// `status()`: the ranges with the stored state of their allocations and the free ports.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JsStatusReport<'a> {
    ranges: Vec<JsRangeStatus<'a>>,
    total_allocated: usize,
    total_available: u32,
}

impl<'a> From<&'a StatusReport> for JsStatusReport<'a> {
    fn from(r: &'a StatusReport) -> Self {
        JsStatusReport {
            ranges: r
                .ranges
                .iter()
                .map(|g| JsRangeStatus {
                    service: &g.service,
                    start: g.start,
                    end: g.end,
                    allocations: g
                        .allocations
                        .iter()
                        .map(|s| JsAllocationState {
                            allocation: (&s.allocation).into(),
                            status: s.status.as_str(),
                            pid: s.pid,
                            detail: &s.detail,
                        })
                        .collect(),
                    available: g.available.iter().map(|&(a, b)| [a, b]).collect(),
                    available_count: g.available_count,
                })
                .collect(),
            total_allocated: r.total_allocated,
            total_available: r.total_available,
        }
    }
}
