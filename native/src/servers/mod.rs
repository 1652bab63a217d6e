//! Servers that end with their worktree. `start` runs the commands a worktree's
//! atlas-ports.toml declares, each in a session of its own with its output in a log file, and
//! records what it started before it waits for anything; `stop` (and `down`, and `prune` for
//! worktrees that are gone) stops them again, under the rule of
//! [`atlas_ports_core::servers`]: only processes provably the worktree's are signalled.
//!
//! - [`records`]: the servers file of each worktree (locked, replaced atomically);
//! - [`logs`]: the log files;
//! - [`stop`]: finding what may be stopped, and stopping it (SIGTERM, a grace period, SIGKILL).

pub mod logs;
mod records;
mod start;
mod stop;

pub use records::Records;
pub use start::{StartOptions, start};
pub use stop::{StopOptions, Worktree, reap, stop, stop_here};

use std::path::{Path, PathBuf};

/// The logs of the worktree at `root` (named `name` in the registry): `(service, path)`.
pub fn logs_of(
    records: &Records,
    root: &Path,
    git_worktree: Option<&str>,
    name: &str,
    registry: &Path,
) -> Vec<(String, PathBuf)> {
    let mut keys: Vec<String> = stop::files_of(records, root, git_worktree).into_iter().map(|(k, _)| k).collect();
    keys.push(file_key(name));
    logs::of_worktree(&keys, registry)
}

/// Marks each state whose port has a listener with whether `start` started that process:
/// it is a recorded server, or a member of a recorded server's process group, still the same
/// process.
pub fn mark_started(registry: &Path, states: &mut [atlas_ports_core::AllocationState]) {
    if states.iter().all(|s| s.pid.is_none()) {
        return;
    }
    let started: Vec<u32> = Records::beside(registry)
        .all()
        .iter()
        .flat_map(|(_, f)| &f.servers)
        .flat_map(|s| stop::recorded_processes(s, crate::platform::our_uid()))
        .map(|p| p.pid)
        .collect();
    for s in states.iter_mut() {
        s.started_by_atlas_ports = s.pid.map(|pid| started.contains(&pid));
    }
}

/// The signals `stop` sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopSignal {
    /// SIGTERM: asks the process to end.
    Terminate,
    /// SIGKILL: ends it.
    Kill,
}

/// The folder beside the registry that holds the servers files and the logs.
pub(crate) fn state_dir(registry: &Path) -> PathBuf {
    registry.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_owned()
}

/// A worktree's or service's name as a file name: letters, digits, `.`, `-` and `_` kept, every
/// other character `_`, and never `.` or `..` alone.
pub fn file_key(name: &str) -> String {
    let key: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') { c } else { '_' }).collect();
    if key.chars().all(|c| c == '.') { key.replace('.', "_") } else { key }
}

#[cfg(test)]
mod tests {
    #[test]
    fn file_keys_stay_in_their_folder() {
        assert_eq!(super::file_key("review-GH-42"), "review-GH-42");
        assert_eq!(super::file_key("a/b c"), "a_b_c");
        assert_eq!(super::file_key(".."), "__");
    }
}
