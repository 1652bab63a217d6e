//! The objects the exports return: the core's output types (`atlas_ports_core::report`), field
//! for field, in camelCase; an absent value (`null` in the CLI's JSON) is an absent property.
//! Their `///` docs become the TypeScript declarations in `index.d.ts`.

use atlas_ports_core as core;

/// One port held by one worktree's service, as stored in the registry.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct Allocation {
    pub port: u32,
    pub worktree: String,
    pub service: String,
    /// RFC 3339 UTC time of allocation.
    pub allocated_at: String,
    /// `user@hostname` of whoever allocated it.
    pub allocated_by: String,
    pub description: String,
    /// The PID last seen listening on the port.
    pub process_id: Option<u32>,
    /// The result of the last health check (`unknown`: never checked).
    #[napi(ts_type = "'unknown' | 'healthy' | 'unhealthy' | 'not_running'")]
    pub health_status: String,
    /// The worktree's folder, when it was known at allocation time.
    pub worktree_path: Option<String>,
    /// The worktree's repository (its common git folder), when allocated from inside it.
    pub repository: Option<String>,
    /// Git's id of the linked worktree, which survives `git worktree move`.
    pub git_worktree: Option<String>,
}

impl From<&core::Allocation> for Allocation {
    fn from(a: &core::Allocation) -> Self {
        Allocation {
            port: u32::from(a.port),
            worktree: a.worktree.to_string(),
            service: a.service.to_string(),
            allocated_at: a.allocated_at.to_string(),
            allocated_by: a.allocated_by.to_string(),
            description: a.description.to_string(),
            process_id: a.process_id,
            health_status: a.health_status.as_str().to_owned(),
            worktree_path: a.worktree_path.clone(),
            repository: a.repository.clone(),
            git_worktree: a.git_worktree.clone(),
        }
    }
}

/// The answer of `ensurePortDetails`.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct EnsuredPort {
    pub port: u32,
    /// False when the worktree already held the port.
    pub created: bool,
    /// The port held before, when a foreign process had taken it and the allocation moved.
    pub moved_from: Option<u32>,
    /// Why a busy held port was kept although whose process holds it cannot be told.
    pub warning: Option<String>,
    /// The worktree's name, as the registry gives it.
    pub worktree: String,
    /// Allocations of worktrees that are gone, released because the range was full.
    pub reclaimed: Vec<Allocation>,
}

/// The answer of `worktreePorts`.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct WorktreePorts {
    /// The worktree's name.
    pub worktree: String,
    /// Service → port (the first, if a service holds several).
    pub ports: std::collections::BTreeMap<String, u32>,
    /// `PORT_WEB` → `'8080'`: the variables `atlas-ports env` prints (with `URL_WEB` →
    /// `'http://web.pr-42.localhost:1355'` while a proxy for the registry runs).
    pub env: std::collections::BTreeMap<String, String>,
    /// Service → named URL (`http://web.pr-42.localhost:1355`), while a proxy for the registry
    /// runs (`atlas-ports proxy start`); absent otherwise.
    pub urls: Option<std::collections::BTreeMap<String, String>>,
}

/// The answer of `findNextPort`.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct NextPort {
    pub service: String,
    /// The port `allocatePort` would return now; `null` when the range is full.
    pub port: napi::Either<u32, napi::bindgen_prelude::Null>,
    pub start: u32,
    pub end: u32,
    /// Ports of the range held in the registry, ascending.
    pub allocated: Vec<u32>,
}

impl From<core::NextPort> for NextPort {
    fn from(n: core::NextPort) -> Self {
        NextPort {
            service: n.service,
            port: n.port.map_or(napi::Either::B(napi::bindgen_prelude::Null), |p| napi::Either::A(u32::from(p))),
            start: u32::from(n.start),
            end: u32::from(n.end),
            allocated: n.allocated.into_iter().map(u32::from).collect(),
        }
    }
}

/// Whose server listens on an allocated port, and how that was decided.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct Ownership {
    /// The worktree's own server, another process (a system conflict), or could not be told.
    #[napi(ts_type = "'own' | 'foreign' | 'unknown'")]
    pub owner: String,
    pub reason: String,
}

impl From<&core::Ownership> for Ownership {
    fn from(o: &core::Ownership) -> Self {
        let (owner, reason) = match o {
            core::Ownership::Own(r) => ("own", r),
            core::Ownership::Foreign(r) => ("foreign", r),
            core::Ownership::Unknown(r) => ("unknown", r),
        };
        Ownership { owner: owner.to_owned(), reason: reason.clone() }
    }
}

