//! `atlas-ports wait --service S [--worktree W] [--timeout 60s]`: until the service is ready.

use super::{Exit, Invocation};
use crate::args::WaitArgs;
use crate::output;
use atlas_ports_core::Result;
use atlas_ports_core::report::Readiness;
use atlas_ports_native::readiness;

pub fn run(inv: &Invocation<'_>, args: WaitArgs) -> Result<Exit> {
    let json = inv.json()?;
    let r = readiness::wait(inv.ws, inv.registry(), &args.service, args.worktree.as_deref(), args.timeout, &|| false)?;
    if json {
        output::json(&r)?;
    } else if r.ready {
        output::text(&format!("{}\n", text(&r)))?;
    } else {
        output::note(&format!("atlas-ports: {}", text(&r)));
    }
    Ok(if r.ready { Exit::Success } else { Exit::No })
}

/// `web of worktree 'x' is ready on port 8080 (HTTP 200 from GET /)`, or why it is not.
pub fn text(r: &Readiness) -> String {
    let what = format!("{} of worktree '{}'", r.service, r.worktree);
    match (r.ready, r.port) {
        (true, Some(port)) => format!("{what} is ready on port {port} ({})", r.reason),
        (_, Some(port)) => format!("{what} (port {port}) is not ready after {} ms: {}", r.waited_ms, r.reason),
        (_, None) => format!("{what} is not ready after {} ms: {}", r.waited_ms, r.reason),
    }
}
