//! `atlas-ports prune [--dry-run]`: stop the servers of worktrees that are gone (those provably
//! theirs), then release their ports.

use super::{Exit, Invocation};
use crate::args::PruneArgs;
use crate::output;
use atlas_ports_core::Result;
use atlas_ports_core::report::PruneReport;
use atlas_ports_native::GitFacts;

/// What `prune --format json` prints: the prune report, and the servers of gone worktrees that
/// were stopped (or would be) and left alone.
#[derive(serde::Serialize)]
struct Pruned<'a> {
    #[serde(flatten)]
    report: &'a PruneReport,
    servers: &'a [atlas_ports_core::report::StopReport],
}

pub fn run(inv: &Invocation<'_>, args: PruneArgs) -> Result<Exit> {
    let json = inv.json()?;
    let ports = inv.ports();
    let facts = GitFacts::new(inv.ws.repository_root(ports.registry_path()).as_deref());
    let servers = atlas_ports_native::servers::reap(inv.ws, inv.registry(), args.grace, args.dry_run)?;
    let released = if args.dry_run {
        // The ports the servers to stop listen on would be free once they are stopped.
        let freed: Vec<u16> = servers.iter().flat_map(|r| &r.stopped).filter_map(|p| p.port).collect();
        ports.prune_preview(&facts, &|port| freed.contains(&port))?
    } else {
        ports.prune(false, &facts)?
    };
    let report = PruneReport { dry_run: args.dry_run, released };
    if json {
        output::json(&Pruned { report: &report, servers: &servers })?
    } else {
        let mut text = String::new();
        for s in &servers {
            text.push_str(&s.text());
        }
        text.push_str(&report.text(&inv.ws.display(ports.registry_path())));
        output::text(&text)?
    }
    Ok(Exit::Success)
}
