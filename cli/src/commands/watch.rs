//! `atlas-ports status --watch [--interval SECONDS]`: the status report, looked at again every
//! interval and redrawn only when it changed, until Ctrl+C (exit status 0). On a terminal the
//! screen is cleared and the report drawn from the top, with a footer saying when it last
//! changed; into a pipe each new report follows the last after a blank line; with
//! `--format json`, each is one line of JSON. A failed look (a registry being replaced by hand,
//! say) is shown like a report and the watch goes on. Ctrl+C, `q` or Ctrl+D at the terminal
//! stop it ([`atlas_ports_native::Keys`]: no signal handler, which would fight the Node host's).

use super::{Exit, Invocation};
use crate::args::StatusArgs;
use crate::output;
use atlas_ports_core::{Error, Result};
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

pub fn run(inv: &Invocation<'_>, args: &StatusArgs, json: bool) -> Result<Exit> {
    if !(0.1..=3600.0).contains(&args.interval) {
        return Err(Error::InvalidArgument {
            what: "--interval",
            value: args.interval.to_string(),
            reason: "expected seconds from 0.1 to 3600".to_owned(),
        });
    }
    let interval = Duration::from_secs_f64(args.interval);
    let mut keys = atlas_ports_native::Keys::listen()
        .map_err(|source| Error::System { action: "listen to the keyboard for Ctrl+C", source })?;
    let terminal = std::io::stdout().is_terminal() && !json;
    let mut last: Option<String> = None;
    'watch: loop {
        let looked = Instant::now();
        let report = match super::status::render(inv, args, json) {
            Ok(text) if json => compact(&text),
            Ok(text) => text,
            Err(e) => format!("atlas-ports: error: {e}\n"),
        };
        if last.as_deref() != Some(report.as_str()) {
            draw(&report, last.is_none() || json, terminal, args.interval)?;
            last = Some(report);
        }
        // Sleep in short slices, so that Ctrl+C ends the watch at once.
        loop {
            if keys.stop_requested() {
                break 'watch;
            }
            if looked.elapsed() >= interval {
                break;
            }
            std::thread::sleep((interval - looked.elapsed()).min(Duration::from_millis(50)));
        }
    }
    drop(keys);
    if terminal {
        output::text("\n")?;
    }
    Ok(Exit::Success)
}

/// `unseparated`: no blank line before the report (the first one, and every line of JSON, which
/// is one line per look so that `jq` and line readers take it as it comes).
fn draw(report: &str, unseparated: bool, terminal: bool, interval: f64) -> Result<()> {
    if terminal {
        // Home and clear: the only control sequence written, and never from registry text.
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(b"\x1b[H\x1b[2J").and_then(|()| out.flush());
        drop(out);
        output::text(report)?;
        output::text(&format!("\nEvery {interval}s; last change at {}. Ctrl+C or q to stop.\n", clock()))
    } else if unseparated {
        output::text(report)
    } else {
        output::text(&format!("\n{report}"))
    }
}

/// One line of JSON from pretty JSON text.
fn compact(pretty: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(pretty) {
        Ok(v) => format!("{v}\n"),
        Err(_) => pretty.to_owned(),
    }
}

/// The time of day in UTC, `HH:MM:SS`.
fn clock() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    format!("{:02}:{:02}:{:02} UTC", secs / 3600 % 24, secs / 60 % 60, secs % 60)
}
