//! Linux: listening processes from `/proc`, and the Unix parts shared with other systems.

pub use super::unix::{make_executable, replace_file, run_child, run_in_place, user_of_this_process};
use atlas_ports_core::Listener;
use std::collections::{HashMap, HashSet};
use std::fs;

/// EAFNOSUPPORT: the host has no such address family (IPv6 disabled).
pub const NO_ADDRESS_FAMILY: i32 = 97;

const LISTEN: &str = "0A";

/// Level 2 on Linux: the listening sockets of `/proc/net/tcp` and `tcp6`, matched to processes
/// through `/proc/<pid>/fd`, in one pass over the system tables.
pub fn find_listeners(ports: &[u16]) -> HashMap<u16, Listener> {
    let wanted: HashSet<u16> = ports.iter().copied().collect();
    let mut inode_port: HashMap<u64, u16> = HashMap::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        if let Ok(text) = fs::read_to_string(table) {
            for (port, inode) in listening_sockets(&text) {
                if wanted.contains(&port) && inode != 0 {
                    inode_port.insert(inode, port);
                }
            }
        }
    }
    let mut found: HashMap<u16, Listener> = ports.iter().map(|&p| (p, Listener::default())).collect();
    if inode_port.is_empty() {
        return found;
    }
    let Ok(procs) = fs::read_dir("/proc") else { return found };
    for entry in procs.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        let Ok(fds) = fs::read_dir(entry.path().join("fd")) else { continue };
        for fd in fds.flatten() {
            let Ok(target) = fs::read_link(fd.path()) else { continue };
            let Some(inode) = socket_inode(&target.to_string_lossy()) else { continue };
            if let Some(&port) = inode_port.get(&inode) {
                let l = found.entry(port).or_default();
                if l.pid.is_none() {
                    *l = describe(pid);
                }
            }
        }
    }
    found
}

fn describe(pid: u32) -> Listener {
    let proc_dir = format!("/proc/{pid}");
    Listener {
        pid: Some(pid),
        process: fs::read_to_string(format!("{proc_dir}/comm")).ok().map(|s| s.trim_end().to_owned()),
        cwd: fs::read_link(format!("{proc_dir}/cwd")).ok().map(|p| p.to_string_lossy().into_owned()),
        worktree_root: None,
    }
}

/// `(port, inode)` of every socket in LISTEN state in a `/proc/net/tcp{,6}` table.
fn listening_sockets(table: &str) -> impl Iterator<Item = (u16, u64)> + '_ {
    table.lines().skip(1).filter_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.get(3) != Some(&LISTEN) {
            return None;
        }
        let port = u16::from_str_radix(fields.get(1)?.rsplit(':').next()?, 16).ok()?;
        let inode = fields.get(9)?.parse().ok()?;
        Some((port, inode))
    })
}

fn socket_inode(link: &str) -> Option<u64> {
    link.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_listening_rows_only() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0\n\
   1: 0100007F:A1B2 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 4343 1 0000000000000000 20 4 30 10 -1\n";
        assert_eq!(listening_sockets(table).collect::<Vec<_>>(), vec![(8080, 4242)]);
        assert_eq!(socket_inode("socket:[4242]"), Some(4242));
        assert_eq!(socket_inode("pipe:[4242]"), None);
    }

    #[test]
    fn finds_this_process_listening() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let found = find_listeners(&[port]);
        assert_eq!(found[&port].pid, Some(std::process::id()));
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(found[&port].cwd.as_deref(), Some(cwd.to_str().unwrap()));
    }
}
