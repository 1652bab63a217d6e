//! Where reading a process's start time and signalling it through a handle that pins it are
//! not implemented yet (macOS, Windows, the BSDs): no process is ever proven the same as the one
//! recorded, so `stop`, `down` and `prune` signal nothing and report what they found instead.

use crate::servers::StopSignal;
use atlas_ports_core::servers::ProcessFacts;

/// No facts: the process can't be proven to be anyone's.
pub fn process_facts(_pid: u32) -> Option<ProcessFacts> {
    None
}

/// No members can be listed.
pub fn processes_in_group(_group: u32) -> Vec<ProcessFacts> {
    Vec::new()
}

/// Never signals.
pub fn signal_process(_pid: u32, _start_time: u64, _signal: StopSignal) -> std::io::Result<bool> {
    Ok(false)
}
