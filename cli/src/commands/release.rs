//! `atlas-ports release PORT [--worktree W]` and `release --worktree W --all`.

use super::Exit;
use crate::args::{Format, ReleaseArgs};
use crate::context::Context;
use crate::output;
use atlas_ports_core::{Result, report};

pub fn run(ctx: &Context, args: ReleaseArgs) -> Result<Exit> {
    let ports = ctx.ports(args.registry.registry.as_deref());
    let registry = ctx.display(ports.registry_path());
    let (removed, text) = match (args.port, args.all, args.worktree.as_deref()) {
        (_, true, Some(worktree)) => {
            let removed = ports.release_worktree(worktree)?;
            let text = if removed.is_empty() {
                format!("Releasing all ports of worktree '{worktree}'\nNo ports were allocated to '{worktree}'\n")
            } else {
                let list: Vec<String> = removed.iter().map(|a| format!("{} ({})", a.port, a.service)).collect();
                format!(
                    "Releasing all ports of worktree '{worktree}'\nReleased {} port{}: {}\nRegistry updated: {registry}\n",
                    removed.len(),
                    if removed.len() == 1 { "" } else { "s" },
                    list.join(", ")
                )
            };
            (removed, text)
        }
        (Some(port), _, worktree) => {
            let removed = ports.release(port, worktree)?;
            let text = report::released(port, !removed.is_empty(), &registry);
            (removed, text)
        }
        _ => unreachable!("clap requires a port or --worktree with --all"),
    };
    match args.format.format {
        Format::Json => output::json(&serde_json::json!({ "released": removed }))?,
        Format::Text => output::text(&text)?,
    }
    Ok(if removed.is_empty() { Exit::No } else { Exit::Success })
}
