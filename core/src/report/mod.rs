//! The texts every front end prints: the seed's outputs byte for byte where the seed shows
//! them, and reports in the same style where it does not.

mod allocation;
mod conflicts;
mod status;

pub use allocation::{allocated, allocation_lines, already_held, next_port, released};
pub use conflicts::conflicts;
pub use status::{health, status_all, status_worktree};

/// How a report names a listener: `PID 123 (node)`, `PID 123`, or `None` without a PID.
fn listener_label(pid: Option<u32>, process: Option<&str>) -> Option<String> {
    match (pid, process) {
        (Some(p), Some(name)) => Some(format!("PID {p} ({name})")),
        (Some(p), None) => Some(format!("PID {p}")),
        (None, _) => None,
    }
}
