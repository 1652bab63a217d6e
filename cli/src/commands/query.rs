//! The read-only commands: `next`, `check`, `list`. They never write the registry.

use super::{Exit, Invocation};
use crate::args::{CheckArgs, ListArgs, NextArgs};
use crate::output;
use atlas_ports_core::report::CheckReport;
use atlas_ports_core::{Result, report};

pub fn next(inv: &Invocation<'_>, args: NextArgs) -> Result<Exit> {
    let json = inv.json()?;
    let next = inv.ports().find_next(&args.service)?;
    if json {
        output::json(&next)?
    } else {
        output::text(&report::next_port(&next))?
    }
    Ok(if next.port.is_some() { Exit::Success } else { Exit::No })
}

pub fn check(inv: &Invocation<'_>, args: CheckArgs) -> Result<Exit> {
    let json = inv.json()?;
    let report = CheckReport::new(args.port, inv.ports().check_available(args.port)?);
    if json {
        output::json(&report)?
    } else {
        output::text(&report.text())?
    }
    Ok(if report.available { Exit::Success } else { Exit::No })
}

pub fn list(inv: &Invocation<'_>, args: ListArgs) -> Result<Exit> {
    let json = inv.json()?;
    let ports = inv.ports();
    let worktree = if args.all { None } else { Some(inv.ws.worktree_name(&ports, args.worktree.as_deref())?) };
    let allocations = ports.list(worktree.as_deref())?;
    match (json, &worktree) {
        (true, _) => output::json(&allocations)?,
        (false, Some(w)) if allocations.is_empty() => output::note(&format!("No ports allocated to worktree '{w}'")),
        (false, None) if allocations.is_empty() => output::note("No ports allocated"),
        (false, Some(_)) => output::text(&report::allocation_lines(&allocations))?,
        (false, None) => output::text(&report::allocation_lines_by_worktree(&allocations))?,
    }
    Ok(Exit::Success)
}
