//! The operations over a host: validation, then the registry's pure operations inside the
//! store's locked read–modify–write. Every front end (CLI, Node, WebAssembly) calls these.

use crate::conflicts::{self, ConflictReport};
use crate::error::{Error, Result};
use crate::health::{Ownership, ProbeKind, ProbeTarget, ownership};
use crate::host::{HealthProbe, Host, WorktreeFacts};
use crate::registry::{AllocateRequest, Allocation, NextPort, Registry};
use crate::status::{self, AllocationState};
use crate::store::{Change, RegistryStore, Snapshot};
use crate::validate;
use std::path::Path;

/// The answer of `ensure`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Ensured {
    pub allocation: Allocation,
    /// False when the worktree already held a port for the service.
    pub created: bool,
    /// The port the worktree held before, when a foreign process had taken it and the
    /// allocation moved to a free one.
    pub moved_from: Option<u16>,
    /// Why a held port that is busy was kept although whose process holds it cannot be told.
    pub warning: Option<String>,
    /// The allocations of removed worktrees released to make room, when the range had no
    /// free port left ([`Ports::reclaiming`]).
    pub reclaimed: Vec<Allocation>,
}

impl Ensured {
    fn held(allocation: Allocation, warning: Option<String>) -> Ensured {
        Ensured { allocation, created: false, moved_from: None, warning, reclaimed: Vec::new() }
    }
}

/// The answer of `check_available`.
#[derive(Debug, Clone, PartialEq)]
pub enum Availability {
    /// Neither allocated nor busy.
    Available,
    /// Held in the registry by these allocations.
    Allocated(Vec<Allocation>),
    /// Not allocated, but something on the system holds it.
    InUse,
    /// Not allocated: the canonical port of this service, which no worktree is allocated.
    Canonical(String),
}

/// The registry at one path, operated through one host.
pub struct Ports<'h> {
    host: Host<'h>,
    store: RegistryStore<'h>,
    /// What tells that a worktree is gone, when a full range may reclaim its ports.
    reclaim: Option<Box<dyn WorktreeFacts + 'h>>,
    /// The registry as [`Ports::declare`] read it, for the `ensure` that follows: a held port
    /// is then answered from one read, not two.
    read: std::cell::RefCell<Option<Snapshot>>,
}

impl std::fmt::Debug for Ports<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ports").field("store", &self.store).field("reclaim", &self.reclaim.is_some()).finish()
    }
}

impl<'h> Ports<'h> {
    /// Operations on the registry at `registry`.
    pub fn new(host: Host<'h>, registry: impl Into<std::path::PathBuf>) -> Self {
        Ports { host, store: RegistryStore::new(host.fs, registry), reclaim: None, read: Default::default() }
    }

    /// Operations on a registry at a discovered location: while it does not exist, reads see
    /// the default registry with no allocations, and the first allocation creates it.
    pub fn creating(host: Host<'h>, registry: impl Into<std::path::PathBuf>) -> Self {
        Ports {
            host,
            store: RegistryStore::new(host.fs, registry).default_when_missing(),
            reclaim: None,
            read: Default::default(),
        }
    }

    /// When a range has no free port left, `allocate` and `ensure` first release the
    /// allocations of worktrees that `facts` prove gone (the judgement of [`Ports::prune`]),
    /// then try again; what they released is in the answer.
    pub fn reclaiming(mut self, facts: Box<dyn WorktreeFacts + 'h>) -> Self {
        self.reclaim = Some(facts);
        self
    }

    /// The registry file's path.
    pub fn registry_path(&self) -> &Path {
        self.store.path()
    }

    /// Whether an operation of this `Ports` created the registry file.
    pub fn created_registry(&self) -> bool {
        self.store.created()
    }

    /// Reads the registry as it is.
    pub fn load(&self) -> Result<Registry> {
        self.store.load()
    }

    /// Writes the default registry; refuses to replace an existing one unless `force`.
    pub fn init(&self, force: bool) -> Result<Registry> {
        let registry = Registry::with_default_ranges(&self.now());
        self.store.create(&registry, force)?;
        Ok(registry)
    }

    /// Changes the registry's ranges under the lock (read–modify–write, replaced atomically):
    /// `change` returns its answer and whether it changed anything. A refusal writes nothing.
    pub fn change_ranges<T>(&self, mut change: impl FnMut(&mut Registry) -> Result<(T, bool)>) -> Result<T> {
        self.store.update(&self.now(), |reg| change(reg))
    }

