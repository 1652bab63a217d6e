//! Windows: listening processes from the system's TCP table, no `exec`, a rename that waits
//! out readers, and the user name from the environment alone.

pub use super::unverified::{process_facts, processes_in_group, signal_process};
use atlas_ports_core::Listener;
use std::collections::HashMap;
use std::process::Command;

/// The user id is a Unix notion: without one, no listener is proven ours by its user, and
/// `stop` signals only what it started.
pub fn our_uid() -> Option<u32> {
    None
}

/// A user's name; Windows reports none here.
pub fn user_name(uid: u32) -> String {
    format!("uid{uid}")
}

/// A command line run by the command interpreter: `cmd /C LINE`, passed as written.
pub fn shell_command(line: &str) -> Command {
    use std::os::windows::process::CommandExt;
    let mut command = Command::new("cmd");
    command.arg("/C").raw_arg(line);
    command
}

/// Starts `command` in a process group of its own (`CREATE_NEW_PROCESS_GROUP`), so that a
/// Ctrl+C at the console that ran atlas-ports does not reach it. Built, not verified here.
pub fn spawn_detached(mut command: Command) -> std::io::Result<std::process::Child> {
    use std::os::windows::process::CommandExt;
    const CREATE_NEW_PROCESS_GROUP: u32 = 0x0000_0200;
    command.creation_flags(CREATE_NEW_PROCESS_GROUP);
    command.spawn()
}

/// Starts a long-lived service of atlas-ports' own (the background proxy) with no console
/// (`DETACHED_PROCESS`) in a process group of its own, so closing the console that started it
/// does not end it. Built, not verified here.
pub fn spawn_daemon(mut command: Command) -> std::io::Result<std::process::Child> {
    use std::os::windows::process::CommandExt;
    const DETACHED_PROCESS: u32 = 0x0000_0008;
    const CREATE_NEW_PROCESS_GROUP: u32 = 0x0000_0200;
    command.creation_flags(DETACHED_PROCESS | CREATE_NEW_PROCESS_GROUP);
    command.spawn()
}

/// Each port's listener, with its process's working folder.
pub fn find_listeners(ports: &[u16]) -> HashMap<u16, Listener> {
    super::portable::find_listeners(ports, working_folders)
}

/// The working folders of some processes, from `sysinfo` (the process's PEB). Processes it
/// cannot read (another user's, without the rights) are left out.
fn working_folders(pids: &[u32]) -> HashMap<u32, String> {
    let ids: Vec<sysinfo::Pid> = pids.iter().map(|&p| sysinfo::Pid::from_u32(p)).collect();
    let mut system = sysinfo::System::new();
    let only_cwd = sysinfo::ProcessRefreshKind::nothing().with_cwd(sysinfo::UpdateKind::Always);
    system.refresh_processes_specifics(sysinfo::ProcessesToUpdate::Some(&ids), true, only_cwd);
    pids.iter()
        .filter_map(|&p| {
            let cwd = system.process(sysinfo::Pid::from_u32(p))?.cwd()?;
            Some((p, cwd.to_string_lossy().into_owned()))
        })
        .collect()
}

/// WSAEAFNOSUPPORT.
pub const NO_ADDRESS_FAMILY: i32 = 10047;

/// `%USERNAME%` is the only source here; the caller has already asked for it.
pub fn user_of_this_process() -> Option<String> {
    None
}

/// Windows runs what git runs without an executable bit.
pub fn make_executable(_path: &std::path::Path) -> std::io::Result<()> {
    Ok(())
}

/// Moves `from` over `to` in one step. Windows refuses to replace a file that another process
/// has open without delete sharing (a reader, an editor, a virus scanner) with "access denied"
/// or a sharing violation, for as long as it holds it: retry for a bounded time.
pub fn replace_file(from: &std::path::Path, to: &std::path::Path) -> std::io::Result<()> {
    const ACCESS_DENIED: i32 = 5;
    const SHARING_VIOLATION: i32 = 32;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    let mut pause = std::time::Duration::from_millis(1);
    loop {
        match std::fs::rename(from, to) {
            Err(e)
                if matches!(e.raw_os_error(), Some(ACCESS_DENIED | SHARING_VIOLATION))
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(pause);
                pause = (pause * 2).min(std::time::Duration::from_millis(50));
            }
            other => return other,
        }
    }
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
