//! `atlas-ports allocate` and `atlas-ports ensure`.

use super::{Exit, Invocation};
use crate::args::AllocateArgs;
use crate::output;
use atlas_ports_core::{AllocateRequest, Allocation, Ports, Result, report};
use atlas_ports_native::SystemHealthProbe;

pub fn allocate(inv: &Invocation<'_>, args: AllocateArgs) -> Result<Exit> {
    let json = inv.json()?;
    let ports = inv.ports();
    let req = request(inv, &ports, &args)?;
    let ensured = ports.allocate_details(&req)?;
    super::note_created(inv, &ports);
    super::note_moved(&ensured);
    let a = &ensured.allocation;
    print(&args, json, a, || report::allocated(a, &inv.ws.display(ports.registry_path())))
}

pub fn ensure(inv: &Invocation<'_>, args: AllocateArgs) -> Result<Exit> {
    let json = inv.json()?;
    let ports = inv.ports();
    let req = request(inv, &ports, &args)?;
    let ensured = ports.ensure_usable(&req, &SystemHealthProbe::default())?;
    super::note_created(inv, &ports);
    super::note_moved(&ensured);
    if json && !args.quiet {
        output::json(&ensured)?;
        return Ok(Exit::Success);
    }
    let a = &ensured.allocation;
    print(&args, json, a, || {
        if ensured.created {
            report::allocated(a, &inv.ws.display(ports.registry_path()))
        } else {
            report::already_held(a)
        }
    })
}

/// The request, after the ranges the worktree's atlas-ports.toml declares were added.
fn request<'a>(inv: &'a Invocation<'_>, ports: &Ports<'_>, args: &'a AllocateArgs) -> Result<AllocateRequest<'a>> {
    atlas_ports_native::lifecycle::declare_ranges(inv.ws, ports, &[&args.service])?;
    let req = inv.ws.request(ports, &args.service, args.worktree.as_deref())?;
    Ok(AllocateRequest { description: &args.description, ..req })
}

fn print(args: &AllocateArgs, json: bool, a: &Allocation, text: impl FnOnce() -> String) -> Result<Exit> {
    if args.quiet {
        output::text(&format!("{}\n", a.port))?;
    } else if json {
        output::json(a)?;
    } else {
        output::text(&text())?;
    }
    Ok(Exit::Success)
}
