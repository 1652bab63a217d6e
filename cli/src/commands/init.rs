//! `atlas-ports init`.

use super::{Exit, Invocation};
use crate::args::InitArgs;
use crate::output;
use atlas_ports_core::Result;
use atlas_ports_core::report::InitReport;

pub fn run(inv: &Invocation<'_>, args: InitArgs) -> Result<Exit> {
    let json = inv.json()?;
    let ports = inv.ports();
    let registry = ports.init(args.force)?;
    let report = InitReport { registry: inv.ws.display(ports.registry_path()), ranges: registry.ranges };
    if json {
        output::json(&report)?
    } else {
        output::text(&report.text())?
    }
    Ok(Exit::Success)
}
