//! The reference design's algorithms as pure functions on a [`Registry`] held in memory. Whether a port is
//! busy on the system is asked through a callback, so the same code serves the native layer
//! (real sockets) and WebAssembly (busy ports passed in by the host).

use super::model::{Allocation, HealthStatus, PortRange, Registry};
use super::naming::WorktreeFolder;
use super::port_set::PortSet;
use crate::error::{Error, Result};

/// What `allocate` and `ensure` are asked for. [`crate::Ports`] validates it; the pure
/// operations here take it as given.
#[derive(Debug, Clone, Copy)]
pub struct AllocateRequest<'a> {
    pub service: &'a str,
    pub worktree: &'a str,
    pub description: &'a str,
    /// The worktree's folder, when known.
    pub worktree_path: Option<&'a str>,
    /// A port to take if it is in the range and free; otherwise the first free one is taken.
    pub preferred: Option<u16>,
    /// Ports never to hand out.
    pub exclude: &'a [u16],
    /// Who the worktree is to git, when the request comes from inside it.
    pub git: Option<GitIdentity<'a>>,
    /// Set when no name was given and the request comes from inside a worktree: the registry
    /// then decides the name ([`Registry::name_of`]) under the lock, and the folder and git
    /// identity recorded are the folder's. `worktree` is only a stand-in until then.
    pub folder: Option<WorktreeFolder<'a>>,
}

impl<'a> AllocateRequest<'a> {
    /// A request for `service` in `worktree` with everything else left out: no description, no
    /// folder, no preferred port, nothing excluded, not from inside git. Set the rest with
    /// struct update syntax: `AllocateRequest { preferred: Some(8085), ..AllocateRequest::new("web", "main") }`.
    pub fn new(service: &'a str, worktree: &'a str) -> AllocateRequest<'a> {
        AllocateRequest {
            service,
            worktree,
            description: "",
            worktree_path: None,
            preferred: None,
            exclude: &[],
            git: None,
            folder: None,
        }
    }

    /// The worktree in `folder`, named as the registry decides.
    pub fn in_folder(service: &'a str, folder: WorktreeFolder<'a>) -> AllocateRequest<'a> {
        AllocateRequest {
            worktree_path: Some(folder.path),
            git: Some(folder.git),
            folder: Some(folder),
            ..AllocateRequest::new(service, folder.name)
        }
    }

    /// This request under the name the registry gives its folder (as it is, when a name was
    /// given): what an operation under the lock works with.
    pub fn named<'b>(&self, registry: &Registry, name: &'b mut String) -> AllocateRequest<'b>
    where
        'a: 'b,
    {
        match &self.folder {
            Some(folder) => {
                *name = registry.name_of(folder);
                AllocateRequest { worktree: name.as_str(), ..*self }
            }
            None => *self,
        }
    }
}

/// A worktree as git knows it: its repository (the common git folder, absolute) and, for a
/// linked worktree, git's id of it, which stays the same when the worktree is moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GitIdentity<'a> {
    pub repository: &'a str,
    pub worktree_id: Option<&'a str>,
}

/// The answer of `find_next`: the port `allocate` would hand out now, and its context.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NextPort {
    pub service: String,
    /// `None` when every port of the range is allocated or busy.
    pub port: Option<u16>,
    pub start: u16,
    pub end: u16,
    /// Ports of the range held in the registry, ascending, each once.
    pub allocated: Vec<u16>,
}

impl Registry {
    /// The range of a service, or `UnknownService` naming the valid ones.
    pub fn range_of(&self, service: &str) -> Result<&PortRange> {
        self.ranges.get(service).ok_or_else(|| Error::UnknownService {
            service: service.to_owned(),
            valid: self.ranges.keys().cloned().collect(),
        })
    }

    /// The ports no allocation may take: every port any allocation holds, whatever its service
    /// (a port held by a stray entry is still never handed out twice), and every canonical port.
    pub(crate) fn unavailable_ports(&self) -> PortSet {
        self.allocations.iter().map(|a| a.port).chain(self.canonical_ports().map(|(p, _)| p)).collect()
    }