    /// Adds the ranges `project` declares that the registry lacks (the first use on a machine),
    /// under the lock; the other ranges stay as they are. A declaration the registry contradicts
    /// is refused and nothing is written. Takes no lock when there is nothing to add.
    /// `services` are the ones the caller goes on to use: one that neither the registry nor the
    /// file gives a range is refused first (`ERR_UNKNOWN_SERVICE`), with nothing written.
    pub fn declare(&self, project: &crate::project::ProjectFile, services: &[&str]) -> Result<bool> {
        if !project.declares_registry_entries() {
            return Ok(false);
        }
        let snapshot = self.store.snapshot()?;
        for &service in services {
            let declared = project.services.iter().any(|s| s.name == service && s.range.is_some());
            if !declared {
                validate::service_name(service)?;
                snapshot.registry.range_of(service)?;
            }
        }
        if !project.missing_registry_entries(&snapshot.registry)? {
            self.read.replace(Some(snapshot));
            return Ok(false);
        }
        self.store.update_from(Some(snapshot), &self.now(), |reg| {
            let added = project.declare(reg)?;
            Ok((added, added))
        })
    }

    /// The registry read without the lock: the one [`Ports::declare`] just read, else read now.
    fn snapshot(&self) -> Result<Snapshot> {
        match self.read.take() {
            Some(snapshot) => Ok(snapshot),
            None => self.store.snapshot(),
        }
    }

    /// Allocates the first free port of the service's range to the worktree.
    pub fn allocate(&self, req: &AllocateRequest<'_>) -> Result<Allocation> {
        self.allocate_details(req).map(|e| e.allocation)
    }

    /// [`Ports::allocate`], with what it reclaimed to make room.
    pub fn allocate_details(&self, req: &AllocateRequest<'_>) -> Result<Ensured> {
        // It reads the registry under the lock: a read kept for `ensure` is of no use.
        self.read.take();
        let new = checked(req)?;
        let (now, by) = (self.now(), self.host.identity.allocated_by());
        self.store.update(&now, |reg| {
            let mut name = String::new();
            let new = new.named(reg, &mut name);
            let followed = reg.follow(&new);
            let (a, reclaimed) = self.allocate_in(reg, &new, &now, &by, &mut |p| self.host.probe.is_free(p))?;
            let change = if followed || !reclaimed.is_empty() { Change::Rewritten } else { Change::Appended };
            Ok((Ensured { allocation: a, created: true, moved_from: None, warning: None, reclaimed }, change))
        })
    }

    /// Allocates in `reg`; when the range is full, reclaims the ports of removed worktrees
    /// (where this `Ports` may) and tries once more. Returns the allocation and what was
    /// reclaimed.
    fn allocate_in(
        &self,
        reg: &mut Registry,
        new: &AllocateRequest<'_>,
        now: &str,
        by: &str,
        is_free: &mut dyn FnMut(u16) -> bool,
    ) -> Result<(Allocation, Vec<Allocation>)> {
        let err = match reg.allocate(new, now, by, is_free) {
            Ok(a) => return Ok((a.clone(), Vec::new())),
            Err(err @ Error::RangeExhausted { .. }) => err,
            Err(err) => return Err(err),
        };
        let Some(facts) = &self.reclaim else { return Err(err) };
        let reclaimed = self.release_stale(reg, facts.as_ref());
        if reclaimed.is_empty() {
            return Err(err);
        }
        let a = reg.allocate(new, now, by, is_free)?.clone();
        Ok((a, reclaimed))
    }

    /// Removes the allocations [`crate::prune::is_stale`] judges gone and returns them.
    fn release_stale(&self, reg: &mut Registry, facts: &dyn WorktreeFacts) -> Vec<Allocation> {
        let (gone, kept): (Vec<Allocation>, Vec<Allocation>) =
            reg.allocations.drain(..).partition(|a| crate::prune::is_stale(a, facts, self.host.probe));
        reg.allocations = kept;
        gone
    }

    /// Returns the port the worktree already holds for the service, or allocates one. A port
    /// already held is answered from a read without the lock, and nothing is written.
    pub fn ensure(&self, req: &AllocateRequest<'_>) -> Result<Ensured> {
        let new = checked(req)?;
        self.ensure_from(self.snapshot()?, &new, None)
    }

