//! `atlas-ports prune [--dry-run]`: release the ports of worktrees that are gone.

use super::{Exit, Invocation};
use crate::args::PruneArgs;
use crate::output;
use atlas_ports_core::Result;
use atlas_ports_core::report::PruneReport;
use atlas_ports_native::GitFacts;

pub fn run(inv: &Invocation<'_>, args: PruneArgs) -> Result<Exit> {
    let json = inv.json()?;
    let ports = inv.ports();
    let facts = GitFacts::new(inv.ws.repository_root(ports.registry_path()).as_deref());
    let released = ports.prune(args.dry_run, &facts)?;
    let report = PruneReport { dry_run: args.dry_run, released };
    if json {
        output::json(&report)?
    } else {
        output::text(&report.text(&inv.ws.display(ports.registry_path())))?
    }
    Ok(Exit::Success)
}
