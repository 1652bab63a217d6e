//! What `allocate`, `ensure`, `release`, `next`, `check`, `list`, `init` and `prune` answer: their
//! output types and texts. Where the `port_allocate.py` script of the reference design prints
//! something, the text is its output byte for byte.

use crate::ports::Availability;
use crate::registry::{Allocation, NextPort, PortRange};
use indexmap::IndexMap;
use serde::Serialize;
use std::fmt::Write;

/// What `release` answers: the allocations it removed (none when the port was not allocated).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReleaseReport {
    pub released: Vec<Allocation>,
}

/// What `init` answers: the registry it wrote and its ranges.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InitReport {
    /// The registry's path, as shown to the user.
    pub registry: String,
    pub ranges: IndexMap<String, PortRange>,
}

/// What `prune` answers: the allocations it released (or, on a dry run, would release).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PruneReport {
    pub dry_run: bool,
    pub released: Vec<Allocation>,
    /// The servers of gone worktrees that were stopped first (or, on a dry run, would be), and
    /// those found and left alone: one report per worktree that had any.
    pub servers: Vec<crate::report::StopReport>,
}

/// Why a port is not available.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unavailable {
    /// Held in the registry.
    Allocated,
    /// Not in the registry, but busy on the system.
    InUse,
    /// A canonical port (see `canonical_of`): never allocated.
    Canonical,
}

/// What `check` answers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckReport {
    pub port: u16,
    pub available: bool,
    /// Why not, when not available.
    pub reason: Option<Unavailable>,
    /// The allocations holding the port.
    pub allocations: Vec<Allocation>,
    /// The service whose canonical port it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub canonical_of: Option<String>,
}

impl CheckReport {
    /// The report of `check_available(port)`.
    pub fn new(port: u16, answer: Availability) -> CheckReport {
        let (reason, allocations, canonical_of) = match answer {
            Availability::Available => (None, Vec::new(), None),
            Availability::Allocated(holders) => (Some(Unavailable::Allocated), holders, None),
            Availability::InUse => (Some(Unavailable::InUse), Vec::new(), None),
            Availability::Canonical(service) => (Some(Unavailable::Canonical), Vec::new(), Some(service)),
        };
        CheckReport { port, available: reason.is_none(), reason, allocations, canonical_of }
    }

    /// One line: available, in use, or one line per allocation holding it.
    pub fn text(&self) -> String {
        let port = self.port;
        match self.reason {
            None => format!("Port {port} is available\n"),
            Some(Unavailable::InUse) => format!("Port {port} is not allocated but is in use on this system\n"),
            Some(Unavailable::Canonical) => format!(
                "Port {port} is the canonical port of '{}': no worktree is allocated it (`atlas-ports checkout {}` forwards it to one)\n",
                self.canonical_of.as_deref().unwrap_or_default(),
                self.canonical_of.as_deref().unwrap_or_default()
            ),
            Some(Unavailable::Allocated) => self
                .allocations
                .iter()
                .map(|a| format!("Port {port} is allocated to worktree '{}' ({})\n", a.worktree, a.service))
                .collect(),
        }
    }
}

impl InitReport {
    /// `Created port registry: PATH` and one line per range.
    pub fn text(&self) -> String {
        let mut s = format!("Created port registry: {}\n", self.registry);
        for (name, r) in &self.ranges {
            let _ = writeln!(s, "  {name}: {}-{}", r.start, r.end);
        }
        s
    }
}

impl PruneReport {
    /// What was (or would be) released and why; `registry` is shown when the file changed.
    pub fn text(&self, registry: &str) -> String {
        let mut text: String = self.servers.iter().map(crate::report::StopReport::text).collect();
        text.push_str("Pruning allocations of worktrees that are gone\n");
        for a in &self.released {
            let path = a.worktree_path.as_deref().unwrap_or_default();
            let _ = writeln!(text, "  {} → {} ({}): {path} is gone", a.port, a.worktree, a.service);
        }
        let n = self.released.len();
        let ports_word = if n == 1 { "port" } else { "ports" };
        if n == 0 {
            text.push_str("Nothing to prune\n");
        } else if self.dry_run {
            let _ = writeln!(text, "Would release {n} {ports_word} (dry run: the registry is unchanged)");
        } else {
            let _ = writeln!(text, "Released {n} {ports_word}\nRegistry updated: {registry}");
        }
        text
    }
}

/// `release --worktree W --all`: what was released, or that nothing was.
pub fn worktree_released(worktree: &str, released: &[Allocation], registry: &str) -> String {
    if released.is_empty() {
        return format!("Releasing all ports of worktree '{worktree}'\nNo ports were allocated to '{worktree}'\n");
    }
    let list: Vec<String> = released.iter().map(|a| format!("{} ({})", a.port, a.service)).collect();
    format!(
        "Releasing all ports of worktree '{worktree}'\nReleased {} port{}: {}\nRegistry updated: {registry}\n",
        released.len(),
        if released.len() == 1 { "" } else { "s" },
        list.join(", ")
    )
}

