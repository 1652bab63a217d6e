//! `atlas-ports prune [--dry-run]`: stop the servers of worktrees that are gone (those provably
//! theirs), then release their ports.

use super::{Exit, Invocation};
use crate::args::PruneArgs;
use crate::output;
use atlas_ports_core::Result;
use atlas_ports_native::lifecycle;

pub fn run(inv: &Invocation<'_>, args: PruneArgs) -> Result<Exit> {
    let json = inv.json()?;
    let report = lifecycle::prune_stopping(inv.ws, inv.registry(), args.grace, args.dry_run)?;
    if json {
        output::json(&report)?
    } else {
        output::text(&report.text(&inv.ws.display(inv.ports().registry_path())))?
    }
    Ok(Exit::Success)
}
