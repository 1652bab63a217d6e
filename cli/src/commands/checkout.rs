//! `atlas-ports checkout SERVICE [--worktree W]`, `checkout --release [SERVICE]` and
//! `checkout --list`: which worktree a service's canonical port forwards to.

use super::{Exit, Invocation};
use crate::args::CheckoutArgs;
use crate::output;
use atlas_ports_core::Result;
use atlas_ports_core::report::checkout_lines;
use atlas_ports_native::checkout::{self, FORWARD_WAIT, Forwarding};

pub fn run(inv: &Invocation<'_>, args: CheckoutArgs) -> Result<Exit> {
    let json = inv.json()?;
    if args.list {
        let ports = inv.ports();
        let states = checkout::states(ports.registry_path(), &ports.list(None)?)?;
        if json {
            output::json(&states)?;
        } else {
            output::text(&checkout_lines(&states))?;
        }
        return Ok(Exit::Success);
    }
    if args.release {
        let report = checkout::release(inv.ws, inv.registry(), args.service.as_deref(), args.worktree.as_deref())?;
        if json {
            output::json(&report)?;
        } else {
            output::text(&report.text())?;
        }
        return Ok(Exit::Success);
    }
    let service = args.service.expect("clap requires SERVICE without --release or --list");
    let (report, forwarding) =
        checkout::check_out(inv.ws, inv.registry(), &service, args.worktree.as_deref(), FORWARD_WAIT)?;
    if json {
        output::json(&report)?;
    } else {
        output::text(&report.text())?;
    }
    let port = report.port;
    match forwarding {
        Forwarding::Confirmed => Ok(Exit::Success),
        Forwarding::NoServer => {
            output::note(&format!(
                "atlas-ports: warning: recorded, but no atlas-ports server runs for this registry, so nothing forwards :{port} until one does: start `atlas-ports dashboard`"
            ));
            Ok(Exit::No)
        }
        Forwarding::NotYet(why) => {
            let why = why.map_or_else(String::new, |w| format!(": {w}"));
            output::note(&atlas_ports_core::printable(&format!(
                "atlas-ports: warning: recorded, but the running atlas-ports server did not take :{port} within {} s{why}",
                FORWARD_WAIT.as_secs()
            )));
            Ok(Exit::No)
        }
    }
}
