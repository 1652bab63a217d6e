//! `atlas-ports env`: a worktree's ports as environment variables.

use super::{Exit, Invocation};
use crate::args::{EnvArgs, OutputFormat};
use crate::output;
use atlas_ports_core::{Result, env_export};

pub fn run(inv: &Invocation<'_>, args: EnvArgs) -> Result<Exit> {
    let format = inv.env_format()?;
    let ports = inv.ports();
    let worktree = inv.ws.worktree_name(&ports, args.worktree.as_deref())?;
    let allocations = ports.list(Some(&worktree))?;
    let (vars, shadowed) = env_export::port_variables(&allocations)?;
    for warning in shadowed {
        output::note(&format!("atlas-ports: warning: {warning}"));
    }
    if vars.is_empty() {
        output::note(&format!("atlas-ports: no ports allocated to worktree '{worktree}'"));
    }
    match format {
        OutputFormat::Sh => output::text(&env_export::shell(&vars, &worktree))?,
        OutputFormat::Json => output::json(&env_export::json(&vars))?,
        OutputFormat::Dotenv | OutputFormat::Text => output::text(&env_export::dotenv(&vars))?,
    }
    Ok(Exit::Success)
}
