//! `atlas-ports checkout SERVICE [--worktree W]`, `checkout --release [SERVICE]` and
//! `checkout --list`: which worktree a service's canonical port forwards to.

use super::{Exit, Invocation};
use crate::args::CheckoutArgs;
use crate::output;
use atlas_ports_core::Result;
use atlas_ports_core::report::checkout_lines;
use atlas_ports_native::checkout::{self, FORWARD_WAIT, Forwarding};
use atlas_ports_native::proxy::{self, StartOutcome};

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
    let (mut report, mut forwarding) =
        checkout::check_out(inv.ws, inv.registry(), &service, args.worktree.as_deref(), FORWARD_WAIT)?;
    let port = report.port;
    // Nothing forwards without a server: the background proxy is started, as `proxy start` does.
    let mut trouble = None;
    let mut waited = FORWARD_WAIT;
    if forwarding == Forwarding::NoServer && !args.no_start {
        match start_proxy(inv) {
            Ok(started) => {
                output::note(&started);
                let registry = proxy::absolute(inv.ports().registry_path(), &inv.ws.cwd);
                // A server just started reads the checkouts on its first tick: it gets longer.
                waited = FORWARD_WAIT * 3;
                forwarding = checkout::await_forwarding(&registry, &service, port, &report.worktree, waited);
                report.forwarding = forwarding == Forwarding::Confirmed;
            }
            Err(why) => trouble = Some(why),
        }
    }
    if json {
        output::json(&report)?;
    } else {
        output::text(&report.text())?;
    }
    match forwarding {
        Forwarding::Confirmed => Ok(Exit::Success),
        Forwarding::NoServer => {
            output::note(&atlas_ports_core::printable(&match trouble {
                Some(why) => format!(
                    "atlas-ports: warning: recorded, but nothing forwards :{port}: the background proxy did not start: {why}"
                ),
                None => format!(
                    "atlas-ports: warning: recorded, but no atlas-ports server runs for this registry, so nothing forwards :{port} until one does: `atlas-ports proxy start` (or `atlas-ports dashboard`)"
                ),
            }));
            Ok(Exit::No)
        }
        Forwarding::NotYet(why) => {
            let why = why.map_or_else(String::new, |w| format!(": {w}"));
            output::note(&atlas_ports_core::printable(&format!(
                "atlas-ports: warning: recorded, but the running atlas-ports server did not take :{port} within {} s{why}",
                waited.as_secs()
            )));
            Ok(Exit::No)
        }
    }
}

/// Starts the background proxy on its configured port, as `atlas-ports proxy start` does: the
/// line saying so, or why it did not start.
fn start_proxy(inv: &Invocation<'_>) -> std::result::Result<String, String> {
    let port = proxy::configured_port(inv.ws, None).map_err(|e| e.to_string())?;
    let this = inv.this().map_err(|e| e.to_string())?;
    let registry = proxy::absolute(inv.ports().registry_path(), &inv.ws.cwd);
    match proxy::start(&this, &inv.ws.cwd, &registry, port, PROXY_TIMEOUT).map_err(|e| e.to_string())? {
        StartOutcome::Started(r) | StartOutcome::AlreadyRunning(r) => Ok(format!(
            "atlas-ports: started the background proxy (pid {}) on http://127.0.0.1:{}/ to forward it; `atlas-ports proxy stop` ends it",
            r.pid, r.port
        )),
        StartOutcome::Failed { reason, .. } => {
            Err(format!("{reason} (its log: {})", inv.ws.display(&proxy::log_path(&registry))))
        }
    }
}

/// The proxy's `--proxy-timeout` when checkout starts it: `proxy start`'s default.
const PROXY_TIMEOUT: u64 = 60;
