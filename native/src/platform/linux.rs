//! Linux: listening processes from `/proc`, and the Unix parts shared with other systems.

pub use super::unix::{
    make_executable, our_uid, replace_file, run_child, run_in_place, shell_command, spawn_daemon, spawn_detached,
    user_name, user_of_this_process,
};
use crate::servers::StopSignal;
use atlas_ports_core::Listener;
use atlas_ports_core::servers::ProcessFacts;
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

/// A live process's facts from `/proc/<pid>`: its start time (field 22 of `stat`, clock ticks
/// after boot), process group, user, working folder and name. `None` when there is no such
/// process, or only its zombie is left.
pub fn process_facts(pid: u32) -> Option<ProcessFacts> {
    use std::os::unix::fs::MetadataExt;
    let dir = format!("/proc/{pid}");
    let stat = fs::read_to_string(format!("{dir}/stat")).ok()?;
    let (name, state, group, start_time) = parse_stat(&stat)?;
    if matches!(state, 'Z' | 'X' | 'x') {
        return None;
    }
    let uid = fs::metadata(&dir).ok().map(|m| m.uid());
    Some(ProcessFacts {
        pid,
        uid,
        user: uid.map(user_name),
        cwd: fs::read_link(format!("{dir}/cwd")).ok().map(|p| p.to_string_lossy().into_owned()),
        name: Some(name),
        start_time,
        process_group: group,
    })
}

/// The live processes whose process group is `group`.
pub fn processes_in_group(group: u32) -> Vec<ProcessFacts> {
    let Ok(procs) = fs::read_dir("/proc") else { return Vec::new() };
    procs
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
        .filter(|&pid| {
            fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| parse_stat(&s))
                .is_some_and(|(_, _, g, _)| g == group)
        })
        .filter_map(process_facts)
        .collect()
}

/// Sends `signal` to process `pid` only if it is still the process that started at
/// `start_time`. The process is pinned with a pidfd before its start time is read, and the
/// signal goes through that pidfd: a PID reused meanwhile is never signalled. `Ok(false)` when
/// the process is gone or is another one.
pub fn signal_process(pid: u32, start_time: u64, signal: StopSignal) -> std::io::Result<bool> {
    use rustix::io::Errno;
    use rustix::process::{Pid, PidfdFlags, Signal, kill_process, pidfd_open, pidfd_send_signal};
    let Some(target) = i32::try_from(pid).ok().and_then(Pid::from_raw) else { return Ok(false) };
    let pinned = match pidfd_open(target, PidfdFlags::empty()) {
        Ok(fd) => Some(fd),
        Err(Errno::SRCH) => return Ok(false),
        // Kernels before 5.3 have no pidfd: check, then signal by PID (a window of microseconds).
        Err(Errno::NOSYS) => None,
        Err(e) => return Err(e.into()),
    };
    if process_facts(pid).map(|p| p.start_time) != Some(start_time) {
        return Ok(false);
    }
    let signal = match signal {
        StopSignal::Terminate => Signal::TERM,
        StopSignal::Kill => Signal::KILL,
    };
    let sent = match &pinned {
        Some(fd) => pidfd_send_signal(fd, signal),
        None => kill_process(target, signal),
    };
    match sent {
        Ok(()) => Ok(true),
        Err(Errno::SRCH) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Name, state, process group and start time from the text of `/proc/<pid>/stat`. The name is
/// in parentheses and may hold spaces and parentheses itself: the fields after it start after
/// the last `)`.
fn parse_stat(stat: &str) -> Option<(String, char, u32, u64)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = stat.get(open + 1..close)?.to_owned();
    let rest: Vec<&str> = stat.get(close + 1..)?.split_whitespace().collect();
    // `rest[0]` is field 3 (state); field N is `rest[N - 3]`.
    let state = rest.first()?.chars().next()?;
    let group = rest.get(2)?.parse().ok()?;
    let start_time = rest.get(19)?.parse().ok()?;
    Some((name, state, group, start_time))
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
    fn stat_fields_survive_names_with_spaces_and_parentheses() {
        let stat = "4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10";
        assert_eq!(parse_stat(stat), Some(("my (odd) name".to_owned(), 'S', 4242, 987654)));
    }

    #[test]
    fn a_reused_pid_is_not_signalled() {
        let me = process_facts(std::process::id()).expect("this process is alive");
        assert!(me.start_time > 0);
        // A start time that is not ours: the process with our PID is "another one".
        assert!(!signal_process(std::process::id(), me.start_time + 1, StopSignal::Terminate).unwrap());
        let mut child = std::process::Command::new("sleep").arg("30").spawn().unwrap();
        let facts = process_facts(child.id()).unwrap();
        assert!(signal_process(child.id(), facts.start_time, StopSignal::Kill).unwrap());
        child.wait().unwrap();
        assert!(process_facts(child.id()).is_none(), "reaped: gone");
        assert!(!signal_process(child.id(), facts.start_time, StopSignal::Kill).unwrap());
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
