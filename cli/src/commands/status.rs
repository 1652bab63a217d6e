//! `atlas-ports status [--all | --worktree W] [--health-check [--verbose]]`.

use super::Exit;
use crate::args::{Format, StatusArgs};
use crate::context::Context;
use crate::native::SystemHealthProbe;
use crate::output;
use atlas_ports_core::{HealthStatus, Result, report, status};

pub fn run(ctx: &Context, args: StatusArgs) -> Result<Exit> {
    let ports = ctx.ports(args.registry.registry.as_deref());
    let probe = SystemHealthProbe::default();
    let json = args.format.format == Format::Json;
    if args.health_check {
        let states = ports.health_check(args.worktree.as_deref(), &probe)?;
        let all_healthy = states.iter().all(|s| s.status == HealthStatus::Healthy);
        let summary = status::summarize(&states);
        let worktrees = status::by_worktree(states);
        if json {
            output::json(&serde_json::json!({ "worktrees": worktrees, "summary": summary }))?;
        } else {
            output::text(&report::health(&worktrees, args.verbose))?;
        }
        return Ok(if all_healthy { Exit::Success } else { Exit::No });
    }
    let (registry, states) = ports.observe(args.worktree.as_deref(), &probe)?;
    match (&args.worktree, json) {
        (Some(w), false) => output::text(&report::status_worktree(w, &states))?,
        (Some(w), true) => {
            output::json(&serde_json::json!({ "worktree": w, "allocations": states, "total": states.len() }))?
        }
        (None, false) => output::text(&report::status_all(&status::by_range(&registry, states)))?,
        (None, true) => output::json(&status::by_range(&registry, states))?,
    }
    Ok(Exit::Success)
}
