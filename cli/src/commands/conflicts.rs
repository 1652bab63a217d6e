//! `atlas-ports conflicts`: the report CI can gate on.

use super::{Exit, Invocation};
use crate::output;
use atlas_ports_core::{Result, report};
use atlas_ports_native::SystemHealthProbe;

pub fn run(inv: &Invocation<'_>) -> Result<Exit> {
    let json = inv.json()?;
    let found = inv.ports().conflicts(&SystemHealthProbe::default())?;
    if json {
        output::json(&found)?;
    } else {
        output::text(&report::conflicts(&found))?;
    }
    Ok(if found.has_conflicts() { Exit::No } else { Exit::Success })
}
