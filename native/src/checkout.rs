//! `atlas-ports checkout`: a service's canonical port (declared in atlas-ports.toml) is
//! recorded as held by one worktree, and a running atlas-ports server forwards it there.
//!
//! A process that is not an atlas-ports server listening on the canonical port is never
//! displaced: the checkout is refused naming it, and nothing is recorded.

use crate::checkouts::{Checkouts, Forwarded, Forwarders};
use crate::{SystemClock, Workspace, lifecycle};
use atlas_ports_core::checkout::{Checkout, Recorded};
use atlas_ports_core::report::{CheckoutRelease, CheckoutReport, CheckoutState, PortHolder};
use atlas_ports_core::{Allocation, Clock as _, Error, Result, printable};
use std::path::Path;
use std::time::{Duration, Instant};

/// How long `checkout` waits for a running server to forward the port.
pub const FORWARD_WAIT: Duration = Duration::from_secs(3);

/// What [`check_out`] found about forwarding, beside its report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Forwarding {
    /// A running server forwards the port to the worktree now.
    Confirmed,
    /// No atlas-ports server runs for the registry: nothing forwards until one does.
    NoServer,
    /// A server runs but did not take the port within the wait (`why`, when it said).
    NotYet(Option<String>),
}

/// Checks out the canonical port of `service` for the worktree named `worktree` (else the one
/// worked in), then waits up to `wait` for a running server to forward it.
pub fn check_out(
    ws: &Workspace,
    registry: Option<&Path>,
    service: &str,
    worktree: Option<&str>,
    wait: Duration,
) -> Result<(CheckoutReport, Forwarding)> {
    atlas_ports_core::validate::service_name(service)?;
    let (project, _) = lifecycle::project(ws)?;
    let declared = project.services.iter().find(|s| s.name == service).ok_or_else(|| Error::InvalidArgument {
        what: "service",
        value: service.to_owned(),
        reason: format!(
            "{} declares no such service (declared: {})",
            ws.display(project.path()),
            project.services.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", ")
        ),
    })?;
    let port = declared.canonical.ok_or_else(|| Error::InvalidArgument {
        what: "service",
        value: service.to_owned(),
        reason: format!(
            "[services.{service}] in {} declares no canonical port: add canonical = PORT (the port to forward, e.g. 3000)",
            ws.display(project.path())
        ),
    })?;
    let ports = ws.ports(registry);
    let reg = ports.load()?;
    project.check_canonical(&reg)?;
    if let Some(holder) = reg.allocations.iter().find(|a| a.port == port) {
        return Err(Error::InvalidArgument {
            what: "canonical port",
            value: port.to_string(),
            reason: format!(
                "is allocated to '{}' of worktree '{}' (since before it was a canonical port); `atlas-ports up` or `atlas-ports ensure --service {}` in that worktree moves it to another port (or release it: `atlas-ports release {port} --worktree {}`), then check out again",
                printable(&holder.service),
                printable(&holder.worktree),
                printable(&holder.service),
                printable(&holder.worktree)
            ),
        });
    }
    let name = ws.worktree_name(&ports, worktree)?;
    let allocation = reg.allocations.iter().find(|a| a.service == service && a.worktree == name).ok_or_else(|| {
        Error::InvalidArgument {
            what: "worktree",
            value: name.clone(),
            reason: format!(
                "holds no port for '{service}', so there is nothing to forward :{port} to: run `atlas-ports up` (or `atlas-ports ensure --service {service}`) in it first"
            ),
        }
    })?;
    let target_port = allocation.port;
    let registry_path = ports.registry_path().to_owned();
    let forwarders = Forwarders::beside(&registry_path);
    let running = forwarders.running();
    if let Some(holder) = foreign_holder(port, &running.iter().map(|f| f.pid).collect::<Vec<_>>()) {
        return Err(Error::InvalidArgument {
            what: "canonical port",
            value: port.to_string(),
            reason: format!(
                "{} listens on it and is not an atlas-ports server: it is left alone and nothing was recorded; stop it, then check out again",
                holder.label()
            ),
        });
    }
    let (path, git_id) = match ws.folder() {
        Some(f) if reg.name_of(&f) == name => (Some(f.path.to_owned()), f.git.worktree_id.map(str::to_owned)),
        _ => (None, None),
    };
    // Every refusal is behind: the registry records the canonical port (as `up` does), so no
    // worktree is allocated it from now on, and then the checkout is recorded.
    ports.declare(&project, &[service])?;
    let checkout = Checkout { port, worktree: name.clone(), path, git_id, since: SystemClock.now().to_string() };
    let checkouts = Checkouts::beside(&registry_path, crate::NativeHost::from_env()?.fs.lock_timeout());
    let recorded = checkouts.update(|file| {
        let r = file.check_out(service, checkout);
        let changed = r != Recorded::Already;
        Ok((r, changed))
    })?;
    let moved_from = match recorded {
        Recorded::MovedFrom(w) => Some(w),
        _ => None,
    };
    let forwarding =
        if running.is_empty() { Forwarding::NoServer } else { wait_forwarded(&forwarders, service, port, &name, wait) };
    let report = CheckoutReport {
        service: service.to_owned(),
        port,
        worktree: name,
        target_port,
        moved_from,
        forwarding: forwarding == Forwarding::Confirmed,
    };
    Ok((report, forwarding))
}