/// An allocation and what was seen on its port just now.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct AllocationState {
    pub allocation: Allocation,
    /// The live status.
    #[napi(ts_type = "'healthy' | 'unhealthy' | 'not_running'")]
    pub status: String,
    pub pid: Option<u32>,
    pub process: Option<String>,
    /// What the probe saw (`HTTP 200 from GET /`, `nothing listens`).
    pub detail: String,
    pub ownership: Option<Ownership>,
    /// Whether `start` started the process listening on the port (or it is in the process group
    /// of one it started): `false` when it was found there; absent when nothing listens.
    pub started_by_atlas_ports: Option<bool>,
}

impl From<&core::AllocationState> for AllocationState {
    fn from(s: &core::AllocationState) -> Self {
        AllocationState {
            allocation: Allocation::from(&s.allocation),
            status: s.status.as_str().to_owned(),
            pid: s.pid,
            process: s.process.clone(),
            detail: s.detail.clone(),
            ownership: s.ownership.as_ref().map(Ownership::from),
            started_by_atlas_ports: s.started_by_atlas_ports,
        }
    }
}

/// One service range with its allocations and free ports.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct RangeStatus {
    pub service: String,
    /// `null` for allocations of a service that has no range.
    pub start: Option<u32>,
    pub end: Option<u32>,
    pub allocations: Vec<AllocationState>,
    /// Runs of free ports as `[first, last]` pairs.
    pub available: Vec<Vec<u32>>,
    pub available_count: u32,
}

/// The answer of `getStatus`.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct StatusReport {
    pub ranges: Vec<RangeStatus>,
    pub total_allocated: u32,
    pub total_available: u32,
}

impl From<core::StatusReport> for StatusReport {
    fn from(r: core::StatusReport) -> Self {
        StatusReport {
            ranges: r
                .ranges
                .iter()
                .map(|g| RangeStatus {
                    service: g.service.clone(),
                    start: g.start.map(u32::from),
                    end: g.end.map(u32::from),
                    allocations: g.allocations.iter().map(AllocationState::from).collect(),
                    available: g.available.iter().map(|&(a, b)| vec![u32::from(a), u32::from(b)]).collect(),
                    available_count: g.available_count,
                })
                .collect(),
            total_allocated: r.total_allocated as u32,
            total_available: r.total_available,
        }
    }
}

/// One worktree's allocations with their live state.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct WorktreeStatus {
    pub worktree: String,
    pub allocations: Vec<AllocationState>,
}

/// Counts of a health check.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct HealthSummary {
    pub healthy: u32,
    pub not_running: u32,
    pub unhealthy: u32,
    pub unknown: u32,
}

/// The answer of `healthCheck`.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct HealthReport {
    pub worktrees: Vec<WorktreeStatus>,
    pub summary: HealthSummary,
}

impl From<core::report::HealthReport> for HealthReport {
    fn from(report: core::report::HealthReport) -> Self {
        let sum = report.summary;
        HealthReport {
            summary: HealthSummary {
                healthy: sum.healthy as u32,
                not_running: sum.not_running as u32,
                unhealthy: sum.unhealthy as u32,
                unknown: sum.unknown as u32,
            },
            worktrees: report
                .worktrees
                .iter()
                .map(|w| WorktreeStatus {
                    worktree: w.worktree.clone(),
                    allocations: w.allocations.iter().map(AllocationState::from).collect(),
                })
                .collect(),
        }
    }
}

/// A port held by several allocations.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct RegistryConflict {
    pub port: u32,
    pub allocations: Vec<Allocation>,
}

/// An allocated port in use by a foreign process.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct SystemConflict {
    pub allocation: Allocation,
    pub pid: Option<u32>,
    pub process: Option<String>,
    /// How ownership was decided.
    pub reason: String,
}

/// A structural problem of the registry.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct Problem {
    #[napi(ts_type = "'outside_range' | 'unknown_service' | 'overlapping_ranges'")]
    pub kind: String,
    pub message: String,
}

/// The counts of a conflict report.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct ConflictSummary {
    /// Registry and system conflicts.
    pub conflicts: u32,
    pub mismatches: u32,
    pub problems: u32,
}

