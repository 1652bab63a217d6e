//! `atlas-ports conflicts`: the report CI can gate on.

use super::Exit;
use crate::args::{ConflictsArgs, Format};
use crate::context::Context;
use crate::native::SystemHealthProbe;
use crate::output;
use atlas_ports_core::{Result, report};

pub fn run(ctx: &Context, args: ConflictsArgs) -> Result<Exit> {
    let found = ctx.ports(args.registry.registry.as_deref()).conflicts(&SystemHealthProbe::default())?;
    match args.format.format {
        Format::Json => output::json(&serde_json::json!({
            "registry_conflicts": found.registry,
            "system_conflicts": found.system,
            "mismatches": found.mismatches,
            "problems": found.problems,
            "summary": {
                "conflicts": found.conflict_count(),
                "mismatches": found.mismatches.len(),
                "problems": found.problems.len(),
            },
        }))?,
        Format::Text => output::text(&report::conflicts(&found))?,
    }
    Ok(if found.has_conflicts() { Exit::No } else { Exit::Success })
}