    /// First port of the service's range that no allocation holds and `is_free` accepts.
    pub fn find_next(&self, service: &str, is_free: &mut dyn FnMut(u16) -> bool) -> Result<NextPort> {
        let range = self.range_of(service)?;
        let taken = self.unavailable_ports();
        let port = (range.start..=range.end).find(|&p| !taken.contains(p) && is_free(p));
        let in_range: PortSet = self.allocations.iter().map(|a| a.port).filter(|&p| range.contains(p)).collect();
        Ok(NextPort {
            service: service.to_owned(),
            port,
            start: range.start,
            end: range.end,
            allocated: (range.start..=range.end).filter(|&p| in_range.contains(p)).collect(),
        })
    }

    /// Records a new allocation on the first free port of the service's range.
    pub fn allocate(
        &mut self,
        new: &AllocateRequest<'_>,
        allocated_at: &str,
        allocated_by: &str,
        is_free: &mut dyn FnMut(u16) -> bool,
    ) -> Result<&Allocation> {
        let range = self.range_of(new.service)?;
        let (start, end) = (range.start, range.end);
        let taken = self.unavailable_ports();
        let mut usable = |p: u16| !taken.contains(p) && !new.exclude.contains(&p) && is_free(p);
        let preferred = new.preferred.filter(|&p| (start..=end).contains(&p) && usable(p));
        let Some(port) = preferred.or_else(|| (start..=end).find(|&p| usable(p))) else {
            return Err(self.exhausted(new.service));
        };
        self.allocations.push(Allocation {
            port,
            worktree: new.worktree.into(),
            service: new.service.into(),
            allocated_at: allocated_at.into(),
            allocated_by: allocated_by.into(),
            description: new.description.into(),
            process_id: None,
            health_status: HealthStatus::Unknown,
            worktree_path: new.worktree_path.map(str::to_owned),
            repository: new.git.map(|g| g.repository.to_owned()),
            git_worktree: new.git.and_then(|g| g.worktree_id).map(str::to_owned),
            members: Default::default(),
        });
        Ok(self.allocations.last().expect("just pushed"))
    }

    /// Follows a linked worktree that git moved (`git worktree move`, or a plain `mv`): its
    /// allocations, recorded under git's id of it in this repository, take the request's
    /// worktree name and folder — each unless the worktree already holds that service under
    /// the new name. Returns whether anything changed.
    pub fn follow(&mut self, new: &AllocateRequest<'_>) -> bool {
        let moving = self.to_follow(new);
        for &i in &moving {
            let a = &mut self.allocations[i];
            a.worktree = new.worktree.into();
            if let Some(path) = new.worktree_path {
                a.worktree_path = Some(path.to_owned());
            }
        }
        !moving.is_empty()
    }

    /// Whether [`Registry::follow`] would change anything.
    pub fn would_follow(&self, new: &AllocateRequest<'_>) -> bool {
        !self.to_follow(new).is_empty()
    }

    fn to_follow(&self, new: &AllocateRequest<'_>) -> Vec<usize> {
        let mine = |a: &Allocation| match (&new.folder, new.git) {
            (Some(folder), _) => folder.made(a),
            (None, Some(GitIdentity { repository, worktree_id: Some(id) })) => {
                a.repository.as_deref() == Some(repository) && a.git_worktree.as_deref() == Some(id)
            }
            _ => false,
        };
        let mut moving = Vec::new();
        for (i, a) in self.allocations.iter().enumerate() {
            let same = mine(a);
            let renamed = a.worktree != new.worktree;
            let moved = renamed || (new.worktree_path.is_some() && a.worktree_path.as_deref() != new.worktree_path);
            let taken = || self.held(&AllocateRequest { service: &a.service, ..*new }).is_some();
            if same && moved && !(renamed && taken()) {
                moving.push(i);
            }
        }
        moving
    }

    /// The port this worktree already holds for this service (the first, if several).
    pub fn held_by(&self, service: &str, worktree: &str) -> Option<&Allocation> {
        self.allocations.iter().find(|a| a.service == service && a.worktree == worktree)
    }

    /// The port the request's worktree already holds for its service: under its name, and,
    /// for a worktree named by its folder, made by it (or by no one in particular).
    pub fn held(&self, req: &AllocateRequest<'_>) -> Option<&Allocation> {
        self.allocations
            .iter()
            .find(|a| a.service == req.service && Registry::belongs(a, req.worktree, req.folder.as_ref()))
    }

