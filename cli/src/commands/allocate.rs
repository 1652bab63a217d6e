//! `atlas-ports allocate` and `atlas-ports ensure`.

use super::{Exit, Invocation};
use crate::args::AllocateArgs;
use crate::output;
use atlas_ports_core::{AllocateRequest, Allocation, Result, report};
use atlas_ports_native::{OwnedGitIdentity, SystemHealthProbe};

pub fn allocate(inv: &Invocation<'_>, args: AllocateArgs) -> Result<Exit> {
    let json = inv.json()?;
    let (worktree, path) = inv.ws.worktree(args.worktree.as_deref())?;
    let ports = inv.ports();
    let git = inv.ws.git_identity(&worktree);
    let a = ports.allocate(&request(&args, &worktree, path.as_deref(), git.as_ref()))?;
    super::note_created(inv, &ports);
    print(&args, json, &a, || report::allocated(&a, &inv.ws.display(ports.registry_path())))
}

pub fn ensure(inv: &Invocation<'_>, args: AllocateArgs) -> Result<Exit> {
    let json = inv.json()?;
    let (worktree, path) = inv.ws.worktree(args.worktree.as_deref())?;
    let ports = inv.ports();
    let git = inv.ws.git_identity(&worktree);
    let req = request(&args, &worktree, path.as_deref(), git.as_ref());
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

fn request<'a>(
    args: &'a AllocateArgs,
    worktree: &'a str,
    path: Option<&'a str>,
    git: Option<&'a OwnedGitIdentity>,
) -> AllocateRequest<'a> {
    AllocateRequest {
        service: &args.service,
        worktree,
        description: &args.description,
        worktree_path: path,
        preferred: None,
        exclude: &[],
        git: git.map(OwnedGitIdentity::identity),
    }
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