    fn ensure_from(&self, snapshot: Snapshot, new: &AllocateRequest<'_>, warning: Option<String>) -> Result<Ensured> {
        let reg = &snapshot.registry;
        reg.range_of(new.service)?;
        let mut name = String::new();
        let named = new.named(reg, &mut name);
        if let Some(held) = reg.held(&named).filter(|h| !gives_up(reg, &named, h.port))
            && !reg.would_follow(&named)
        {
            return Ok(Ensured::held(held.clone(), warning));
        }
        let (now, by) = (self.now(), self.host.identity.allocated_by());
        self.store.update_from(Some(snapshot), &now, |reg| {
            reg.range_of(new.service)?;
            let mut name = String::new();
            let new = new.named(reg, &mut name);
            let followed = reg.follow(&new);
            // A held port the caller excludes is given up for another (it asked not to get it),
            // and so is a canonical port allocated before it was declared one.
            let excluded = reg.held(&new).filter(|h| gives_up(reg, &new, h.port)).map(|h| h.port);
            if let Some(held) = reg.held(&new).filter(|_| excluded.is_none()) {
                return Ok((Ensured::held(held.clone(), warning.clone()), Change::from(followed)));
            }
            let canonical = excluded.and_then(|p| Some((p, reg.canonical_for(p)?.to_owned())));
            if let Some(port) = excluded {
                reg.allocations.retain(|a| {
                    !(a.port == port
                        && Registry::belongs(a, new.worktree, new.folder.as_ref())
                        && a.service == new.service)
                });
            }
            let (a, reclaimed) = self.allocate_in(reg, &new, &now, &by, &mut |p| self.host.probe.is_free(p))?;
            let change = if followed || excluded.is_some() || !reclaimed.is_empty() {
                Change::Rewritten
            } else {
                Change::Appended
            };
            let warning = canonical.map(|(p, of)| {
                format!(
                    "port {p} of worktree '{}' ({}) is now the canonical port of '{of}', which no worktree is allocated; moved to {} (restart a server still on {p})",
                    a.worktree, a.service, a.port
                )
            });
            Ok((Ensured { allocation: a, created: true, moved_from: None, warning, reclaimed }, change))
        })
    }

    /// [`Ports::ensure`], handing out a port that can be used now: when the held port is busy,
    /// `health` tells whose process holds it. The worktree's own server keeps the port; a
    /// foreign process makes the allocation move to the next free port of the range
    /// (`moved_from`); when it cannot be told, the port is kept with a `warning`.
    pub fn ensure_usable(&self, req: &AllocateRequest<'_>, health: &dyn HealthProbe) -> Result<Ensured> {
        let new = checked(req)?;
        let mut warning = None;
        let mut taken = None;
        let snapshot = self.snapshot()?;
        let reg = &snapshot.registry;
        let mut name = String::new();
        let named = new.named(reg, &mut name);
        if let Some(held) = reg.held(&named).filter(|h| !self.host.probe.is_free(h.port)) {
            let kind = ProbeKind::for_service(&held.service, reg.ranges.get(held.service.as_str()));
            let seen = health.observe(&[ProbeTarget { port: held.port, kind }]).pop();
            match seen.and_then(|o| o.listener).map(|l| ownership(held, &l)) {
                Some(Ownership::Foreign(why)) => taken = Some((held.port, why)),
                Some(Ownership::Unknown(why)) => {
                    warning = Some(format!(
                        "port {} is in use and whose process holds it cannot be told ({why}); kept",
                        held.port
                    ))
                }
                Some(Ownership::Own(_)) | None => {}
            }
        }
        let Some((port, _)) = taken else {
            return self.ensure_from(snapshot, &new, warning);
        };
        let (now, by) = (self.now(), self.host.identity.allocated_by());
        self.store.update_from(Some(snapshot), &now, |reg| {
            let mut name = String::new();
            let new = new.named(reg, &mut name);
            let still_held = reg.held(&new).is_some_and(|h| h.port == port);
            let moved_from = if still_held {
                reg.allocations.retain(|a| {
                    !(a.port == port
                        && a.service == new.service
                        && Registry::belongs(a, new.worktree, new.folder.as_ref()))
                });
                Some(port)
            } else if let Some(held) = reg.held(&new) {
                // Another process moved it meanwhile.
                return Ok((Ensured::held(held.clone(), None), false));
            } else {
                None
            };
            let (a, reclaimed) =
                self.allocate_in(reg, &new, &now, &by, &mut |p| p != port && self.host.probe.is_free(p))?;
            Ok((Ensured { allocation: a, created: true, moved_from, warning: None, reclaimed }, true))
        })
    }

    /// Releases a port (only `worktree`'s allocation of it when given); returns what was removed.
    pub fn release(&self, port: u16, worktree: Option<&str>) -> Result<Vec<Allocation>> {
        checked_port(port)?;
        if let Some(w) = worktree {
            validate::worktree_id(w)?;
        }
        self.store.update(&self.now(), |reg| {
            let removed = reg.release(port, worktree);
            let changed = !removed.is_empty();
            Ok((removed, changed))
        })
    }

    /// Releases every port of a worktree; returns what was removed.
    pub fn release_worktree(&self, worktree: &str) -> Result<Vec<Allocation>> {
        validate::worktree_id(worktree)?;
        self.store.update(&self.now(), |reg| {
            let removed = reg.release_worktree(worktree);
            let changed = !removed.is_empty();
            Ok((removed, changed))
        })
    }