    /// The error for a range with no port left, naming who holds it and the ways out.
    fn exhausted(&self, service: &str) -> Error {
        let range = match self.range_of(service) {
            Ok(range) => range,
            Err(err) => return err,
        };
        let mut holders: Vec<(&str, Vec<u16>)> = Vec::new();
        for a in self.allocations.iter().filter(|a| range.contains(a.port)) {
            match holders.iter_mut().find(|(w, _)| *w == a.worktree.as_str()) {
                Some((_, ports)) => ports.push(a.port),
                None => holders.push((&a.worktree, vec![a.port])),
            }
        }
        Error::RangeExhausted {
            service: service.to_owned(),
            start: range.start,
            end: range.end,
            holders: holders.into_iter().map(|(w, ports)| (w.to_owned(), ports)).collect(),
            canonical: self
                .canonical_ports()
                .filter(|&(p, _)| range.contains(p))
                .map(|(p, s)| (p, s.to_owned()))
                .collect(),
        }
    }

    /// Removes the allocations of `port` (only `worktree`'s when given) and returns them.
    pub fn release(&mut self, port: u16, worktree: Option<&str>) -> Vec<Allocation> {
        self.remove_where(|a| a.port == port && worktree.is_none_or(|w| a.worktree == w))
    }

    /// Removes every allocation of a worktree and returns them.
    pub fn release_worktree(&mut self, worktree: &str) -> Vec<Allocation> {
        self.remove_where(|a| a.worktree == worktree)
    }

