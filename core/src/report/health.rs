//! The health-check reports: the compact table of `status --health-check`, and the reference
//! design's documented block that `port_status.py --health-check` prints (scripts grep its
//! `Status: healthy` and `Healthy: 2` lines).

use crate::health::{Ownership, ProbeKind};
use crate::registry::HealthStatus;
use crate::status::{AllocationState, HealthReport};
use std::fmt::Write;

/// `status --health-check`: each worktree's ports with status, listener and what the probe
/// saw, and a summary. `verbose` adds how ownership was decided for every listener (a foreign
/// listener is always shown).
pub fn health(report: &HealthReport, verbose: bool) -> String {
    let mut out = String::from("Health Check\n============\n\n");
    if report.worktrees.is_empty() {
        out.push_str("No ports allocated\n\n");
    }
    for w in &report.worktrees {
        let _ = writeln!(out, "Worktree: {}", w.worktree);
        for s in &w.allocations {
            let a = &s.allocation;
            let listener = super::listener_label(s.pid, s.process.as_deref())
                .unwrap_or_else(|| if s.ownership.is_some() { "PID unknown" } else { "-" }.to_owned());
            let _ = writeln!(
                out,
                "  {:<5}  {:<10} {:<12} {:<24} {}",
                a.port,
                a.service.as_str(),
                s.status.as_str(),
                listener,
                s.detail
            );
            match &s.ownership {
                Some(Ownership::Foreign(why)) => _ = writeln!(out, "         ! foreign listener: {why}"),
                Some(Ownership::Own(why)) if verbose => _ = writeln!(out, "         own server: {why}"),
                Some(Ownership::Unknown(why)) if verbose => _ = writeln!(out, "         owner unknown: {why}"),
                _ => {}
            }
        }
        out.push('\n');
    }
    let sum = &report.summary;
    let _ = writeln!(
        out,
        "Summary: {} healthy, {} not running, {} unhealthy, {} unknown",
        sum.healthy, sum.not_running, sum.unhealthy, sum.unknown
    );
    out
}

/// `port_status.py --health-check [--verbose]`: the reference design's block. `verbose` adds
/// how ownership was decided; a foreign listener is always named.
pub fn health_block(report: &HealthReport, verbose: bool) -> String {
    let mut out = String::from("Health Check Results\n====================\n\n");
    for w in &report.worktrees {
        let _ = writeln!(out, "Worktree: {}", w.worktree);
        for s in &w.allocations {
            let _ = writeln!(out, "  Port {} ({}):", s.allocation.port, s.allocation.service);
            out.push_str("    Port is allocated\n");
            for line in state_lines(s, verbose) {
                let _ = writeln!(out, "    {line}");
            }
            out.push('\n');
        }
    }
    let sum = &report.summary;
    let _ = writeln!(
        out,
        "Summary:\n  Healthy: {}\n  Not running: {}\n  Unhealthy: {}\n  Unknown: {}",
        sum.healthy, sum.not_running, sum.unhealthy, sum.unknown
    );
    out
}

/// The lines after "Port is allocated": the listener, what the service answered, the status,
/// and what to do.
fn state_lines(s: &AllocationState, verbose: bool) -> Vec<String> {
    let mut lines = Vec::new();
    if s.status == HealthStatus::NotRunning {
        lines.push("No process listening".to_owned());
    } else {
        lines.push(match s.pid {
            Some(pid) => format!("Process is listening (PID: {pid})"),
            None => "Process is listening (PID: unknown)".to_owned(),
        });
    }
    match s.status {
        HealthStatus::Healthy => lines.push(answered(&s.probe, &s.detail)),
        HealthStatus::Unhealthy => lines.push(sentence(&s.detail)),
        HealthStatus::NotRunning | HealthStatus::Unknown => {}
    }
    match &s.ownership {
        Some(Ownership::Foreign(why)) => lines.push(format!("Foreign listener: {why}")),
        Some(Ownership::Own(why)) if verbose => lines.push(format!("Own server: {why}")),
        Some(Ownership::Unknown(why)) if verbose => lines.push(format!("Owner unknown: {why}")),
        _ => {}
    }
    lines.push(format!("Status: {}", s.status.as_str()));
    match s.status {
        HealthStatus::NotRunning => lines.push("Action: Start the service or release the port".to_owned()),
        HealthStatus::Unhealthy => lines.push("Action: Check the service's logs, or restart it".to_owned()),
        HealthStatus::Healthy | HealthStatus::Unknown => {}
    }
    lines
}

/// What a healthy service did, in the reference design's words.
fn answered(probe: &ProbeKind, detail: &str) -> String {
    match probe {
        ProbeKind::Http { path } => format!("Service responds to HTTP GET {path}"),
        ProbeKind::Database if detail.starts_with("MySQL") => "MySQL/MariaDB accepts connections".to_owned(),
        ProbeKind::Database => "PostgreSQL accepts connections".to_owned(),
        ProbeKind::Redis => "Redis answers PING".to_owned(),
        ProbeKind::Tcp => "Service accepts TCP connections".to_owned(),
    }
}

/// A probe's detail as a line of the report: `no HTTP answer within 1000 ms` → `No HTTP …`.
fn sentence(detail: &str) -> String {
    let mut chars = detail.chars();
    chars.next().map_or_else(String::new, |first| first.to_uppercase().chain(chars).collect())
}
