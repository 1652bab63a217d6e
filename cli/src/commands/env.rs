//! `atlas-ports env`: a worktree's ports as environment variables.

use super::Exit;
use crate::args::{EnvArgs, EnvFormat};
use crate::context::Context;
use crate::output;
use atlas_ports_core::{Result, env_export};

pub fn run(ctx: &Context, args: EnvArgs) -> Result<Exit> {
    let (worktree, _) = ctx.worktree(args.worktree.as_deref())?;
    let allocations = ctx.ports(args.registry.registry.as_deref()).list(Some(&worktree))?;
    let (vars, shadowed) = env_export::port_variables(&allocations);
    for warning in shadowed {
        output::note(&format!("atlas-ports: warning: {warning}"));
    }
    if vars.is_empty() {
        output::note(&format!("atlas-ports: no ports allocated to worktree '{worktree}'"));
    }
    match args.format {
        EnvFormat::Dotenv => output::text(&env_export::dotenv(&vars))?,
        EnvFormat::Sh => output::text(&env_export::shell(&vars, &worktree))?,
        EnvFormat::Json => output::json(&env_export::json(&vars))?,
    }
    Ok(Exit::Success)
}
