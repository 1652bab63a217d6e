//! Readiness: a worktree's service is ready when the port the worktree holds for it listens
//! and its protocol answers as [`crate::SystemHealthProbe`] judges it (an HTTP status below
//! 500, PostgreSQL's or MySQL's greeting, Redis's PONG, else a TCP connect). [`wait`] asks
//! again until it is, a deadline passes, or the caller gives up.

use crate::Workspace;
use crate::protocols::{Timeouts, ask_ready};
use atlas_ports_core::report::Readiness;
use atlas_ports_core::{ProbeKind, Result};
use std::path::Path;
use std::time::{Duration, Instant};

/// Pause between two looks.
pub const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// One look: the worktree named `worktree` (default: the one worked in) and its port for
/// `service`, read without writing anything. A service the registry has no range for (nor the
/// worktree's atlas-ports.toml) is an error (`ERR_UNKNOWN_SERVICE`); a
/// worktree that holds no port for it yet is not ready.
pub fn check(ws: &Workspace, registry: Option<&Path>, service: &str, worktree: Option<&str>) -> Result<Readiness> {
    let ports = ws.ports(registry);
    let name = ws.worktree_name(&ports, worktree)?;
    let registry = ports.load()?;
    let (kind, held) = match registry.range_of(service) {
        Ok(range) => (ProbeKind::for_service(service, Some(range)), registry.held_by(service, &name).map(|a| a.port)),
        // A service the worktree's atlas-ports.toml declares gets its range on first `ensure`:
        // until then it has no port, which is "not ready yet", not an error. Nothing is written.
        Err(e) => match crate::lifecycle::project(ws) {
            Ok((project, _)) if project.services.iter().any(|s| s.name == service) => {
                (ProbeKind::for_service(service, None), None)
            }
            _ => return Err(e),
        },
    };
    let (ready, reason) = match held {
        None => (false, format!("worktree '{name}' holds no port for '{service}'")),
        Some(port) => look(&kind, port),
    };
    Ok(Readiness { worktree: name, service: service.to_owned(), port: held, ready, reason, waited_ms: 0 })
}

/// One look at a port: whether the service there is ready, and what it answered.
pub fn look(kind: &ProbeKind, port: u16) -> (bool, String) {
    ask_ready(kind, port, Timeouts::default()).unwrap_or_else(|| (false, format!("nothing listens on port {port}")))
}

/// Looks every [`POLL_INTERVAL`] until the service is ready or `timeout` has passed, or
/// `stop` says to give up; the last look is returned either way. An error (unknown service,
/// unreadable registry) ends the wait at once.
pub fn wait(
    ws: &Workspace,
    registry: Option<&Path>,
    service: &str,
    worktree: Option<&str>,
    timeout: Duration,
    stop: &dyn Fn() -> bool,
) -> Result<Readiness> {
    let start = Instant::now();
    loop {
        let mut look = check(ws, registry, service, worktree)?;
        let elapsed = start.elapsed();
        look.waited_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
        if look.ready || elapsed >= timeout || stop() {
            return Ok(look);
        }
        std::thread::sleep(POLL_INTERVAL.min(timeout - elapsed));
    }
}

/// Parses a duration as users write it: `60s`, `500ms`, `2m`, `1.5s`, or a bare number of
/// seconds.
pub fn parse_duration(text: &str) -> std::result::Result<Duration, String> {
    let t = text.trim();
    let (number, unit) = match t.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(i) => t.split_at(i),
        None => (t, "s"),
    };
    let value: f64 = number.parse().map_err(|_| format!("'{text}' is not a duration (e.g. 60s, 500ms, 2m)"))?;
    let seconds = match unit.trim() {
        "ms" => value / 1000.0,
        "s" | "" => value,
        "m" | "min" => value * 60.0,
        "h" => value * 3600.0,
        _ => return Err(format!("'{text}' is not a duration (units: ms, s, m, h)")),
    };
    if !seconds.is_finite() || !(0.0..=86_400.0).contains(&seconds) {
        return Err(format!("'{text}' is out of range (0 to 24 h)"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("60s"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("60"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5d").is_err());
        assert!(parse_duration("-1s").is_err());
    }
}
