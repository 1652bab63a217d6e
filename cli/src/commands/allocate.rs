//! `atlas-ports allocate` and `atlas-ports ensure`.

use super::Exit;
use crate::args::{AllocateArgs, Format};
use crate::context::Context;
use crate::output;
use atlas_ports_core::{AllocateRequest, Allocation, Result, report};

pub fn allocate(ctx: &Context, args: AllocateArgs) -> Result<Exit> {
    let (worktree, path) = ctx.worktree(args.worktree.as_deref())?;
    let ports = ctx.ports(args.registry.registry.as_deref());
    let a = ports.allocate(&request(&args, &worktree, path.as_deref()))?;
    print(&args, &a, || report::allocated(&a, &ctx.display(ports.registry_path())))
}

pub fn ensure(ctx: &Context, args: AllocateArgs) -> Result<Exit> {
    let (worktree, path) = ctx.worktree(args.worktree.as_deref())?;
    let ports = ctx.ports(args.registry.registry.as_deref());
    let ensured = ports.ensure(&request(&args, &worktree, path.as_deref()))?;
    let a = &ensured.allocation;
    if args.format.format == Format::Json && !args.quiet {
        output::json(&serde_json::json!({ "created": ensured.created, "allocation": a }))?;
        return Ok(Exit::Success);
    }
    print(&args, a, || {
        if ensured.created {
            report::allocated(a, &ctx.display(ports.registry_path()))
        } else {
            report::already_held(a)
        }
    })
}

fn request<'a>(args: &'a AllocateArgs, worktree: &'a str, path: Option<&'a str>) -> AllocateRequest<'a> {
    AllocateRequest { service: &args.service, worktree, description: &args.description, worktree_path: path }
}

fn print(args: &AllocateArgs, a: &Allocation, text: impl FnOnce() -> String) -> Result<Exit> {
    if args.quiet {
        output::text(&format!("{}\n", a.port))?;
    } else if args.format.format == Format::Json {
        output::json(a)?;
    } else {
        output::text(&text())?;
    }
    Ok(Exit::Success)
}