/// `allocate` (`port_allocate.py --service …`): the four lines and the two start hints.
pub fn allocated(a: &Allocation, registry: &str) -> String {
    format!(
        "Allocating port for service '{service}' in worktree '{worktree}'\n\
         Found available port: {port}\n\
         Registry updated: {registry}\n\
         Allocated port: {port}\n\
         \n\
         You can start your service with:\n  \
         npm start -- --port {port}\n  \
         python manage.py runserver 0.0.0.0:{port}\n",
        service = a.service,
        worktree = a.worktree,
        port = a.port,
    )
}

/// `ensure` when the worktree already held the port: nothing was written, and one line says so
/// (no "Allocated port", which would read as a second allocation).
pub fn already_held(a: &Allocation) -> String {
    format!(
        "Port {port} is already allocated to service '{service}' in worktree '{worktree}' (kept; nothing changed)\n",
        port = a.port,
        service = a.service,
        worktree = a.worktree,
    )
}

/// `release PORT` (`port_allocate.py --release PORT`): three lines, or two when nothing was
/// allocated.
pub fn released(port: u16, released: bool, registry: &str) -> String {
    if released {
        format!("Releasing port {port}\nPort {port} released successfully\nRegistry updated: {registry}\n")
    } else {
        format!("Releasing port {port}\nPort {port} was not allocated\n")
    }
}

/// `next` (`port_allocate.py --find-next SERVICE`): three lines.
pub fn next_port(n: &NextPort) -> String {
    let port = n.port.map_or_else(|| "none (every port is allocated or in use)".to_owned(), |p| p.to_string());
    let allocated = if n.allocated.is_empty() {
        "none".to_owned()
    } else {
        n.allocated.iter().map(u16::to_string).collect::<Vec<_>>().join(", ")
    };
    format!(
        "Next available port in '{}' range: {port}\nRange: {}-{}\nCurrently allocated: {allocated}\n",
        n.service, n.start, n.end
    )
}

/// `list`: one line an allocation, as the reference design's `list_allocated_ports` prints them.
pub fn allocation_lines(allocations: &[Allocation]) -> String {
    let mut out = String::new();
    for a in allocations {
        let _ = writeln!(out, "Port {} ({}): {}", a.port, a.service, a.description);
    }
    out
}

/// `list --all`: the allocations grouped by worktree, in order of first appearance, each line
/// as [`allocation_lines`] prints it.
pub fn allocation_lines_by_worktree(allocations: &[Allocation]) -> String {
    let mut worktrees: Vec<&str> = Vec::new();
    for a in allocations {
        if !worktrees.contains(&a.worktree.as_str()) {
            worktrees.push(&a.worktree);
        }
    }
    let mut out = String::new();
    for w in worktrees {
        let _ = writeln!(out, "Worktree '{}':", crate::printable(w));
        for a in allocations.iter().filter(|a| a.worktree == w) {
            let _ = writeln!(
                out,
                "  Port {} ({}): {}",
                a.port,
                crate::printable(&a.service),
                crate::printable(&a.description)
            );
        }
    }
    out
}

/// Released allocations in one line: `8085 (web) of 'gone-1', 3001 (api) of 'gone-1'`.
pub fn released_list(released: &[Allocation]) -> String {
    let items: Vec<String> = released
        .iter()
        .map(|a| format!("{} ({}) of '{}'", a.port, crate::printable(&a.service), crate::printable(&a.worktree)))
        .collect();
    items.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{AllocateRequest, Registry};

    fn web_8080() -> Allocation {
        let mut reg = Registry::with_default_ranges("t");
        let new = AllocateRequest { description: "Frontend dev server", ..AllocateRequest::new("web", "review-GH-42") };
        reg.allocate(&new, "t", "u@h", &mut |_| true).unwrap().clone()
    }

    #[test]
    fn allocate_text_is_the_reference_scripts() {
        assert_eq!(
            allocated(&web_8080(), ".atlas/worktrees/ports.json"),
            "Allocating port for service 'web' in worktree 'review-GH-42'
Found available port: 8080
Registry updated: .atlas/worktrees/ports.json
Allocated port: 8080

You can start your service with:
  npm start -- --port 8080
  python manage.py runserver 0.0.0.0:8080
"
        );
    }

    #[test]
    fn release_and_find_next_texts_are_the_reference_scripts() {
        assert_eq!(
            released(8080, true, ".atlas/worktrees/ports.json"),
            "Releasing port 8080\nPort 8080 released successfully\nRegistry updated: .atlas/worktrees/ports.json\n"
        );
        assert_eq!(released(8080, false, "x"), "Releasing port 8080\nPort 8080 was not allocated\n");
        let n =
            NextPort { service: "web".into(), port: Some(8082), start: 8080, end: 8099, allocated: vec![8080, 8081] };
        assert_eq!(
            next_port(&n),
            "Next available port in 'web' range: 8082\nRange: 8080-8099\nCurrently allocated: 8080, 8081\n"
        );
    }

    #[test]
    fn list_lines() {
        assert_eq!(allocation_lines(&[web_8080()]), "Port 8080 (web): Frontend dev server\n");
        let mut other = web_8080();
        other.worktree = "a-app".into();
        other.port = 8081;
        assert_eq!(
            allocation_lines_by_worktree(&[web_8080(), other.clone(), web_8080()]),
            "Worktree 'review-GH-42':\n  Port 8080 (web): Frontend dev server\n  Port 8080 (web): Frontend dev server\n\
             Worktree 'a-app':\n  Port 8081 (web): Frontend dev server\n"
        );
    }
}