/// The answer of `checkConflicts`.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct ConflictReport {
    pub registry_conflicts: Vec<RegistryConflict>,
    pub system_conflicts: Vec<SystemConflict>,
    /// Allocated ports on which nothing listens.
    pub mismatches: Vec<Allocation>,
    pub problems: Vec<Problem>,
    pub summary: ConflictSummary,
    /// Whether there are conflicts or problems (mismatches alone are not).
    pub has_conflicts: bool,
}

impl From<core::ConflictReport> for ConflictReport {
    fn from(r: core::ConflictReport) -> Self {
        let sum = r.summary();
        ConflictReport {
            has_conflicts: r.has_conflicts(),
            summary: ConflictSummary {
                conflicts: sum.conflicts as u32,
                mismatches: sum.mismatches as u32,
                problems: sum.problems as u32,
            },
            registry_conflicts: r
                .registry
                .iter()
                .map(|c| RegistryConflict {
                    port: u32::from(c.port),
                    allocations: c.allocations.iter().map(Allocation::from).collect(),
                })
                .collect(),
            system_conflicts: r
                .system
                .iter()
                .map(|c| SystemConflict {
                    allocation: Allocation::from(&c.allocation),
                    pid: c.pid,
                    process: c.process.clone(),
                    reason: c.reason.clone(),
                })
                .collect(),
            mismatches: r.mismatches.iter().map(Allocation::from).collect(),
            problems: r
                .problems
                .iter()
                .map(|p| Problem { kind: p.kind().to_owned(), message: p.to_string() })
                .collect(),
        }
    }
}

/// What every function throws (Sync) or rejects with (Promise): an `Error` with a stable `code`.
/// `catch (e) { if ((e as AtlasPortsError).code === 'ERR_UNKNOWN_SERVICE') … }`
/// (Declared for TypeScript; the errors themselves are made in `error.rs`.)
#[napi(object)]
#[derive(Debug, Clone)]
#[allow(dead_code)]
pub struct AtlasPortsError {
    #[napi(
        ts_type = "'ENOENT' | 'ERR_REGISTRY_EXISTS' | 'ERR_CORRUPT_REGISTRY' | 'ERR_UNUSABLE_FILE' | 'ERR_UNKNOWN_SERVICE' | 'ERR_RANGE_EXHAUSTED' | 'ERR_INVALID_PORT' | 'ERR_INVALID_ARGUMENT' | 'ERR_NOT_IN_WORKTREE' | 'ERR_NO_PROJECT_FILE' | 'ERR_INVALID_PROJECT_FILE' | 'ERR_LOCK_TIMEOUT' | 'ERR_PORT_TAKEN' | 'ERR_IO' | 'ERR_NATIVE_BINDING_MISSING' | 'ERR_NOT_READY' | 'ABORT_ERR'"
    )]
    pub code: String,
    pub message: String,
}

/// One declared service's port after `up`.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct ServicePort {
    pub service: String,
    pub port: u32,
    /// The environment variable the env file sets (`PORT_WEB`).
    pub variable: String,
    /// The port held before, when a foreign process had taken it and the allocation moved.
    pub moved_from: Option<u32>,
    /// What to know about this port: it moved off a port that became a canonical port, or a
    /// busy port was kept although whose process holds it cannot be told; absent otherwise.
    pub warning: Option<String>,
    /// The named URL (`http://web.pr-42.localhost:1355`), while a proxy for the registry runs
    /// (`atlas-ports proxy start`); absent otherwise.
    pub url: Option<String>,
}

/// The answer of `up`.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct UpReport {
    pub worktree: String,
    /// The env file's path.
    pub env_file: String,
    /// False when the env file already said exactly this.
    pub written: bool,
    pub services: Vec<ServicePort>,
}

impl From<core::report::UpReport> for UpReport {
    fn from(r: core::report::UpReport) -> Self {
        UpReport {
            worktree: r.worktree,
            env_file: r.env_file,
            written: r.written,
            services: r
                .services
                .into_iter()
                .map(|s| ServicePort {
                    service: s.service,
                    port: u32::from(s.port),
                    variable: s.variable,
                    moved_from: s.moved_from.map(u32::from),
                    warning: s.warning,
                    url: s.url,
                })
                .collect(),
        }
    }
}

/// The answer of `down`.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct DownReport {
    pub worktree: String,
    pub released: Vec<Allocation>,
    /// The env file removed, if `up` had written one.
    pub removed: Option<String>,
    /// An env file left in place because `up` did not write it.
    pub kept: Option<String>,
    /// The worktree's servers, stopped before the ports were released.
    pub servers: Option<StopReport>,
}

