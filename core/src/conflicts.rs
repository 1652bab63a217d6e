//! Conflict detection: duplicate ports, foreign listeners, allocations nothing listens on, and
//! registries that break their own ranges. Findings are data, not errors.

use crate::health::Ownership;
use crate::registry::{Allocation, Registry};
use crate::status::AllocationState;
use serde::ser::{Serialize, SerializeStruct, Serializer};
use std::collections::BTreeMap;

/// Everything `conflicts` reports. As output: `registry_conflicts`, `system_conflicts`,
/// `mismatches`, `problems` (each `{kind, message}`), `summary` and `has_conflicts`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConflictReport {
    /// Ports held by more than one allocation.
    pub registry: Vec<RegistryConflict>,
    /// Allocated ports on which a foreign process listens.
    pub system: Vec<SystemConflict>,
    /// Allocated ports on which nothing listens (a crashed or never-started service).
    pub mismatches: Vec<Allocation>,
    /// Allocations or ranges that break the registry's own rules.
    pub problems: Vec<Problem>,
}

/// A port held by more than one allocation.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RegistryConflict {
    pub port: u16,
    pub allocations: Vec<Allocation>,
}

/// An allocated port on which a foreign process listens.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SystemConflict {
    pub allocation: Allocation,
    pub pid: Option<u32>,
    pub process: Option<String>,
    /// How ownership was decided.
    pub reason: String,
}

/// A structural problem of the registry. As output: `{kind, message}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    OutsideRange {
        port: u16,
        worktree: String,
        service: String,
        start: u16,
        end: u16,
    },
    UnknownService {
        port: u16,
        worktree: String,
        service: String,
    },
    OverlappingRanges {
        first: String,
        first_start: u16,
        first_end: u16,
        second: String,
        second_start: u16,
        second_end: u16,
    },
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::OutsideRange { port, worktree, service, start, end } => {
                write!(f, "Port {port} of {worktree} ({service}) is outside the '{service}' range ({start}-{end})")
            }
            Problem::UnknownService { port, worktree, service } => {
                write!(f, "Port {port} of {worktree} is allocated to service '{service}', which has no range")
            }
            Problem::OverlappingRanges { first, first_start, first_end, second, second_start, second_end } => write!(
                f,
                "Ranges '{first}' ({first_start}-{first_end}) and '{second}' ({second_start}-{second_end}) overlap"
            ),
        }
    }
}

impl Problem {
    /// The problem's kind: `outside_range`, `unknown_service` or `overlapping_ranges`.
    pub fn kind(&self) -> &'static str {
        match self {
            Problem::OutsideRange { .. } => "outside_range",
            Problem::UnknownService { .. } => "unknown_service",
            Problem::OverlappingRanges { .. } => "overlapping_ranges",
        }
    }
}

impl Serialize for Problem {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut out = s.serialize_struct("Problem", 2)?;
        out.serialize_field("kind", self.kind())?;
        out.serialize_field("message", &self.to_string())?;
        out.end()
    }
}

/// The counts of a conflict report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ConflictSummary {
    /// Registry and system conflicts.
    pub conflicts: usize,
    pub mismatches: usize,
    pub problems: usize,
}

impl Serialize for ConflictReport {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut out = s.serialize_struct("ConflictReport", 6)?;
        out.serialize_field("registry_conflicts", &self.registry)?;
        out.serialize_field("system_conflicts", &self.system)?;
        out.serialize_field("mismatches", &self.mismatches)?;
        out.serialize_field("problems", &self.problems)?;
        out.serialize_field("summary", &self.summary())?;
        out.serialize_field("has_conflicts", &self.has_conflicts())?;
        out.end()
    }
}

impl ConflictReport {
    /// The counts.
    pub fn summary(&self) -> ConflictSummary {
        ConflictSummary {
            conflicts: self.conflict_count(),
            mismatches: self.mismatches.len(),
            problems: self.problems.len(),
        }
    }

