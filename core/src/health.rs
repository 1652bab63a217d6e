//! Levels 2 and 3 of the probes as data: what to ask each port, what the host
//! observed, and whose server it is. The host does the network I/O
//! ([`crate::host::HealthProbe`]); the
//! core decides what the observations mean, so every front end judges alike.

use crate::registry::{Allocation, HealthStatus, PortRange};
use serde::Serialize;
use std::path::Path;

/// How a port's service is asked whether it is up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ProbeKind {
    /// HTTP GET of `path`; any 2xx or 3xx answer is healthy.
    Http { path: String },
    /// The PostgreSQL SSL request (a server answers `S` or `N`); a MySQL/MariaDB greeting
    /// counts too.
    Database,
    /// Redis `PING` answered by `+PONG`, or by an authentication error (still Redis).
    Redis,
    /// A TCP connect.
    Tcp,
}

impl ProbeKind {
    /// The probe for a service: web, api and testing speak HTTP, database PostgreSQL or
    /// MySQL, cache Redis, everything else TCP. A range may override it with the extra members
    /// `"probe": "http" | "database" | "redis" | "tcp"` and `"health_path": "/healthz"`.
    pub fn for_service(service: &str, range: Option<&PortRange>) -> ProbeKind {
        let extra = |key: &str| range.and_then(|r| r.extra(key)).and_then(|v| v.as_str()).map(str::to_owned);
        let path = extra("health_path").unwrap_or_else(|| "/".to_owned());
        let declared = extra("probe");
        match declared.as_deref().unwrap_or(service) {
            "http" | "web" | "api" | "testing" => ProbeKind::Http { path },
            "database" | "postgres" | "postgresql" | "mysql" => ProbeKind::Database,
            "redis" | "cache" => ProbeKind::Redis,
            _ if range.and_then(|r| r.extra("health_path")).is_some() => ProbeKind::Http { path },
            _ => ProbeKind::Tcp,
        }
    }
}

/// One port to probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeTarget {
    pub port: u16,
    pub kind: ProbeKind,
}

/// The process listening on a port, as far as the host could tell.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Listener {
    pub pid: Option<u32>,
    /// The process name (`postgres`, `node`).
    pub process: Option<String>,
    /// The process's working folder, for telling whose server it is.
    pub cwd: Option<String>,
    /// The root of the git worktree that folder is in, when the host could tell: a server in
    /// a worktree nested inside another (`repo/.worktrees/x`) belongs to the nested one.
    #[serde(skip)]
    pub worktree_root: Option<String>,
}

/// What the host saw on one port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Observation {
    /// Nothing listens when `None`.
    pub listener: Option<Listener>,
    /// Healthy or not, and the detail (`HTTP 200 from GET /`, `no HTTP answer within 1 s`).
    pub healthy: bool,
    pub detail: String,
}

impl Observation {
    /// Nothing accepted a connection.
    pub fn not_listening() -> Observation {
        Observation { listener: None, healthy: false, detail: "nothing listens".to_owned() }
    }

    /// The health status this observation means.
    pub fn status(&self) -> HealthStatus {
        match (&self.listener, self.healthy) {
            (None, _) => HealthStatus::NotRunning,
            (Some(_), true) => HealthStatus::Healthy,
            (Some(_), false) => HealthStatus::Unhealthy,
        }
    }
}

/// Whose server listens on an allocated port, and how that was decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "owner", content = "reason")]
pub enum Ownership {
    /// The worktree's own server: healthy, not a conflict.
    Own(String),
    /// Another process: a system conflict.
    Foreign(String),
    /// Could not be told: not reported as a conflict.
    Unknown(String),
}

/// Processes that listen for a container, whose working folder says nothing about the owner.
const CONTAINER_PROXIES: &[&str] =
    &["docker-proxy", "rootlessport", "rootlesskit", "com.docker.backend", "vpnkit", "slirp4netns", "conmon", "pasta"];

