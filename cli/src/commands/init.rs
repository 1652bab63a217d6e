//! `atlas-ports init`.

use super::Exit;
use crate::args::{Format, InitArgs};
use crate::context::Context;
use crate::output;
use atlas_ports_core::Result;

pub fn run(ctx: &Context, args: InitArgs) -> Result<Exit> {
    let ports = ctx.ports(args.registry.registry.as_deref());
    let registry = ports.init(args.force)?;
    let path = ctx.display(ports.registry_path());
    match args.format.format {
        Format::Json => output::json(&serde_json::json!({ "registry": path, "ranges": &registry.ranges }))?,
        Format::Text => {
            let mut s = format!("Created port registry: {path}\n");
            for (name, r) in &registry.ranges {
                s += &format!("  {name}: {}-{}\n", r.start, r.end);
            }
            output::text(&s)?;
        }
    }
    Ok(Exit::Success)
}