impl From<core::report::DownReport> for DownReport {
    fn from(r: core::report::DownReport) -> Self {
        DownReport {
            worktree: r.worktree,
            released: r.released.iter().map(Allocation::from).collect(),
            removed: r.removed,
            kept: r.kept,
            servers: r.servers.map(StopReport::from),
        }
    }
}

/// The answer of `pruneDetails`: the CLI's `prune --format json`.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct PruneReport {
    pub dry_run: bool,
    /// The allocations released (or, on a dry run, that would be).
    pub released: Vec<Allocation>,
    /// The servers of each gone worktree that had any: stopped (or would be) and left alone.
    pub servers: Vec<StopReport>,
}

impl From<core::report::PruneReport> for PruneReport {
    fn from(r: core::report::PruneReport) -> Self {
        PruneReport {
            dry_run: r.dry_run,
            released: r.released.iter().map(Allocation::from).collect(),
            servers: r.servers.into_iter().map(StopReport::from).collect(),
        }
    }
}

/// One service after `start`.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct ServerStart {
    pub service: String,
    pub port: u32,
    /// Where to reach it: `http://localhost:PORT` for an HTTP service, `localhost:PORT` else.
    pub url: String,
    /// Started now and ready; already running (left alone); running but not ready when the wait
    /// ended; or its command ended before it was ready.
    #[napi(ts_type = "'started' | 'already_running' | 'not_ready' | 'exited'")]
    pub state: String,
    /// The process atlas-ports started (or found listening).
    pub pid: Option<u32>,
    /// Whether atlas-ports started that process.
    pub started_by_atlas_ports: bool,
    /// The service's log file.
    pub log: String,
    /// The readiness check's last answer, or why the command ended.
    pub reason: String,
}

/// The answer of `start`: `up`'s report, and what became of each service's command.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct StartReport {
    pub up: UpReport,
    pub worktree: String,
    pub services: Vec<ServerStart>,
}

impl StartReport {
    pub fn new(up: core::report::UpReport, r: core::report::StartReport) -> Self {
        StartReport {
            up: UpReport::from(up),
            worktree: r.worktree,
            services: r
                .services
                .into_iter()
                .map(|s| ServerStart {
                    service: s.service,
                    port: u32::from(s.port),
                    url: s.url,
                    state: state_name(s.state).to_owned(),
                    pid: s.pid,
                    started_by_atlas_ports: s.started_by_atlas_ports,
                    log: s.log,
                    reason: s.reason,
                })
                .collect(),
        }
    }
}

/// A process `stop` (or `down`, `prune`) stopped, or in a dry run would stop.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct StoppedProcess {
    pub pid: u32,
    pub process: Option<String>,
    /// The service it was started for, or whose port it listens on.
    pub service: Option<String>,
    /// The port it listened on, when found listening.
    pub port: Option<u32>,
    /// Why it was the worktree's: atlas-ports started it (and its start time matches), or it
    /// listens on the worktree's port from inside the worktree's folder, as this user.
    #[napi(ts_type = "'started' | 'runs_inside'")]
    pub proof: String,
    /// The last signal it was sent (`SIGTERM`, or `SIGKILL` after the grace period).
    pub signal: Option<String>,
    /// Whether it is gone now.
    pub ended: bool,
}

/// A process found on one of the worktree's ports and never signalled: not provably its.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct LeftAlone {
    pub port: u32,
    pub service: String,
    pub pid: Option<u32>,
    pub process: Option<String>,
    pub user: Option<String>,
    /// Its working folder, as far as it could be read.
    pub cwd: Option<String>,
    pub reason: String,
}

/// The answer of `stop` (and `down`'s `servers`): what was stopped for one worktree, and what
/// was left alone.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct StopReport {
    pub worktree: String,
    pub worktree_path: String,
    pub dry_run: bool,
    pub stopped: Vec<StoppedProcess>,
    pub left_alone: Vec<LeftAlone>,
}

impl From<core::report::StopReport> for StopReport {
    fn from(r: core::report::StopReport) -> Self {
        StopReport {
            worktree: r.worktree,
            worktree_path: r.worktree_path,
            dry_run: r.dry_run,
            stopped: r
                .stopped
                .into_iter()
                .map(|p| StoppedProcess {
                    pid: p.pid,
                    process: p.process,
                    service: p.service,
                    port: p.port.map(u32::from),
                    proof: proof_name(p.proof).to_owned(),
                    signal: p.signal,
                    ended: p.ended,
                })
                .collect(),
            left_alone: r
                .left_alone
                .into_iter()
                .map(|l| LeftAlone {
                    port: u32::from(l.port),
                    service: l.service,
                    pid: l.pid,
                    process: l.process,
                    user: l.user,
                    cwd: l.cwd,
                    reason: l.reason,
                })
                .collect(),
        }
    }
}

