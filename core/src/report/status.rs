//! The status reports, as the reference design's `port_status.py` prints them (`--all`,
//! `--worktree W`).

use crate::status::{AllocationState, StatusReport};
use crate::time::display_time;
use std::fmt::Write;

/// `status --all` (`port_status.py --all`): services with their allocations, free ports and totals.
pub fn status_all(report: &StatusReport) -> String {
    let mut out = String::from("Port Allocation Status\n======================\n\n");
    for r in &report.ranges {
        match (r.start, r.end) {
            (Some(s), Some(e)) => _ = writeln!(out, "Service: {} ({s}-{e})", r.service),
            _ => _ = writeln!(out, "Service: {} (no range)", r.service),
        }
        for s in &r.allocations {
            let a = &s.allocation;
            let description = if a.description.is_empty() { String::new() } else { format!(" - {}", a.description) };
            let _ = writeln!(out, "  {} → {} ({}){description}", a.port, a.worktree, a.service);
            let _ = writeln!(
                out,
                "    Status: {} | PID: {} | Allocated: {}",
                s.status.as_str(),
                pid(s.pid),
                display_time(&a.allocated_at)
            );
        }
        if r.start.is_some() {
            let runs: Vec<String> =
                r.available.iter().map(|&(a, b)| if a == b { a.to_string() } else { format!("{a}-{b}") }).collect();
            let runs = if runs.is_empty() { "none".to_owned() } else { runs.join(", ") };
            let _ = writeln!(out, "  Available: {runs} ({})", ports(r.available_count as usize));
        }
        out.push('\n');
    }
    let _ = writeln!(out, "Total Allocated: {}", ports(report.total_allocated));
    let _ = writeln!(out, "Total Available: {}", ports(report.total_available as usize));
    out
}

/// `status --worktree W` (`port_status.py --worktree W`): the table of one worktree's ports.
pub fn status_worktree(worktree: &str, states: &[AllocationState]) -> String {
    let title = format!("Ports for Worktree: {worktree}");
    let mut out = format!("{title}\n{}\n\n", "=".repeat(title.chars().count().max(35)));
    // The reference design's widths (9 and 24), widened to the longest service and description
    // so that a longer one (`web-staging`) does not push its row out of the columns.
    let width =
        |min: usize, f: fn(&AllocationState) -> &str| states.iter().map(|s| f(s).chars().count()).fold(min, usize::max);
    let service = width(9, |s| s.allocation.service.as_str());
    let description = width(24, |s| s.allocation.description.as_str());
    let _ = writeln!(
        out,
        "{:<5} | {:<service$} | {:<description$} | {:<11} | PID",
        "Port", "Service", "Description", "Status"
    );
    let _ = writeln!(
        out,
        "{}|{}|{}|{}|{}",
        "-".repeat(6),
        "-".repeat(service + 2),
        "-".repeat(description + 2),
        "-".repeat(13),
        "-".repeat(7)
    );
    for s in states {
        let a = &s.allocation;
        let _ = writeln!(
            out,
            "{:<5} | {:<service$} | {:<description$} | {:<11} | {}",
            a.port,
            a.service.as_str(),
            a.description.as_str(),
            s.status.as_str(),
            pid(s.pid)
        );
    }
    let _ = write!(out, "\nTotal: {} allocated\n", ports(states.len()));
    out
}

fn pid(p: Option<u32>) -> String {
    p.map_or_else(|| "-".to_owned(), |p| p.to_string())
}

fn ports(n: usize) -> String {
    if n == 1 { "1 port".to_owned() } else { format!("{n} ports") }
}
