//! The conflict report of SPEC §6.

use crate::conflicts::ConflictReport;
use crate::env_export::shell_quote;
use crate::time::display_time;
use std::fmt::Write;

/// `atlas-ports conflicts`: one block a finding, each with a resolution, then the summary.
pub fn conflicts(report: &ConflictReport) -> String {
    let mut out = String::from("Port Conflict Detection\n=======================\n\n");
    for c in &report.registry {
        let _ = writeln!(out, "REGISTRY CONFLICT:\n  Port {} is allocated to multiple worktrees:", c.port);
        for a in &c.allocations {
            let _ = writeln!(out, "    - {} (allocated: {})", a.worktree, display_time(&a.allocated_at));
        }
        let last = c.allocations.last().expect("a conflict has two allocations");
        let _ =
            writeln!(out, "\n  Resolution: Run 'atlas-ports release {} --worktree {}'\n", c.port, word(&last.worktree));
    }
    for c in &report.system {
        let a = &c.allocation;
        let by = super::listener_label(c.pid, c.process.as_deref()).unwrap_or_else(|| "another process".to_owned());
        let _ = writeln!(out, "SYSTEM CONFLICT:\n  Port {} is allocated to {} but in use by {by}", a.port, a.worktree);
        let _ = writeln!(out, "  Decided by: {}", c.reason);
        let _ = writeln!(
            out,
            "  Resolution: stop {by}, or run 'atlas-ports release {} --worktree {}'\n",
            a.port,
            word(&a.worktree)
        );
    }
    for a in &report.mismatches {
        let _ = writeln!(
            out,
            "ALLOCATION MISMATCH:\n  Port {} is allocated to {} ({}) but nothing is listening",
            a.port, a.worktree, a.service
        );
        let _ = writeln!(
            out,
            "  Resolution: start the service, or run 'atlas-ports release {} --worktree {}'\n",
            a.port,
            word(&a.worktree)
        );
    }
    for p in &report.problems {
        let _ = writeln!(out, "REGISTRY PROBLEM:\n  {p}\n");
    }
    if report.conflict_count() == 0 && report.mismatches.is_empty() && report.problems.is_empty() {
        out.push_str("No conflicts found.\n\n");
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
