//! The seed's `port_allocate.py` outputs, byte for byte (see the seed's "Output" blocks).

use crate::registry::{Allocation, NextPort};
use std::fmt::Write;

/// `port_allocate.py --service …`: the four lines and the two start hints.
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

/// `ensure` when the worktree already held the port: nothing was written.
pub fn already_held(a: &Allocation) -> String {
    format!(
        "Port {port} is already allocated to service '{service}' in worktree '{worktree}'\n\
         Allocated port: {port}\n",
        port = a.port,
        service = a.service,
        worktree = a.worktree,
    )
}

/// `port_allocate.py --release PORT`: three lines, or two when nothing was allocated.
pub fn released(port: u16, released: bool, registry: &str) -> String {
    if released {
        format!("Releasing port {port}\nPort {port} released successfully\nRegistry updated: {registry}\n")
    } else {
        format!("Releasing port {port}\nPort {port} was not allocated\n")
    }
}

/// `port_allocate.py --find-next SERVICE`: three lines.
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

/// `list_allocated_ports`: one line an allocation, as the seed's example prints them.
pub fn allocation_lines(allocations: &[Allocation]) -> String {
    let mut out = String::new();
    for a in allocations {
        let _ = writeln!(out, "Port {} ({}): {}", a.port, a.service, a.description);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{NewAllocation, Registry};

    fn web_8080() -> Allocation {
        let mut reg = Registry::with_default_ranges("t");
        let new = NewAllocation {
            service: "web",
            worktree: "review-GH-42",
            description: "Frontend dev server",
            worktree_path: None,
        };
        reg.allocate(&new, "t", "u@h", &mut |_| true).unwrap().clone()
    }

    #[test]
    fn allocate_text_is_the_seeds() {
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
    fn release_and_find_next_texts_are_the_seeds() {
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
    }
}
