//! What `checkout`, `checkout --list`, `status` and the dashboard say about canonical ports.

use serde::Serialize;

/// Who holds one canonical port, and what is seen on it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckoutState {
    pub service: String,
    /// The canonical port.
    pub port: u16,
    /// The worktree that holds it.
    pub worktree: String,
    /// That worktree's folder, when recorded.
    pub path: Option<String>,
    pub since: String,
    /// The port the worktree's allocation of the service holds now, where connections go;
    /// `None` when it holds none (released since).
    pub target_port: Option<u16>,
    /// A process that is not an atlas-ports server listening on the canonical port: nothing
    /// forwards while it does.
    pub blocked_by: Option<PortHolder>,
}

/// A process listening on a port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortHolder {
    pub pid: Option<u32>,
    pub process: Option<String>,
}

impl PortHolder {
    /// `PID 123 (python3)`, or what is known of it.
    pub fn label(&self) -> String {
        super::listener_label(self.pid, self.process.as_deref()).unwrap_or_else(|| "a process".to_owned())
    }
}

impl CheckoutState {
    /// `canonical :3000 → web of pr-42 (port 8081)`, and why nothing forwards when it doesn't.
    pub fn line(&self) -> String {
        let target = match self.target_port {
            Some(p) => format!("port {p}"),
            None => "holds no port now".to_owned(),
        };
        let mut line = format!(
            "canonical :{} → {} of {} ({target})",
            self.port,
            crate::printable(&self.service),
            crate::printable(&self.worktree)
        );
        if let Some(holder) = &self.blocked_by {
            line.push_str(&format!(
                "; blocked: {} listens on :{}, not atlas-ports",
                crate::printable(&holder.label()),
                self.port
            ));
        }
        line
    }
}

/// `checkout --list`, and the `checkouts` of `status --format json`.
pub fn checkout_lines(states: &[CheckoutState]) -> String {
    if states.is_empty() {
        return "No canonical port is checked out.\n".to_owned();
    }
    states.iter().map(|s| s.line() + "\n").collect()
}

/// What `checkout SERVICE` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckoutReport {
    pub service: String,
    pub port: u16,
    pub worktree: String,
    /// The worktree's port of the service, where the canonical port forwards.
    pub target_port: u16,
    /// The worktree that held it before, when another did.
    pub moved_from: Option<String>,
    /// Whether a running atlas-ports server was seen forwarding it (within the wait).
    pub forwarding: bool,
}

impl CheckoutReport {
    pub fn text(&self) -> String {
        let mut text = format!(
            "canonical :{} → {} of {} (port {})",
            self.port,
            crate::printable(&self.service),
            crate::printable(&self.worktree),
            self.target_port
        );
        if let Some(from) = &self.moved_from {
            text.push_str(&format!(", moved from {}", crate::printable(from)));
        }
        text.push('\n');
        text
    }
}

/// What `checkout --release` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckoutRelease {
    pub worktree: String,
    /// The services whose canonical port it gave back, with the port.
    pub released: Vec<(String, u16)>,
}

impl CheckoutRelease {
    pub fn text(&self) -> String {
        if self.released.is_empty() {
            return format!("Worktree '{}' holds no canonical port.\n", crate::printable(&self.worktree));
        }
        self.released
            .iter()
            .map(|(s, p)| {
                format!("released canonical :{p} ({} of {})\n", crate::printable(s), crate::printable(&self.worktree))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_say_who_holds_and_who_blocks() {
        let mut s = CheckoutState {
            service: "web".into(),
            port: 3000,
            worktree: "pr-42".into(),
            path: None,
            since: "t".into(),
            target_port: Some(8081),
            blocked_by: None,
        };
        assert_eq!(s.line(), "canonical :3000 → web of pr-42 (port 8081)");
        s.blocked_by = Some(PortHolder { pid: Some(77), process: Some("python3".into()) });
        s.target_port = None;
        assert_eq!(
            s.line(),
            "canonical :3000 → web of pr-42 (holds no port now); blocked: PID 77 (python3) listens on :3000, not atlas-ports"
        );
        assert_eq!(checkout_lines(&[]), "No canonical port is checked out.\n");
        let r = CheckoutReport {
            service: "web".into(),
            port: 3000,
            worktree: "b".into(),
            target_port: 8082,
            moved_from: Some("a".into()),
            forwarding: true,
        };
        assert_eq!(r.text(), "canonical :3000 → web of b (port 8082), moved from a\n");
        let rel = CheckoutRelease { worktree: "a".into(), released: vec![("web".into(), 3000)] };
        assert_eq!(rel.text(), "released canonical :3000 (web of a)\n");
    }
}
