//! The servers a worktree runs: what `start` records about the processes it starts, and the
//! rule that decides which processes `stop`, `down` and `prune` may signal. No I/O: the native
//! host reads the processes and the files.
//!
//! The rule: a process is signalled only with proof that it is the worktree's. Either
//! atlas-ports started it (it was recorded, and the process with that PID still has the recorded
//! start time, so a PID reused by an unrelated process never qualifies), or it listens on one
//! of the worktree's ports, runs as this user and works inside the worktree's folder (or inside
//! the deleted folder of a removed worktree). Everything else is reported, never signalled.

use serde::{Deserialize, Serialize};
use std::path::Path;

/// What `start` records about one process it started: enough to find it again after
/// atlas-ports itself was killed, and to tell it from an unrelated process that got the same
/// PID later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartedServer {
    pub service: String,
    pub pid: u32,
    /// The process group the command leads (on Unix its own session, so the PID).
    pub process_group: u32,
    /// When the process started, in the system's unit (clock ticks after boot on Linux).
    pub start_time: u64,
    /// The command line as run.
    pub command: String,
    /// The folder it was started in.
    pub cwd: String,
    /// Its log file.
    pub log: String,
    pub started_at: String,
}

/// The servers file of one worktree: the processes `start` started there.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ServersFile {
    pub worktree: String,
    pub worktree_path: String,
    /// The repository's common git folder, to ask git whether the worktree still exists.
    #[serde(default)]
    pub repository: Option<String>,
    /// Git's id of a linked worktree, which survives `git worktree move`.
    #[serde(default)]
    pub git_worktree: Option<String>,
    #[serde(default)]
    pub servers: Vec<StartedServer>,
}

/// A process as the host sees it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProcessFacts {
    pub pid: u32,
    pub uid: Option<u32>,
    /// The user's name, for reports.
    pub user: Option<String>,
    /// The working folder as the system reports it (Linux adds ` (deleted)` to a removed one).
    pub cwd: Option<String>,
    /// The process's name (`node`, `python3`).
    pub name: Option<String>,
    pub start_time: u64,
    pub process_group: u32,
}

/// Why a process may be stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Proof {
    /// atlas-ports started it (or it is in the process group of one it started), and its
    /// start time is the recorded one.
    Started,
    /// It listens on the worktree's port, runs as this user, from inside the worktree's folder.
    RunsInside,
}

/// The suffix Linux gives the working folder of a process whose folder was removed.
pub const DELETED_SUFFIX: &str = " (deleted)";

/// The folder a process works in, without the mark of a deleted folder; and whether it was
/// deleted.
pub fn working_folder(cwd: &str) -> (&str, bool) {
    match cwd.strip_suffix(DELETED_SUFFIX) {
        Some(path) => (path, true),
        None => (cwd, false),
    }
}

/// Whether a listener on one of a worktree's ports is provably that worktree's: it runs as
/// `our_uid`, and works inside `worktree_root`, and not inside a worktree nested in it
/// (`cwd_worktree` is the root of the worktree the host found around its folder, when the folder
/// still exists). The error says why not, for the report.
pub fn listener_is_ours(
    p: &ProcessFacts,
    worktree_root: &str,
    cwd_worktree: Option<&str>,
    our_uid: u32,
) -> std::result::Result<(), String> {
    match p.uid {
        Some(uid) if uid == our_uid => {}
        Some(_) => return Err(format!("it runs as another user ({})", p.user.as_deref().unwrap_or("?"))),
        None => return Err("its user can't be read".to_owned()),
    }
    let Some(cwd) = p.cwd.as_deref() else {
        return Err("its working folder can't be read".to_owned());
    };
    let (folder, _deleted) = working_folder(cwd);
    if !Path::new(folder).starts_with(worktree_root) {
        return Err(format!("it runs from {folder}, outside {worktree_root}"));
    }
    match cwd_worktree {
        Some(root) if Path::new(root) != Path::new(worktree_root) => {
            Err(format!("it runs from {folder}, inside another worktree ({root})"))
        }
        _ => Ok(()),
    }
}

/// Whether a member of a recorded process group may be stopped with it: it runs as this user
/// and started no earlier than the recorded leader (a process already running when the server
/// started is not its child).
pub fn group_member_is_ours(member: &ProcessFacts, leader: &StartedServer, our_uid: u32) -> bool {
    member.process_group == leader.process_group
        && member.uid == Some(our_uid)
        && member.start_time >= leader.start_time
}

#[cfg(test)]
mod tests {
    use super::*;

    fn process(uid: u32, cwd: &str) -> ProcessFacts {
        ProcessFacts { pid: 7, uid: Some(uid), user: Some("u".into()), cwd: Some(cwd.into()), ..Default::default() }
    }

    #[test]
    fn a_listener_is_ours_only_as_our_user_inside_the_worktree() {
        assert_eq!(listener_is_ours(&process(1000, "/src/wt/app"), "/src/wt", Some("/src/wt"), 1000), Ok(()));
        assert_eq!(listener_is_ours(&process(1000, "/src/wt"), "/src/wt", None, 1000), Ok(()));
        assert_eq!(
            listener_is_ours(&process(1000, "/src/wt (deleted)"), "/src/wt", None, 1000),
            Ok(()),
            "the deleted folder of a removed worktree"
        );
        assert_eq!(
            listener_is_ours(&process(1000, "/src/wt-other"), "/src/wt", None, 1000),
            Err("it runs from /src/wt-other, outside /src/wt".to_owned()),
            "a sibling folder whose name starts alike is outside"
        );
        assert_eq!(
            listener_is_ours(&process(0, "/src/wt"), "/src/wt", None, 1000),
            Err("it runs as another user (u)".to_owned())
        );
        assert_eq!(
            listener_is_ours(&process(1000, "/src/wt/.worktrees/x"), "/src/wt", Some("/src/wt/.worktrees/x"), 1000),
            Err("it runs from /src/wt/.worktrees/x, inside another worktree (/src/wt/.worktrees/x)".to_owned())
        );
        let unreadable = ProcessFacts { cwd: None, ..process(1000, "") };
        assert!(listener_is_ours(&unreadable, "/src/wt", None, 1000).is_err());
    }

    #[test]
    fn group_members_started_before_the_leader_are_not_its_children() {
        let leader = StartedServer {
            service: "web".into(),
            pid: 100,
            process_group: 100,
            start_time: 5000,
            command: "x".into(),
            cwd: "/w".into(),
            log: "l".into(),
            started_at: "t".into(),
        };
        let member = |group: u32, uid: u32, start: u64| ProcessFacts {
            pid: 101,
            uid: Some(uid),
            start_time: start,
            process_group: group,
            ..Default::default()
        };
        assert!(group_member_is_ours(&member(100, 1000, 5001), &leader, 1000));
        assert!(!group_member_is_ours(&member(100, 1000, 4999), &leader, 1000));
        assert!(!group_member_is_ours(&member(100, 0, 5001), &leader, 1000));
        assert!(!group_member_is_ours(&member(200, 1000, 5001), &leader, 1000));
    }
}
