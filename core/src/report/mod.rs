//! What every front end answers: the named output types and their texts. An output type's
//! `Serialize` is the JSON the CLI prints (snake_case, as the registry file); the Node and
//! WebAssembly bindings mirror the same fields in camelCase, and a test holds the three
//! against each other. Where the reference design's `port_allocate.py` and `port_status.py`
//! print something, the text here is their output byte for byte.

mod allocation;
mod checkout;
mod conflicts;
mod health;
mod lifecycle;
mod servers;
mod status;

pub use crate::conflicts::{ConflictReport, ConflictSummary, Problem, RegistryConflict, SystemConflict};
pub use crate::ports::Ensured;
pub use crate::registry::{Allocation, NextPort};
pub use crate::status::{
    AllocationState, HealthReport, HealthSummary, RangeStatus, StatusReport, WorktreeReport, WorktreeStatus,
};
pub use allocation::{
    CheckReport, InitReport, PruneReport, ReleaseReport, Unavailable, allocated, allocation_lines,
    allocation_lines_by_worktree, already_held, next_port, released, released_list, worktree_released,
};
pub use checkout::{CheckoutRelease, CheckoutReport, CheckoutState, PortHolder, checkout_lines};
pub use conflicts::conflicts;
pub use health::{health, health_block};
pub use lifecycle::{DownReport, Readiness, ServicePort, UpReport};
pub use servers::{LeftAlone, ServerStart, StartReport, StartState, StopReport, StoppedProcess};
pub use status::{status_all, status_worktree};

/// How a report names a listener: `PID 123 (node)`, `PID 123`, or `None` without a PID.
fn listener_label(pid: Option<u32>, process: Option<&str>) -> Option<String> {
    match (pid, process) {
        (Some(p), Some(name)) => Some(format!("PID {p} ({name})")),
        (Some(p), None) => Some(format!("PID {p}")),
        (None, _) => None,
    }
}
