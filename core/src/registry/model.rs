//! The registry's data model: service ranges, allocations and metadata. Each object
//! also carries the members we do not know, so nothing another tool wrote is lost.

use super::members::Members;
use compact_str::CompactString;
use indexmap::IndexMap;
use serde_json::Value;

/// Version string `init` writes into `metadata.version`.
pub const REGISTRY_VERSION: &str = "1.0.0";
/// Schema version `init` writes into `metadata.schema_version`.
pub const SCHEMA_VERSION: u64 = 1;

/// The whole registry file.
#[derive(Debug, Clone, PartialEq)]
pub struct Registry {
    /// Service name → inclusive port range, in file order.
    pub ranges: IndexMap<String, PortRange>,
    /// Every allocation, in file order.
    pub allocations: Vec<Allocation>,
    /// Bookkeeping rewritten on every write.
    pub metadata: Metadata,
    pub(crate) members: Members,
}

/// An inclusive range of ports for one service type.
#[derive(Debug, Clone, PartialEq)]
pub struct PortRange {
    pub start: u16,
    pub end: u16,
    pub description: String,
    pub(crate) members: Members,
}

/// One port held by one worktree's service. The short texts are inline strings: a registry of
/// 50,000 allocations would otherwise make a quarter of a million small heap allocations.
#[derive(Debug, Clone, PartialEq)]
pub struct Allocation {
    pub port: u16,
    pub worktree: CompactString,
    pub service: CompactString,
    /// RFC 3339 UTC time of allocation, as stored.
    pub allocated_at: CompactString,
    /// `user@hostname` of whoever allocated it.
    pub allocated_by: CompactString,
    pub description: CompactString,
    /// The PID last seen listening on the port.
    pub process_id: Option<u32>,
    pub health_status: HealthStatus,
    /// Absolute path of the worktree's folder when it was known at allocation time (our own
    /// addition, ignored by the reference scripts; used for ownership and stale cleanup).
    pub worktree_path: Option<String>,
    /// The repository the worktree belongs to: its common git folder (`.git` of the main
    /// worktree), absolute. Recorded when allocated from inside the worktree, so that `prune`
    /// asks the right repository when one registry serves several.
    pub repository: Option<String>,
    /// Git's own id of a linked worktree (`<repository>/worktrees/<id>`), which survives
    /// `git worktree move`: the allocation follows the worktree to its new folder and name.
    pub git_worktree: Option<String>,
    pub(crate) members: Members,
}

/// `metadata` of the registry.
#[derive(Debug, Clone, PartialEq)]
pub struct Metadata {
    pub version: String,
    pub last_updated: String,
    pub total_allocations: u64,
    pub schema_version: u64,
    pub(crate) members: Members,
}

/// Result of the last health check of an allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    /// Never checked (set at allocation).
    #[default]
    Unknown,
    /// A process listens and the service answers.
    Healthy,
    /// A process listens but does not answer correctly.
    Unhealthy,
    /// Nothing listens.
    NotRunning,
}

impl HealthStatus {
    /// The name stored in the registry.
    pub fn as_str(self) -> &'static str {
        match self {
            HealthStatus::Unknown => "unknown",
            HealthStatus::Healthy => "healthy",
            HealthStatus::Unhealthy => "unhealthy",
            HealthStatus::NotRunning => "not_running",
        }
    }
}

impl PortRange {
    /// A range with no extra members.
    pub fn new(start: u16, end: u16, description: impl Into<String>) -> Self {
        PortRange { start, end, description: description.into(), members: Members::default() }
    }

    /// A range with extra members after its own (`health_path`, `probe`), in that order.
    pub fn with_extra(start: u16, end: u16, description: impl Into<String>, extra: Vec<(String, Value)>) -> Self {
        PortRange { start, end, description: description.into(), members: Members::with_extra(3, extra) }
    }

    /// Whether `port` lies in the range (both ends inclusive).
    pub fn contains(&self, port: u16) -> bool {
        (self.start..=self.end).contains(&port)
    }

    /// Number of ports in the range.
    pub fn len(&self) -> u32 {
        u32::from(self.end) - u32::from(self.start) + 1
    }

    /// Always false: a valid range holds at least one port.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// A member of the range we do not model (e.g. a probe setting such as `health_path`).
    pub fn extra(&self, key: &str) -> Option<&Value> {
        self.members.unknown().find(|(k, _)| *k == key).map(|(_, v)| v)
    }
}

impl Allocation {
    /// A member of the allocation we do not model.
    pub fn extra(&self, key: &str) -> Option<&Value> {
        self.members.unknown().find(|(k, _)| *k == key).map(|(_, v)| v)
    }
}

impl Registry {
    /// The registry `init` writes: the six default ranges and no allocations.
    pub fn with_default_ranges(now: &str) -> Registry {
        let defaults = [
            ("web", 8080, 8099, "HTTP web servers and frontend development servers"),
            ("database", 5432, 5439, "Database services (PostgreSQL, MySQL, MongoDB)"),
            ("testing", 9000, 9099, "Test runners, test servers, mock services"),
            ("debug", 5555, 5564, "Debugger connections and debugging proxies"),
            ("api", 3000, 3099, "REST APIs, GraphQL servers, backend services"),
            ("cache", 6379, 6389, "Redis, Memcached and other caching services"),
        ];
        Registry {
            ranges: defaults
                .into_iter()
                .map(|(name, start, end, description)| (name.to_owned(), PortRange::new(start, end, description)))
                .collect(),
            allocations: Vec::new(),
            metadata: Metadata {
                version: REGISTRY_VERSION.to_owned(),
                last_updated: now.to_owned(),
                total_allocations: 0,
                schema_version: SCHEMA_VERSION,
                members: Members::default(),
            },
            members: Members::default(),
        }
    }

    /// A top-level member of the registry we do not model.
    pub fn extra(&self, key: &str) -> Option<&Value> {
        self.members.unknown().find(|(k, _)| *k == key).map(|(_, v)| v)
    }
}

impl Metadata {
    pub(crate) fn empty() -> Metadata {
        Metadata {
            version: REGISTRY_VERSION.to_owned(),
            last_updated: String::new(),
            total_allocations: 0,
            schema_version: SCHEMA_VERSION,
            members: Members::default(),
        }
    }
}
