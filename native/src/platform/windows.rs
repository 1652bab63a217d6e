//! Windows. Listening processes are not identified yet (ownership is then "unknown"), there is
//! no `exec`, and the user name comes from the environment alone.

use atlas_ports_core::Listener;
use std::collections::HashMap;
use std::process::Command;

/// WSAEAFNOSUPPORT.
pub const NO_ADDRESS_FAMILY: i32 = 10047;

/// Each port's listener, without a PID.
pub fn find_listeners(ports: &[u16]) -> HashMap<u16, Listener> {
    ports.iter().map(|&p| (p, Listener::default())).collect()
}

/// `%USERNAME%` is the only source here; the caller has already asked for it.
pub fn user_of_this_process() -> Option<String> {
    None
}

/// Windows has no `exec`: the command runs as a child and its exit status is passed through
/// (Ctrl+C reaches the whole console group, so the child gets it too).
pub fn run_in_place(command: Command) -> std::io::Result<i32> {
    run_child(command)
}

/// Runs `command` as a child, waits for it and answers its exit status.
pub fn run_child(mut command: Command) -> std::io::Result<i32> {
    command.status().map(|s| s.code().unwrap_or(1))
}
