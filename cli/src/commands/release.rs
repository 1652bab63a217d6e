//! `atlas-ports release PORT [--worktree W]` and `release --worktree W --all`.

use super::{Exit, Invocation};
use crate::args::ReleaseArgs;
use crate::output;
use atlas_ports_core::report::ReleaseReport;
use atlas_ports_core::{Result, report};

pub fn run(inv: &Invocation<'_>, args: ReleaseArgs) -> Result<Exit> {
    let json = inv.json()?;
    let ports = inv.ports();
    let registry = inv.ws.display(ports.registry_path());
    let (released, text) = match (args.port, args.all, args.worktree.as_deref()) {
        (_, true, Some(worktree)) => {
            let released = ports.release_worktree(worktree)?;
            let text = report::worktree_released(worktree, &released, &registry);
            (released, text)
        }
        (Some(port), _, worktree) => {
            let released = ports.release(port, worktree)?;
            let text = report::released(port, !released.is_empty(), &registry);
            (released, text)
        }
        _ => unreachable!("clap requires a port or --worktree with --all"),
    };
    let exit = if released.is_empty() { Exit::No } else { Exit::Success };
    if json {
        output::json(&ReleaseReport { released })?
    } else {
        output::text(&text)?
    }
    Ok(exit)
}
