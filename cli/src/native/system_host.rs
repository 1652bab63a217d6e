//! The clock and identity of the running system.

use atlas_ports_core::{Clock, Identity, Timestamp};
use std::time::{SystemTime, UNIX_EPOCH};

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp(SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()))
    }
}

/// `user@hostname` of the running process.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemIdentity;

impl Identity for SystemIdentity {
    fn allocated_by(&self) -> String {
        let user = ["USER", "USERNAME", "LOGNAME"]
            .iter()
            .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
            .or_else(user_of_this_process)
            .unwrap_or_else(|| "unknown".to_owned());
        format!("{user}@{}", gethostname::gethostname().to_string_lossy())
    }
}

/// Services, cron jobs and CI often run without `$USER`: name the process's uid instead.
#[cfg(unix)]
fn user_of_this_process() -> Option<String> {
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

#[cfg(not(unix))]
fn user_of_this_process() -> Option<String> {
    None
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn the_uid_is_named_when_user_is_unset() {
        let name = user_of_this_process().expect("a Linux process has a uid");
        assert!(!name.is_empty() && !name.contains(':'), "{name}");
    }
}