/// Waits up to `wait` until a running server for the registry at `registry` says it forwards
/// `service`'s canonical `port` to `worktree`: after [`check_out`] found no server and one was
/// started.
pub fn await_forwarding(registry: &Path, service: &str, port: u16, worktree: &str, wait: Duration) -> Forwarding {
    wait_forwarded(&Forwarders::beside(registry), service, port, worktree, wait)
}

/// Waits until a running server says it forwards `port` to `worktree`.
fn wait_forwarded(forwarders: &Forwarders, service: &str, port: u16, worktree: &str, wait: Duration) -> Forwarding {
    let deadline = Instant::now() + wait;
    let wanted = Forwarded { port, worktree: worktree.to_owned() };
    loop {
        let running = forwarders.running();
        if running.iter().any(|f| f.forwarding.get(service) == Some(&wanted)) {
            return Forwarding::Confirmed;
        }
        if running.is_empty() {
            return Forwarding::NoServer;
        }
        if Instant::now() >= deadline {
            return Forwarding::NotYet(running.iter().find_map(|f| f.blocked.get(service).cloned()));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The process listening on `port` when it is not one of the atlas-ports servers `ours`.
fn foreign_holder(port: u16, ours: &[u32]) -> Option<PortHolder> {
    let listener = crate::platform::find_listeners(&[port]).remove(&port).unwrap_or_default();
    match listener.pid {
        Some(pid) if ours.contains(&pid) => None,
        Some(pid) => Some(PortHolder { pid: Some(pid), process: listener.process }),
        // Nobody we can name: someone, if the port cannot be bound.
        None if !atlas_ports_core::Probe::is_free(&crate::SystemProbe, port) => {
            Some(PortHolder { pid: None, process: None })
        }
        None => None,
    }
}

/// Gives back the canonical ports the worktree named `worktree` (else the one worked in)
/// holds, of `service` only when given. Another worktree's checkout is never touched.
pub fn release(
    ws: &Workspace,
    registry: Option<&Path>,
    service: Option<&str>,
    worktree: Option<&str>,
) -> Result<CheckoutRelease> {
    if let Some(s) = service {
        atlas_ports_core::validate::service_name(s)?;
    }
    let ports = ws.ports(registry);
    let name = ws.worktree_name(&ports, worktree)?;
    let checkouts = Checkouts::beside(ports.registry_path(), crate::NativeHost::from_env()?.fs.lock_timeout());
    let released = checkouts.update(|file| {
        let released = file.release(&name, service);
        let changed = !released.is_empty();
        Ok((released, changed))
    })?;
    // Back once no running server forwards them any more (within the wait): the ports are
    // then free for whoever wants them.
    let forwarders = Forwarders::beside(ports.registry_path());
    let deadline = Instant::now() + FORWARD_WAIT;
    while !released.is_empty()
        && Instant::now() < deadline
        && forwarders.running().iter().any(|f| {
            released
                .iter()
                .any(|(s, c)| f.forwarding.get(s).is_some_and(|w| w.port == c.port && w.worktree == c.worktree))
        })
    {
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(CheckoutRelease { worktree: name, released: released.into_iter().map(|(s, c)| (s, c.port)).collect() })
}

/// Who holds each canonical port of the registry at `registry`, with the holder's port in
/// `allocations` and any foreign process in the way.
pub fn states(registry: &Path, allocations: &[Allocation]) -> Result<Vec<CheckoutState>> {
    let file = Checkouts::beside(registry, crate::DEFAULT_LOCK_TIMEOUT).read()?;
    if file.checkouts.is_empty() {
        return Ok(Vec::new());
    }
    let ours: Vec<u32> = Forwarders::beside(registry).running().iter().map(|f| f.pid).collect();
    let canonical: Vec<u16> = file.checkouts.values().map(|c| c.port).collect();
    let mut listeners = crate::platform::find_listeners(&canonical);
    Ok(file
        .checkouts
        .into_iter()
        .map(|(service, c)| {
            let listener = listeners.remove(&c.port).unwrap_or_default();
            let blocked_by = match listener.pid {
                Some(pid) if !ours.contains(&pid) => Some(PortHolder { pid: Some(pid), process: listener.process }),
                _ => None,
            };
            CheckoutState {
                target_port: allocations
                    .iter()
                    .find(|a| a.service == service && a.worktree == c.worktree)
                    .map(|a| a.port),
                service,
                port: c.port,
                worktree: c.worktree,
                path: c.path,
                since: c.since,
                blocked_by,
            }
        })
        .collect())
}