    /// Registry and system conflicts.
    pub fn conflict_count(&self) -> usize {
        self.registry.len() + self.system.len()
    }

    /// Whether anything must be fixed (mismatches alone are an idle worktree's normal state).
    pub fn has_conflicts(&self) -> bool {
        self.conflict_count() > 0 || !self.problems.is_empty()
    }
}

/// Finds the registry-level problems: duplicates and structural ones. Needs no probing (this
/// is what WebAssembly hosts get).
pub fn registry_conflicts(reg: &Registry) -> ConflictReport {
    let mut by_port: BTreeMap<u16, Vec<&Allocation>> = BTreeMap::new();
    for a in &reg.allocations {
        by_port.entry(a.port).or_default().push(a);
    }
    let registry = by_port
        .into_iter()
        .filter(|(_, v)| v.len() > 1)
        .map(|(port, v)| RegistryConflict { port, allocations: v.into_iter().cloned().collect() })
        .collect();
    let mut problems = Vec::new();
    for a in &reg.allocations {
        let (port, worktree, service) = (a.port, a.worktree.to_string(), a.service.to_string());
        match reg.ranges.get(a.service.as_str()) {
            None => problems.push(Problem::UnknownService { port, worktree, service }),
            Some(r) if !r.contains(a.port) => {
                problems.push(Problem::OutsideRange { port, worktree, service, start: r.start, end: r.end })
            }
            Some(_) => {}
        }
    }
    let ranges: Vec<_> = reg.ranges.iter().collect();
    for (i, (a, ra)) in ranges.iter().enumerate() {
        for (b, rb) in &ranges[i + 1..] {
            if ra.start <= rb.end && rb.start <= ra.end {
                problems.push(Problem::OverlappingRanges {
                    first: a.to_string(),
                    first_start: ra.start,
                    first_end: ra.end,
                    second: b.to_string(),
                    second_start: rb.start,
                    second_end: rb.end,
                });
            }
        }
    }
    ConflictReport { registry, problems, ..Default::default() }
}

/// All conflicts: the registry's, plus what the live states show.
pub fn detect(reg: &Registry, states: &[AllocationState]) -> ConflictReport {
    let mut report = registry_conflicts(reg);
    for s in states {
        match (&s.ownership, s.status) {
            (Some(Ownership::Foreign(reason)), _) => report.system.push(SystemConflict {
                allocation: s.allocation.clone(),
                pid: s.pid,
                process: s.process.clone(),
                reason: reason.clone(),
            }),
            (None, _) => report.mismatches.push(s.allocation.clone()),
            _ => {}
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_outside_unknown_and_overlaps() {
        let reg = Registry::from_json(
            r#"{"ranges": {"web": {"start": 8080, "end": 8099}, "web-staging": {"start": 8090, "end": 8110},
                           "db": {"start": 5432, "end": 5439}},
                "allocations": [
                  {"port": 8080, "worktree": "a", "service": "web"},
                  {"port": 8080, "worktree": "b", "service": "web"},
                  {"port": 7000, "worktree": "c", "service": "web"},
                  {"port": 4000, "worktree": "d", "service": "legacy"},
                  {"port": 5432, "worktree": "e", "service": "db"}]}"#,
        )
        .unwrap();
        let report = registry_conflicts(&reg);
        assert_eq!(report.registry.len(), 1);
        assert_eq!(report.registry[0].port, 8080);
        let texts: Vec<String> = report.problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            texts,
            [
                "Port 7000 of c (web) is outside the 'web' range (8080-8099)",
                "Port 4000 of d is allocated to service 'legacy', which has no range",
                "Ranges 'web' (8080-8099) and 'web-staging' (8090-8110) overlap",
            ]
        );
        assert!(report.has_conflicts());
        assert!(!registry_conflicts(&Registry::with_default_ranges("t")).has_conflicts());
    }
}
