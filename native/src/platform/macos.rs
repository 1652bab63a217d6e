//! macOS: the Unix basics, and listening processes from the system's socket tables.

pub use super::unix::{
    make_executable, our_uid, replace_file, run_child, run_in_place, shell_command, spawn_daemon, spawn_detached,
    user_name, user_of_this_process,
};
pub use super::unverified::{process_facts, processes_in_group, signal_process};
use atlas_ports_core::Listener;
use std::collections::HashMap;

/// EAFNOSUPPORT on macOS and the BSDs.
pub const NO_ADDRESS_FAMILY: i32 = 47;

/// Each port's listener, with its process's working folder.
pub fn find_listeners(ports: &[u16]) -> HashMap<u16, Listener> {
    super::portable::find_listeners(ports, working_folders)
}

/// The working folders of some processes, from `lsof -a -d cwd -Fn -p PID,…` (macOS has no
/// /proc; lsof ships with it). Processes it cannot read are left out.
fn working_folders(pids: &[u32]) -> HashMap<u32, String> {
    let list = pids.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
    let Ok(out) = std::process::Command::new("lsof").args(["-a", "-d", "cwd", "-Fn", "-p", &list]).output() else {
        return HashMap::new();
    };
    parse_lsof(&String::from_utf8_lossy(&out.stdout))
}

/// `p<pid>` starts a process's record, `n<path>` names its working folder.
fn parse_lsof(text: &str) -> HashMap<u32, String> {
    let mut folders = HashMap::new();
    let mut pid = None;
    for line in text.lines() {
        if let Some(p) = line.strip_prefix('p') {
            pid = p.parse().ok();
        } else if let (Some(p), Some(path)) = (pid, line.strip_prefix('n')) {
            folders.insert(p, path.to_owned());
        }
    }
    folders
}

#[cfg(test)]
mod tests {
    #[test]
    fn lsof_records_name_each_process_folder() {
        let text = "p42\nfcwd\nn/Users/me/src/wt\np7\nfcwd\nn/\n";
        let folders = super::parse_lsof(text);
        assert_eq!(folders[&42], "/Users/me/src/wt");
        assert_eq!(folders[&7], "/");
    }
}
