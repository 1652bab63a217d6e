//! macOS. Listening processes are not identified yet: ports that something listens on are
//! reported without a PID, so ownership is "unknown" and no false conflict is reported.

pub use super::unix::{run_child, run_in_place, user_of_this_process};
use atlas_ports_core::Listener;
use std::collections::HashMap;

/// EAFNOSUPPORT on macOS and the BSDs.
pub const NO_ADDRESS_FAMILY: i32 = 47;

/// Each port's listener, without a PID.
pub fn find_listeners(ports: &[u16]) -> HashMap<u16, Listener> {
    ports.iter().map(|&p| (p, Listener::default())).collect()
}