    /// Releases the allocations of worktrees that are gone (see [`crate::prune::is_stale`]);
    /// with `dry_run`, only reports them. Returns what was (or would be) released.
    pub fn prune(&self, dry_run: bool, facts: &dyn WorktreeFacts) -> Result<Vec<Allocation>> {
        let stale = |a: &Allocation| crate::prune::is_stale(a, facts, self.host.probe);
        if dry_run {
            return Ok(self.store.load()?.allocations.into_iter().filter(|a| stale(a)).collect());
        }
        self.store.update(&self.now(), |reg| {
            let gone = self.release_stale(reg, facts);
            let changed = !gone.is_empty();
            Ok((gone, changed))
        })
    }

    /// What a `prune` would release once the listeners on the ports `freed` says yes to are
    /// stopped: the dry run of a prune that stops servers first. Nothing is written.
    pub fn prune_preview(&self, facts: &dyn WorktreeFacts, freed: &dyn Fn(u16) -> bool) -> Result<Vec<Allocation>> {
        let stale =
            |a: &Allocation| crate::prune::is_gone(a, facts) && (freed(a.port) || self.host.probe.is_free(a.port));
        Ok(self.store.load()?.allocations.into_iter().filter(|a| stale(a)).collect())
    }

    /// The live state of the allocations (one worktree's, or all), probed through `health`.
    /// Read-only: nothing is stored.
    pub fn observe(
        &self,
        worktree: Option<&str>,
        health: &dyn HealthProbe,
    ) -> Result<(Registry, Vec<AllocationState>)> {
        if let Some(w) = worktree {
            validate::worktree_id(w)?;
        }
        let reg = self.store.load()?;
        let chosen = reg.allocations.iter().filter(|a| worktree.is_none_or(|w| a.worktree == w)).cloned().collect();
        let states = status::observe(&reg, chosen, health);
        Ok((reg, states))
    }

    /// Probes the allocations (outside the lock: probes take time), then stores each one's
    /// `health_status` and `process_id` under the lock. Returns the states.
    pub fn health_check(&self, worktree: Option<&str>, health: &dyn HealthProbe) -> Result<Vec<AllocationState>> {
        let (_, states) = self.observe(worktree, health)?;
        self.store.update(&self.now(), |reg| Ok(((), status::record(reg, &states))))?;
        Ok(states)
    }

    /// Every conflict: the registry's own, and what probing the allocated ports shows.
    pub fn conflicts(&self, health: &dyn HealthProbe) -> Result<ConflictReport> {
        let (reg, states) = self.observe(None, health)?;
        Ok(conflicts::detect(&reg, &states))
    }

    /// Whether a port could be allocated now: not in the registry, and free on the system.
    pub fn check_available(&self, port: u16) -> Result<Availability> {
        checked_port(port)?;
        let reg = self.store.load()?;
        let holders: Vec<Allocation> = reg.allocations.iter().filter(|a| a.port == port).cloned().collect();
        Ok(if !holders.is_empty() {
            Availability::Allocated(holders)
        } else if let Some(service) = reg.canonical_for(port) {
            Availability::Canonical(service.to_owned())
        } else if self.host.probe.is_free(port) {
            Availability::Available
        } else {
            Availability::InUse
        })
    }

    /// The allocations of one worktree, or all of them, as stored.
    pub fn list(&self, worktree: Option<&str>) -> Result<Vec<Allocation>> {
        if let Some(w) = worktree {
            validate::worktree_id(w)?;
        }
        let reg = self.store.load()?;
        Ok(match worktree {
            Some(w) => reg.allocations_of(w).cloned().collect(),
            None => reg.allocations,
        })
    }

    /// The port `allocate` would return now, without allocating.
    pub fn find_next(&self, service: &str) -> Result<NextPort> {
        validate::service_name(service)?;
        self.store.load()?.find_next(service, &mut |p| self.host.probe.is_free(p))
    }

    fn now(&self) -> String {
        self.host.clock.now().to_string()
    }
}

/// Whether the worktree gives up the port it holds: the caller excludes it, or it has become a
/// canonical port (see [`Registry::canonical_ports`]).
fn gives_up(reg: &Registry, req: &AllocateRequest<'_>, port: u16) -> bool {
    req.exclude.contains(&port) || reg.canonical_for(port).is_some()
}

fn checked<'a>(req: &AllocateRequest<'a>) -> Result<AllocateRequest<'a>> {
    for &p in req.exclude {
        checked_port(p)?;
    }
    Ok(AllocateRequest {
        service: validate::service_name(req.service)?,
        worktree: validate::worktree_id(req.worktree)?,
        description: validate::description(req.description)?,
        worktree_path: req.worktree_path,
        preferred: req.preferred.map(checked_port).transpose()?,
        exclude: req.exclude,
        git: req.git,
        folder: req.folder,
    })
}

fn checked_port(port: u16) -> Result<u16> {
    if port == 0 {
        return Err(Error::InvalidPort { value: "0".into() });
    }
    Ok(port)
}
