//! `atlas-ports up` and `atlas-ports down`: the services of atlas-ports.toml for this worktree.

use super::{Exit, Invocation};
use crate::output;
use atlas_ports_core::Result;
use atlas_ports_native::lifecycle;

pub fn up(inv: &Invocation<'_>) -> Result<Exit> {
    let json = inv.json()?;
    let (report, created) = lifecycle::up(inv.ws, inv.registry())?;
    if created {
        output::note(&format!(
            "atlas-ports: created the port registry {} with the default ranges (edit it to change them)",
            inv.ws.display(inv.ws.ports(inv.registry()).registry_path())
        ));
    }
    note_moves(&report);
    if json {
        output::json(&report)?
    } else {
        output::text(&report.text())?
    }
    Ok(Exit::Success)
}

/// Says on stderr which ports moved (a foreign process had taken one, or it became a canonical
/// port) and what else the user should know about them: for `up` and `start`.
pub fn note_moves(report: &atlas_ports_core::report::UpReport) {
    for s in report.services.iter().filter(|s| s.moved_from.is_some()) {
        output::note(&format!(
            "atlas-ports: port {} of worktree '{}' ({}) is taken by another process; moved to {}",
            s.moved_from.unwrap_or_default(),
            report.worktree,
            s.service,
            s.port
        ));
    }
    for w in report.services.iter().filter_map(|s| s.warning.as_deref()) {
        output::note(&format!("atlas-ports: warning: {w}"));
    }
}

/// Stops the worktree's servers, then releases its ports and removes the env file.
pub fn down(inv: &Invocation<'_>, args: crate::args::DownArgs) -> Result<Exit> {
    let json = inv.json()?;
    let report = lifecycle::down_stopping(inv.ws, inv.registry(), args.grace)?;
    if json {
        output::json(&report)?
    } else {
        output::text(&report.text())?
    }
    Ok(Exit::Success)
}
