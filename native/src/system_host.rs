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
            // Services, cron jobs and CI often run without `$USER`: name the process's user instead.
            .or_else(crate::platform::user_of_this_process)
            .unwrap_or_else(|| "unknown".to_owned());
        format!("{user}@{}", gethostname::gethostname().to_string_lossy())
    }
}
