//! Level 2 where the system has no `/proc` (macOS, Windows): the listening sockets and their
//! processes from the `listeners` crate (the system's socket tables); each process's working
//! folder, for telling own servers from foreign ones, comes from the platform's `working_folders`.

use atlas_ports_core::Listener;
use std::collections::{HashMap, HashSet};

/// Each port's listener: PID and name from one pass over the socket table, then the working
/// folders of just those processes. A port whose process cannot be read keeps a listener
/// without a PID (ownership is then "unknown", never a false conflict).
pub fn find_listeners(
    ports: &[u16],
    working_folders: impl FnOnce(&[u32]) -> HashMap<u32, String>,
) -> HashMap<u16, Listener> {
    let wanted: HashSet<u16> = ports.iter().copied().collect();
    let mut found: HashMap<u16, Listener> = ports.iter().map(|&p| (p, Listener::default())).collect();
    let Ok(all) = listeners::get_all() else { return found };
    let mut pids = Vec::new();
    for l in all {
        let port = l.socket.port();
        let listening = l.protocol == listeners::Protocol::TCP && l.state == listeners::SocketState::Listen;
        // PID 0 is no process (the system idle process on Windows, or an unreadable entry).
        if !listening || !wanted.contains(&port) || l.process.pid == 0 {
            continue;
        }
        let entry = found.entry(port).or_default();
        if entry.pid.is_none() {
            *entry =
                Listener { pid: Some(l.process.pid), process: Some(l.process.name), cwd: None, worktree_root: None };
            pids.push(l.process.pid);
        }
    }
    if pids.is_empty() {
        return found;
    }
    let folders = working_folders(&pids);
    for l in found.values_mut() {
        l.cwd = l.pid.and_then(|pid| folders.get(&pid).cloned());
    }
    found
}
