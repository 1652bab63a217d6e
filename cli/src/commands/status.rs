//! `atlas-ports status [--all | --worktree W] [--health-check [--verbose] | --watch]`, and the
//! reports of `port_status.py`'s flag form.

use super::{Exit, Invocation};
use crate::args::StatusArgs;
use crate::output;
use atlas_ports_core::Probe as _;
use atlas_ports_core::report::{HealthReport, WorktreeReport};
use atlas_ports_core::{Result, report, status};
use atlas_ports_native::{SystemHealthProbe, SystemProbe, servers};

pub fn run(inv: &Invocation<'_>, args: StatusArgs) -> Result<Exit> {
    let json = inv.json()?;
    let ports = inv.ports();
    let probe = SystemHealthProbe::default();
    if args.health_check {
        let health = HealthReport::new(ports.health_check(args.worktree.as_deref(), &probe)?);
        match (json, args.reference) {
            (true, _) => output::json(&health)?,
            (false, true) => output::text(&report::health_block(&health, args.verbose))?,
            (false, false) => output::text(&report::health(&health, args.verbose))?,
        }
        return Ok(if health.all_healthy() { Exit::Success } else { Exit::No });
    }
    if args.watch {
        return super::watch::run(inv, &args, json);
    }
    output::text(&render(inv, &args, json)?)?;
    Ok(Exit::Success)
}

/// The status report as printed (health checks aside), in text or pretty JSON.
pub(super) fn render(inv: &Invocation<'_>, args: &StatusArgs, json: bool) -> Result<String> {
    let ports = inv.ports();
    let probe = SystemHealthProbe::default();
    let pretty = |v: &dyn erased::Json| v.pretty();
    Ok(match (&args.worktree, json) {
        // The reference design's scripts read this as an array of the allocations as stored
        // (`jq -r '.[].port'`): nothing is probed.
        (Some(w), true) if args.reference => pretty(&ports.list(Some(w))?),
        (Some(w), false) => report::status_worktree(w, &ports.observe(Some(w), &probe)?.1),
        (Some(w), true) => {
            let mut states = ports.observe(Some(w), &probe)?.1;
            servers::mark_started(ports.registry_path(), &mut states);
            pretty(&WorktreeReport::new(w, states))
        }
        (None, _) => {
            let (registry, mut states) = ports.observe(None, &probe)?;
            if json {
                servers::mark_started(ports.registry_path(), &mut states);
            }
            let checkouts = checkouts(ports.registry_path(), &registry.allocations);
            // Free means what `allocate` means: unallocated, and bindable now.
            let probe = SystemProbe;
            let report = status::by_range_probed(&registry, states, &|port| probe.is_free(port));
            match json {
                true => pretty(&WithCheckouts { report: &report, checkouts }),
                false if checkouts.is_empty() => report::status_all(&report),
                false => format!("{}\n{}", report::status_all(&report), report::checkout_lines(&checkouts)),
            }
        }
    })
}

/// The status report with the canonical ports checked out, when there are any.
#[derive(serde::Serialize)]
struct WithCheckouts<'a, T: serde::Serialize> {
    #[serde(flatten)]
    report: &'a T,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    checkouts: Vec<report::CheckoutState>,
}

/// Who holds each canonical port; a checkouts file that cannot be read is said on stderr, and
/// the rest of the status is still shown.
fn checkouts(registry: &std::path::Path, allocations: &[atlas_ports_core::Allocation]) -> Vec<report::CheckoutState> {
    atlas_ports_native::checkout::states(registry, allocations).unwrap_or_else(|e| {
        output::note(&atlas_ports_core::printable(&format!("atlas-ports: warning: canonical ports: {e}")));
        Vec::new()
    })
}

/// Pretty JSON text with a final newline, for any report.
mod erased {
    pub trait Json {
        fn pretty(&self) -> String;
    }
    impl<T: serde::Serialize> Json for T {
        fn pretty(&self) -> String {
            let mut s = serde_json::to_string_pretty(self).expect("reports serialise to JSON");
            s.push('\n');
            s
        }
    }
}
