//! What every Unix shares: the user database, `exec`, and handing the standard streams to a
//! command.

use std::io;
use std::os::fd::AsFd;
use std::process::{Command, Stdio};

/// The name of this process's user from `/etc/passwd`, or `uid<N>` when it has no entry.
pub fn user_of_this_process() -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    // A process owns its /proc entry on Linux; elsewhere the home folder is the best guess.
    let home = std::env::var_os("HOME").unwrap_or_default();
    let uid = std::fs::metadata("/proc/self").or_else(|_| std::fs::metadata(home)).ok()?.uid();
    Some(user_name(uid))
}

/// The name of user `uid` from `/etc/passwd`, or `uid<N>` when it has no entry.
pub fn user_name(uid: u32) -> String {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .find_map(|line| {
            let mut fields = line.split(':');
            let name = fields.next()?;
            (fields.nth(1)?.parse::<u32>().ok()? == uid).then(|| name.to_owned())
        })
        .unwrap_or_else(|| format!("uid{uid}"))
}

/// This process's real user id.
pub fn our_uid() -> Option<u32> {
    Some(rustix::process::getuid().as_raw())
}

/// A command line run by the shell: `sh -c LINE`.
pub fn shell_command(line: &str) -> Command {
    let mut command = Command::new("sh");
    command.arg("-c").arg(line);
    command
}

/// Starts `command` in a session of its own (`setsid`): it leads a new process group, has no
/// controlling terminal, and outlives this process; a signal to its group reaches what it
/// starts, and a Ctrl+C at the terminal that ran atlas-ports does not.
pub fn spawn_detached(mut command: Command) -> io::Result<std::process::Child> {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure runs in the child between fork and exec, where only async-signal-safe
    // calls are allowed; setsid is a single system call and allocates nothing.
    #[allow(unsafe_code)]
    unsafe {
        command.pre_exec(|| rustix::process::setsid().map(drop).map_err(io::Error::from));
    }
    command.spawn()
}

/// Starts a long-lived service of atlas-ports' own (the background proxy): as
/// [`spawn_detached`], a session of its own that outlives the terminal.
pub fn spawn_daemon(command: Command) -> io::Result<std::process::Child> {
    spawn_detached(command)
}

/// Lets its owner, group and others run the file (a git hook).
pub fn make_executable(path: &std::path::Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mut permissions = std::fs::metadata(path)?.permissions();
    permissions.set_mode(permissions.mode() | 0o755);
    std::fs::set_permissions(path, permissions)
}

/// Moves `from` over `to` in one step: readers see the old file or the new one.
pub fn replace_file(from: &std::path::Path, to: &std::path::Path) -> io::Result<()> {
    std::fs::rename(from, to)
}

/// Replaces this process with `command`: it receives every signal directly and its exit status
/// is the one its caller sees. Returns only when the command could not be started.
pub fn run_in_place(mut command: Command) -> io::Result<i32> {
    use std::os::unix::process::CommandExt;
    hand_over_stdio(&mut command);
    Err(command.exec())
}

/// Runs `command` as a child with this process's standard streams, waits for it and answers
/// its exit status (128 + the signal's number when a signal ended it, as shells do).
pub fn run_child(mut command: Command) -> io::Result<i32> {
    use std::os::unix::process::ExitStatusExt;
    hand_over_stdio(&mut command);
    let status = command.status()?;
    Ok(status.code().or_else(|| status.signal().map(|s| 128 + s)).unwrap_or(1))
}

/// Gives the command this process's stdin, stdout and stderr explicitly. A host process may have
/// marked them close-on-exec (Node does), and an inherited descriptor with that flag is closed
/// when the command starts: it would run with no standard streams at all. A duplicate handed
/// over is installed on 0–2 by `dup2`, which clears the flag.
fn hand_over_stdio(command: &mut Command) {
    if let Ok(fd) = io::stdin().as_fd().try_clone_to_owned() {
        command.stdin(Stdio::from(fd));
    }
    if let Ok(fd) = io::stdout().as_fd().try_clone_to_owned() {
        command.stdout(Stdio::from(fd));
    }
    if let Ok(fd) = io::stderr().as_fd().try_clone_to_owned() {
        command.stderr(Stdio::from(fd));
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_uid_is_named_when_user_is_unset() {
        let name = super::user_of_this_process().expect("a Unix process has a uid");
        assert!(!name.is_empty() && !name.contains(':'), "{name}");
    }
}
