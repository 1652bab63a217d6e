//! `atlas-ports start`, `stop` and `logs` (and `up --start`): the servers atlas-ports.toml
//! declares for this worktree.

use super::{Exit, Invocation};
use crate::args::{LogsArgs, StopArgs};
use crate::output;
use atlas_ports_core::{Error, Result};
use atlas_ports_native::servers::{self, StartOptions, StopOptions};
use serde::Serialize;
use std::time::Duration;

/// What `start --format json` prints: `up`'s report and what became of each server.
#[derive(Serialize)]
struct Started<'a> {
    up: &'a atlas_ports_core::report::UpReport,
    #[serde(flatten)]
    start: &'a atlas_ports_core::report::StartReport,
}

pub fn start(inv: &Invocation<'_>, service: Option<String>, timeout: Duration) -> Result<Exit> {
    let json = inv.json()?;
    let options = StartOptions { service, timeout };
    let (up, report, created) = servers::start(inv.ws, inv.registry(), &options)?;
    if created {
        output::note(&format!(
            "atlas-ports: created the port registry {} with the default ranges (edit it to change them)",
            inv.ws.display(inv.ws.ports(inv.registry()).registry_path())
        ));
    }
    super::up::note_moves(&up);
    if json {
        output::json(&Started { up: &up, start: &report })?;
    } else {
        output::text(&report.text())?;
    }
    Ok(if report.all_ready() { Exit::Success } else { Exit::No })
}

pub fn stop(inv: &Invocation<'_>, args: StopArgs) -> Result<Exit> {
    let json = inv.json()?;
    let options = StopOptions { service: args.service, grace: args.grace, dry_run: false };
    let report = servers::stop_here(inv.ws, inv.registry(), &options)?;
    if json {
        output::json(&report)?;
    } else {
        output::text(&report.text())?;
    }
    Ok(Exit::Success)
}

pub fn logs(inv: &Invocation<'_>, args: LogsArgs) -> Result<Exit> {
    let ports = inv.ports();
    let registry = ports.registry_path().to_owned();
    let root = inv.ws.current_worktree().ok_or_else(|| Error::NotInWorktree { cwd: inv.ws.cwd.clone() })?.root.clone();
    let records = servers::Records::beside(&registry);
    let git_id = inv.ws.current_worktree().and_then(|w| w.git_id.clone());
    let name = inv.ws.worktree_name(&ports, None)?;
    let mut logs: Vec<(String, std::path::PathBuf)> =
        servers::logs_of(&records, &root, git_id.as_deref(), &name, &registry)
            .into_iter()
            .filter(|(s, _)| args.service.as_deref().is_none_or(|w| w == s))
            .collect();
    if logs.is_empty() {
        return Err(Error::InvalidArgument {
            what: "--service",
            value: args.service.unwrap_or_else(|| "(all)".to_owned()),
            reason: "no server of this worktree has a log: start one with `atlas-ports start`".to_owned(),
        });
    }
    logs.sort();
    let several = logs.len() > 1;
    let mut out = std::io::stdout().lock();
    let result = (|| -> std::io::Result<()> {
        if args.follow && several {
            return follow_all(&logs, &mut out);
        }
        for (service, log) in &logs {
            if several {
                use std::io::Write;
                writeln!(out, "==> {service}: {} <==", inv.ws.display(log))?;
            }
            servers::logs::copy(log, &mut out, args.follow, &|| false)?;
        }
        Ok(())
    })();
    match result {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(Exit::Success),
        Err(source) => Err(Error::System { action: "print the logs", source }),
        Ok(()) => Ok(Exit::Success),
    }
}

/// Follows several logs at once, each line prefixed with its service.
fn follow_all(logs: &[(String, std::path::PathBuf)], out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
    for (service, log) in logs {
        let (tx, log, prefix) = (tx.clone(), log.clone(), format!("{service} | "));
        std::thread::spawn(move || {
            let mut lines = servers::logs::LinePrefixer::new(prefix, tx);
            let _ = servers::logs::copy(&log, &mut lines, true, &|| false);
        });
    }
    drop(tx);
    for chunk in rx {
        out.write_all(&chunk)?;
        out.flush()?;
    }
    Ok(())
}
