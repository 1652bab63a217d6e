//! What every Unix shares: the user database and `exec`.

use std::process::Command;

/// The name of this process's user from `/etc/passwd`, or `uid<N>` when it has no entry.
pub fn user_of_this_process() -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    // A process owns its /proc entry on Linux; elsewhere the home folder is the best guess.
    let home = std::env::var_os("HOME").unwrap_or_default();
    let uid = std::fs::metadata("/proc/self").or_else(|_| std::fs::metadata(home)).ok()?.uid();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd
        .lines()
        .find_map(|line| {
            let mut fields = line.split(':');
            let name = fields.next()?;
            (fields.nth(1)?.parse::<u32>().ok()? == uid).then(|| name.to_owned())
        })
        .or_else(|| Some(format!("uid{uid}")))
}

/// Replaces this process with `command`: it receives every signal directly and its exit status
/// is the one its caller sees. Returns only when the command could not be started.
pub fn run_in_place(mut command: Command) -> std::io::Result<i32> {
    use std::os::unix::process::CommandExt;
    Err(command.exec())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_uid_is_named_when_user_is_unset() {
        let name = super::user_of_this_process().expect("a Unix process has a uid");
        assert!(!name.is_empty() && !name.contains(':'), "{name}");
    }
}
