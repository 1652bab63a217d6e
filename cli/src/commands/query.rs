//! The read-only commands: `next`, `check`, `list`. They never write the registry.

use super::Exit;
use crate::args::{CheckArgs, Format, ListArgs, NextArgs};
use crate::context::Context;
use crate::output;
use atlas_ports_core::{Availability, Result, report};

pub fn next(ctx: &Context, args: NextArgs) -> Result<Exit> {
    let next = ctx.ports(args.registry.registry.as_deref()).find_next(&args.service)?;
    match args.format.format {
        Format::Json => output::json(&serde_json::json!({
            "service": next.service,
            "port": next.port,
            "range": { "start": next.start, "end": next.end },
            "allocated": next.allocated,
        }))?,
        Format::Text => output::text(&report::next_port(&next))?,
    }
    Ok(if next.port.is_some() { Exit::Success } else { Exit::No })
}

pub fn check(ctx: &Context, args: CheckArgs) -> Result<Exit> {
    let port = args.port;
    let answer = ctx.ports(args.registry.registry.as_deref()).check_available(port)?;
    let (available, reason, holders) = match &answer {
        Availability::Available => (true, None, &[][..]),
        Availability::Allocated(holders) => (false, Some("allocated"), &holders[..]),
        Availability::InUse => (false, Some("in_use"), &[][..]),
    };
    match args.format.format {
        Format::Json => output::json(&serde_json::json!({
            "port": port, "available": available, "reason": reason, "allocations": holders,
        }))?,
        Format::Text => output::text(&match &answer {
            Availability::Available => format!("Port {port} is available\n"),
            Availability::InUse => {
                format!("Port {port} is not allocated but is in use on this system\n")
            }
            Availability::Allocated(holders) => holders
                .iter()
                .map(|a| format!("Port {port} is allocated to worktree '{}' ({})\n", a.worktree, a.service))
                .collect(),
        })?,
    }
    Ok(if available { Exit::Success } else { Exit::No })
}

pub fn list(ctx: &Context, args: ListArgs) -> Result<Exit> {
    let ports = ctx.ports(args.registry.registry.as_deref());
    let worktree = if args.all { None } else { Some(ctx.worktree(args.worktree.as_deref())?.0) };
    let allocations = ports.list(worktree.as_deref())?;
    match args.format.format {
        Format::Json => output::json(&allocations)?,
        Format::Text if allocations.is_empty() => match &worktree {
            Some(w) => output::note(&format!("No ports allocated to worktree '{w}'")),
            None => output::note("No ports allocated"),
        },
        Format::Text => output::text(&report::allocation_lines(&allocations))?,
    }
    Ok(Exit::Success)
}
