//! Other Unix systems (the BSDs, illumos): the Unix basics, and listeners without a PID.

pub use super::unix::{
    make_executable, our_uid, replace_file, run_child, run_in_place, shell_command, spawn_daemon, spawn_detached,
    user_name, user_of_this_process,
};
pub use super::unverified::{process_facts, processes_in_group, signal_process};
use atlas_ports_core::Listener;
use std::collections::HashMap;

/// EAFNOSUPPORT on the BSDs.
pub const NO_ADDRESS_FAMILY: i32 = 47;

/// Each port's listener, without a PID.
pub fn find_listeners(ports: &[u16]) -> HashMap<u16, Listener> {
    ports.iter().map(|&p| (p, Listener::default())).collect()
}
