//! The conflict report: the reference design's documented block, each heading once with its
//! items under it, then registry problems (which the reference design does not check) and the
//! summary.

use crate::conflicts::ConflictReport;
use crate::env_export::shell_quote;
use crate::time::display_time;
use std::fmt::Write;

/// `conflicts` (`port_status.py --check-conflicts`).
pub fn conflicts(report: &ConflictReport) -> String {
    let mut out = String::from("Port Conflict Detection\n=======================\n\n");
    if !report.registry.is_empty() {
        out.push_str("REGISTRY CONFLICT:\n");
        for c in &report.registry {
            let _ = writeln!(out, "  Port {} is allocated to multiple worktrees:", c.port);
            for a in &c.allocations {
                let _ = writeln!(out, "    - {} (allocated: {})", a.worktree, display_time(&a.allocated_at));
            }
            let last = c.allocations.last().expect("a conflict has two allocations");
            let _ = writeln!(
                out,
                "\n  Resolution: Run 'atlas-ports release {} --worktree {}'\n",
                c.port,
                word(&last.worktree)
            );
        }
    }
    if !report.system.is_empty() {
        out.push_str("SYSTEM CONFLICT:\n");
        for c in &report.system {
            let a = &c.allocation;
            let by = match (c.pid, c.process.as_deref()) {
                (Some(pid), Some(name)) => format!("PID {pid} ({name})"),
                (Some(pid), None) => format!("PID {pid} (process name unknown)"),
                (None, _) => "a process whose PID is unknown".to_owned(),
            };
            let _ = writeln!(out, "  Port {} is allocated to {} but in use by {by}\n", a.port, a.worktree);
            let which = c.pid.map_or_else(|| "the process".to_owned(), |p| format!("process {p}"));
            let _ = writeln!(out, "  Resolution: Check if {which} is legitimate:\n    lsof -i :{}\n", a.port);
        }
    }
    if !report.mismatches.is_empty() {
        out.push_str("ALLOCATION MISMATCH:\n");
        for a in &report.mismatches {
            let _ = writeln!(out, "  Port {} is allocated to {} but not in use\n", a.port, a.worktree);
            let _ = writeln!(
                out,
                "  Action: Service may have crashed. Check logs or release port:\n    atlas-ports release {}\n",
                a.port
            );
        }
    }
    if !report.problems.is_empty() {
        out.push_str("REGISTRY PROBLEM:\n");
        for p in &report.problems {
            let _ = writeln!(out, "  {p}");
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "Summary:\n  Total conflicts: {}\n  Total mismatches: {}",
        report.conflict_count(),
        report.mismatches.len()
    );
    if !report.problems.is_empty() {
        let _ = writeln!(out, "  Total registry problems: {}", report.problems.len());
    }
    out
}

/// A worktree name as a shell word for the resolution hint: quoted only when it must be.
fn word(name: &str) -> String {
    if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || "._-/+:@".contains(c)) {
        name.to_owned()
    } else {
        shell_quote(name)
    }
}