/// Decides whether the listener on `a`'s port is the worktree's own server: its working folder
/// must lie inside the worktree's recorded folder.
pub fn ownership(a: &Allocation, listener: &Listener) -> Ownership {
    let Some(pid) = listener.pid else {
        return Ownership::Unknown("the listening process could not be identified".into());
    };
    let name = listener.process.as_deref().unwrap_or("?");
    if CONTAINER_PROXIES.contains(&name) {
        return Ownership::Unknown(format!("PID {pid} ({name}) is a container proxy; the container is not inspected"));
    }
    let Some(worktree) = a.worktree_path.as_deref() else {
        return Ownership::Unknown(format!("no folder is recorded for worktree '{}'", a.worktree));
    };
    match listener.cwd.as_deref() {
        None => Ownership::Unknown(format!("the working folder of PID {pid} ({name}) cannot be read")),
        Some(cwd) if Path::new(cwd).starts_with(worktree) => match listener.worktree_root.as_deref() {
            Some(root) if Path::new(root) != Path::new(worktree) && Path::new(root).starts_with(worktree) => {
                Ownership::Foreign(format!(
                    "PID {pid} ({name}) works in {cwd}, in the worktree {root} nested inside the worktree {worktree}"
                ))
            }
            _ => Ownership::Own(format!("PID {pid} ({name}) works in {cwd}, inside the worktree")),
        },
        Some(cwd) => Ownership::Foreign(format!("PID {pid} ({name}) works in {cwd}, outside the worktree {worktree}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{AllocateRequest, Registry};

    fn alloc(path: Option<&str>) -> Allocation {
        let mut reg = Registry::with_default_ranges("t");
        let new = AllocateRequest { worktree_path: path, ..AllocateRequest::new("web", "w") };
        reg.allocate(&new, "t", "", &mut |_| true).unwrap().clone()
    }

    fn listener(pid: Option<u32>, process: &str, cwd: Option<&str>) -> Listener {
        Listener { pid, process: Some(process.into()), cwd: cwd.map(Into::into), worktree_root: None }
    }

    #[test]
    fn probe_kinds_by_service_and_override() {
        let http = |p: &str| ProbeKind::Http { path: p.into() };
        assert_eq!(ProbeKind::for_service("web", None), http("/"));
        assert_eq!(ProbeKind::for_service("api", None), http("/"));
        assert_eq!(ProbeKind::for_service("testing", None), http("/"));
        assert_eq!(ProbeKind::for_service("database", None), ProbeKind::Database);
        assert_eq!(ProbeKind::for_service("cache", None), ProbeKind::Redis);
        assert_eq!(ProbeKind::for_service("debug", None), ProbeKind::Tcp);
        assert_eq!(ProbeKind::for_service("grpc", None), ProbeKind::Tcp);
        let reg = Registry::from_json(
            r#"{"ranges": {"web": {"start": 1, "end": 2, "health_path": "/healthz"},
                           "admin": {"start": 3, "end": 4, "health_path": "/up"},
                           "pg": {"start": 5, "end": 6, "probe": "database"},
                           "web-raw": {"start": 7, "end": 8, "probe": "tcp"}}, "allocations": []}"#,
        )
        .unwrap();
        let kind = |s: &str| ProbeKind::for_service(s, reg.ranges.get(s));
        assert_eq!(kind("web"), http("/healthz"));
        assert_eq!(kind("admin"), http("/up"));
        assert_eq!(kind("pg"), ProbeKind::Database);
        assert_eq!(kind("web-raw"), ProbeKind::Tcp);
    }

    #[test]
    fn ownership_is_decided_by_working_folder_and_says_how() {
        let a = alloc(Some("/src/wt"));
        assert!(
            matches!(ownership(&a, &listener(Some(7), "node", Some("/src/wt/app"))), Ownership::Own(r) if r.contains("inside"))
        );
        assert!(matches!(ownership(&a, &listener(Some(7), "node", Some("/src/wt"))), Ownership::Own(_)));
        assert!(
            matches!(ownership(&a, &listener(Some(7), "node", Some("/src/wt-other"))), Ownership::Foreign(r) if r.contains("outside the worktree /src/wt"))
        );
        assert!(
            matches!(ownership(&a, &listener(Some(7), "docker-proxy", Some("/"))), Ownership::Unknown(r) if r.contains("container proxy"))
        );
        assert!(matches!(ownership(&a, &listener(None, "x", None)), Ownership::Unknown(_)));
        assert!(
            matches!(ownership(&a, &listener(Some(7), "x", None)), Ownership::Unknown(r) if r.contains("cannot be read"))
        );
        assert!(
            matches!(ownership(&alloc(None), &listener(Some(7), "x", Some("/"))), Ownership::Unknown(r) if r.contains("no folder"))
        );
    }

    #[test]
    fn a_server_in_a_worktree_nested_inside_another_is_not_the_outer_ones() {
        let outer = alloc(Some("/src/repo"));
        let in_nested = Listener {
            worktree_root: Some("/src/repo/.worktrees/x".into()),
            ..listener(Some(7), "node", Some("/src/repo/.worktrees/x/app"))
        };
        assert!(
            matches!(ownership(&outer, &in_nested), Ownership::Foreign(r) if r.contains("in the worktree /src/repo/.worktrees/x nested inside the worktree /src/repo")),
            "{:?}",
            ownership(&outer, &in_nested)
        );
        let in_outer =
            Listener { worktree_root: Some("/src/repo".into()), ..listener(Some(7), "node", Some("/src/repo/app")) };
        assert!(matches!(ownership(&outer, &in_outer), Ownership::Own(_)));
        let nested = alloc(Some("/src/repo/.worktrees/x"));
        assert!(matches!(ownership(&nested, &in_nested), Ownership::Own(_)), "the nested worktree's own server");
    }
}