/// A start state as the CLI's JSON spells it.
fn state_name(state: core::report::StartState) -> &'static str {
    match state {
        core::report::StartState::Started => "started",
        core::report::StartState::AlreadyRunning => "already_running",
        core::report::StartState::NotReady => "not_ready",
        core::report::StartState::Exited => "exited",
    }
}

/// A proof as the CLI's JSON spells it.
fn proof_name(proof: core::servers::Proof) -> &'static str {
    match proof {
        core::servers::Proof::Started => "started",
        core::servers::Proof::RunsInside => "runs_inside",
    }
}

/// A service that atlas-ports.toml declares.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct DeclaredService {
    pub name: String,
    pub description: String,
    /// Marked as the Vite dev server's service.
    pub vite: bool,
    /// The range the file declares (`range = "8100-8119"`), added to the registry on first use.
    pub range: Option<DeclaredRange>,
    /// The health probe's path the file declares with the range.
    pub health_path: Option<String>,
    /// The probe the file declares with the range (`http`, `database`, `redis`, `tcp`).
    pub probe: Option<String>,
}

/// A range atlas-ports.toml declares: both ends included.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct DeclaredRange {
    pub start: u32,
    pub end: u32,
}

impl From<&core::project::DeclaredService> for DeclaredService {
    fn from(s: &core::project::DeclaredService) -> Self {
        DeclaredService {
            name: s.name.clone(),
            description: s.description.clone(),
            vite: s.vite,
            range: s.range.map(|(start, end)| DeclaredRange { start: u32::from(start), end: u32::from(end) }),
            health_path: s.health_path.clone(),
            probe: s.probe.clone(),
        }
    }
}

/// The worktree's atlas-ports.toml, as `projectFile` reads it.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct ProjectInfo {
    /// The env file `up` writes, relative to the worktree's root.
    pub env_file: String,
    pub services: Vec<DeclaredService>,
    /// The service the Vite plugin uses: marked `vite = true`, else `web`, else the first.
    pub vite_service: String,
}

/// A service's range, as `getRanges` lists it (the CLI's `ranges --format json`).
#[napi(object)]
#[derive(Debug, Clone)]
pub struct RangeInfo {
    pub service: String,
    /// The first port of the range.
    pub start: u32,
    /// The last port of the range (included).
    pub end: u32,
    pub description: String,
    /// The path the health probe asks, when the range names one.
    pub health_path: Option<String>,
    /// The probe the range chooses (`http`, `database`, `redis`, `tcp`), when it names one.
    pub probe: Option<String>,
    /// How many allocations the service holds.
    pub allocated: u32,
}

impl From<core::ranges::RangeInfo> for RangeInfo {
    fn from(r: core::ranges::RangeInfo) -> Self {
        RangeInfo {
            service: r.service,
            start: u32::from(r.start),
            end: u32::from(r.end),
            description: r.description,
            health_path: r.health_path,
            probe: r.probe,
            allocated: u32::try_from(r.allocated).unwrap_or(u32::MAX),
        }
    }
}

/// One look at whether a worktree's service is ready (`waitForPort` asks until it is).
#[napi(object)]
#[derive(Debug, Clone)]
pub struct Readiness {
    pub worktree: String,
    pub service: String,
    /// The worktree's port for the service; absent while it holds none.
    pub port: Option<u32>,
    /// The port listens and the service answers (an HTTP status below 500, PostgreSQL, Redis).
    pub ready: bool,
    /// The probe's answer: `HTTP 200 from GET /`, `nothing listens on port 8080`, `HTTP 503 from GET /`.
    pub reason: String,
    /// Milliseconds spent waiting (set by `waitForPort`).
    pub waited_ms: f64,
}

impl From<core::report::Readiness> for Readiness {
    fn from(r: core::report::Readiness) -> Self {
        Readiness {
            worktree: r.worktree,
            service: r.service,
            port: r.port.map(u32::from),
            ready: r.ready,
            reason: r.reason,
            waited_ms: r.waited_ms as f64,
        }
    }
}