    /// The allocations of one worktree, as stored.
    pub fn allocations_of<'a>(&'a self, worktree: &'a str) -> impl Iterator<Item = &'a Allocation> + 'a {
        self.allocations.iter().filter(move |a| a.worktree == worktree)
    }

    /// Updates `metadata` before a write: the time and the allocation count.
    pub fn stamp(&mut self, now: &str) {
        self.metadata.last_updated = now.to_owned();
        self.metadata.total_allocations = self.allocations.len() as u64;
    }

    fn remove_where(&mut self, mut pred: impl FnMut(&Allocation) -> bool) -> Vec<Allocation> {
        let mut removed = Vec::new();
        let mut kept = Vec::with_capacity(self.allocations.len());
        for a in self.allocations.drain(..) {
            if pred(&a) { removed.push(a) } else { kept.push(a) }
        }
        self.allocations = kept;
        removed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: &str = "2025-12-31T10:00:00Z";

    fn all_free(_: u16) -> bool {
        true
    }

    #[test]
    fn allocate_takes_the_first_unallocated_port_of_the_range() {
        let mut reg = Registry::with_default_ranges(NOW);
        let p1 = reg.allocate(&AllocateRequest::new("web", "a"), NOW, "u@h", &mut all_free).unwrap().port;
        let p2 = reg.allocate(&AllocateRequest::new("web", "b"), NOW, "u@h", &mut all_free).unwrap().port;
        assert_eq!((p1, p2), (8080, 8081));
        reg.release(8080, None);
        assert_eq!(reg.allocate(&AllocateRequest::new("web", "c"), NOW, "u@h", &mut all_free).unwrap().port, 8080);
    }

    #[test]
    fn busy_ports_are_skipped_and_exhaustion_is_an_error() {
        let mut reg = Registry::with_default_ranges(NOW);
        let mut busy_5432 = |p: u16| p != 5432;
        assert_eq!(reg.allocate(&AllocateRequest::new("database", "a"), NOW, "", &mut busy_5432).unwrap().port, 5433);
        for _ in 0..6 {
            reg.allocate(&AllocateRequest::new("database", "a"), NOW, "", &mut busy_5432).unwrap();
        }
        let err = reg.allocate(&AllocateRequest::new("database", "a"), NOW, "", &mut busy_5432).unwrap_err();
        assert_eq!(err.code(), "ERR_RANGE_EXHAUSTED");
        assert!(err.to_string().contains("'database' range (5432-5439)"), "{err}");
        // The busy port was never allocated, so it is the only one left.
        assert_eq!(reg.find_next("database", &mut all_free).unwrap().port, Some(5432));
    }

    #[test]
    fn a_preferred_port_is_taken_when_it_can_be_and_excluded_ports_never() {
        let mut reg = Registry::with_default_ranges(NOW);
        let prefer = |p: u16| AllocateRequest { preferred: Some(p), ..AllocateRequest::new("web", "a") };
        assert_eq!(reg.allocate(&prefer(8085), NOW, "", &mut all_free).unwrap().port, 8085);
        assert_eq!(reg.allocate(&prefer(8085), NOW, "", &mut all_free).unwrap().port, 8080, "taken: the first free");
        assert_eq!(reg.allocate(&prefer(9999), NOW, "", &mut all_free).unwrap().port, 8081, "outside the range");
        let mut busy_8090 = |p: u16| p != 8090;
        assert_eq!(reg.allocate(&prefer(8090), NOW, "", &mut busy_8090).unwrap().port, 8082, "busy");
        let exclude = [8083, 8084];
        let skip = AllocateRequest { exclude: &exclude, ..AllocateRequest::new("web", "b") };
        assert_eq!(reg.allocate(&skip, NOW, "", &mut all_free).unwrap().port, 8086);
    }

    #[test]
    fn a_port_held_by_any_entry_is_never_handed_out() {
        let mut reg = Registry::with_default_ranges(NOW);
        // A stray entry of another service sits inside web's range.
        reg.allocate(&AllocateRequest::new("web", "a"), NOW, "", &mut all_free).unwrap();
        reg.allocations[0].service = "api".into();
        assert_eq!(reg.allocate(&AllocateRequest::new("web", "b"), NOW, "", &mut all_free).unwrap().port, 8081);
    }

    #[test]
    fn unknown_service_lists_the_valid_ones() {
        let reg = Registry::with_default_ranges(NOW);
        let err = reg.find_next("wbe", &mut all_free).unwrap_err();
        assert_eq!(err.to_string(), "unknown service 'wbe'; valid services: web, database, testing, debug, api, cache");
    }

    #[test]
    fn find_next_reports_range_and_allocated_ports_in_order() {
        let mut reg = Registry::with_default_ranges(NOW);
        for w in ["a", "b", "c"] {
            reg.allocate(&AllocateRequest::new("web", w), NOW, "", &mut all_free).unwrap();
        }
        reg.release(8081, None);
        let next = reg.find_next("web", &mut all_free).unwrap();
        assert_eq!(
            next,
            NextPort { service: "web".into(), port: Some(8081), start: 8080, end: 8099, allocated: vec![8080, 8082] }
        );
    }

    #[test]
    fn release_by_worktree_resolves_duplicates() {
        let mut reg = Registry::with_default_ranges(NOW);
        reg.allocate(&AllocateRequest::new("web", "a"), NOW, "", &mut all_free).unwrap();
        reg.allocate(&AllocateRequest::new("web", "b"), NOW, "", &mut all_free).unwrap();
        reg.allocations[1].port = 8080; // hand-made duplicate
        let removed = reg.release(8080, Some("b"));
        assert_eq!(removed.len(), 1);
        assert_eq!(reg.allocations.len(), 1);
        assert_eq!(reg.allocations[0].worktree, "a");
        assert!(reg.release(8080, Some("nobody")).is_empty());
        assert_eq!(reg.release(8080, None).len(), 1);
    }

    #[test]
    fn release_worktree_and_stamp() {
        let mut reg = Registry::with_default_ranges(NOW);
        for s in ["web", "api", "cache"] {
            reg.allocate(&AllocateRequest::new(s, "gone"), NOW, "", &mut all_free).unwrap();
        }
        reg.allocate(&AllocateRequest::new("web", "kept"), NOW, "", &mut all_free).unwrap();
        assert_eq!(reg.allocations_of("gone").count(), 3);
        assert_eq!(reg.release_worktree("gone").len(), 3);
        reg.stamp("2026-01-01T00:00:00Z");
        assert_eq!(reg.metadata.total_allocations, 1);
        assert_eq!(reg.metadata.last_updated, "2026-01-01T00:00:00Z");
        assert_eq!(reg.held_by("web", "kept").unwrap().port, 8081);
    }
}
