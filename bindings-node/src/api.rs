//! The exports of `require('atlas-ports')`: the reference design's four functions and the rest of the
//! operations, each a thin call into the core through the same context as the CLI.

use crate::error::{Code, JsResult, port_of, to_js, to_js_rejection};
use crate::options::{InitOptions, Options, Place, ReleaseOptions};
use crate::types::{Allocation, ConflictReport, HealthReport, NextPort, StatusReport};
use atlas_ports_core::{AllocateRequest, Availability, Error as CoreError, status};
use atlas_ports_native::SystemHealthProbe;
use napi::bindgen_prelude::*;

fn place(registry: Option<String>, cwd: Option<String>) -> JsResult<Place> {
    Place::new(registry, cwd)
        .map_err(|source| to_js(CoreError::System { action: "read the folder this process works in", source }))
}

fn place_of(o: Option<Options>) -> JsResult<Place> {
    let o = o.unwrap_or_default();
    place(o.registry, o.cwd)
}

fn request_port(
    ensure: bool,
    service: String,
    worktree: Option<String>,
    description: Option<String>,
    o: Option<Options>,
) -> JsResult<u32> {
    let p = place_of(o)?;
    let (worktree, path) = p.ctx.worktree(worktree.as_deref()).map_err(to_js)?;
    let req = AllocateRequest {
        service: &service,
        worktree: &worktree,
        description: description.as_deref().unwrap_or(""),
        worktree_path: path.as_deref(),
    };
    let ports = p.ports();
    let allocation = if ensure { ports.ensure(&req).map(|e| e.allocation) } else { ports.allocate(&req) };
    allocation.map(|a| u32::from(a.port)).map_err(to_js)
}

/// Allocates the next free port of the service's range to the worktree (default: the current
/// git worktree's folder name) and returns it. Ports busy on the machine are skipped.
#[napi]
pub fn allocate_port(
    service: String,
    worktree: Option<String>,
    description: Option<String>,
    options: Option<Options>,
) -> Result<u32, Code> {
    request_port(false, service, worktree, description, options)
}

/// Returns the port the worktree already holds for the service, allocating one only if it has
/// none: call it every time a server starts.
#[napi]
pub fn ensure_port(
    service: String,
    worktree: Option<String>,
    description: Option<String>,
    options: Option<Options>,
) -> Result<u32, Code> {
    request_port(true, service, worktree, description, options)
}

/// Releases a port (only `options.worktree`'s allocation of it when given). True if something
/// was released.
#[napi]
pub fn release_port(port: Either<f64, String>, options: Option<ReleaseOptions>) -> Result<bool, Code> {
    let port = port_of(port)?;
    let o = options.unwrap_or_default();
    let p = place(o.registry, o.cwd)?;
    p.ports().release(port, o.worktree.as_deref()).map(|removed| !removed.is_empty()).map_err(to_js)
}

/// Releases every port of a worktree; returns what was released.
#[napi]
pub fn release_worktree(worktree: String, options: Option<Options>) -> Result<Vec<Allocation>, Code> {
    let p = place_of(options)?;
    p.ports().release_worktree(&worktree).map(|v| v.iter().map(Allocation::from).collect()).map_err(to_js)
}

/// Whether a port is free in the registry and on the machine (bind on 127.0.0.1, 0.0.0.0, ::1, ::).
#[napi]
pub fn check_port_available(port: Either<f64, String>, options: Option<Options>) -> Result<bool, Code> {
    let port = port_of(port)?;
    let p = place_of(options)?;
    p.ports().check_available(port).map(|a| a == Availability::Available).map_err(to_js)
}

/// The allocations of a worktree (default: the current one), as stored.
#[napi]
pub fn list_allocated_ports(worktree: Option<String>, options: Option<Options>) -> Result<Vec<Allocation>, Code> {
    let p = place_of(options)?;
    let (worktree, _) = p.ctx.worktree(worktree.as_deref()).map_err(to_js)?;
    p.ports().list(Some(&worktree)).map(|v| v.iter().map(Allocation::from).collect()).map_err(to_js)
}

/// The port `allocatePort` would return now, with the range and its allocated ports.
#[napi]
pub fn find_next_port(service: String, options: Option<Options>) -> Result<NextPort, Code> {
    let p = place_of(options)?;
    p.ports().find_next(&service).map(NextPort::from).map_err(to_js)
}

/// Creates the registry with the default ranges; returns its path. Refuses to replace an
/// existing one unless `options.force`.
#[napi]
pub fn init_registry(options: Option<InitOptions>) -> Result<String, Code> {
    let o = options.unwrap_or_default();
    let p = place(o.registry, o.cwd)?;
    let ports = p.ports();
    ports.init(o.force.unwrap_or(false)).map_err(to_js)?;
    Ok(ports.registry_path().display().to_string())
}

/// Every range with its allocations (only `worktree`'s when given), their live state and the
/// free ports. Probes the ports; stores nothing.
#[napi]
pub fn get_status(worktree: Option<String>, options: Option<Options>) -> Result<StatusReport, Code> {
    let p = place_of(options)?;
    let (reg, states) = p.ports().observe(worktree.as_deref(), &SystemHealthProbe::default()).map_err(to_js)?;
    Ok(StatusReport::from(status::by_range(&reg, states)))
}

/// Duplicate ports, foreign listeners, allocations nothing listens on, and broken ranges.
#[napi]
pub fn check_conflicts(options: Option<Options>) -> Result<ConflictReport, Code> {
    let p = place_of(options)?;
    p.ports().conflicts(&SystemHealthProbe::default()).map(ConflictReport::from).map_err(to_js)
}

/// The health check, run off the main thread.
pub struct HealthTask {
    worktree: Option<String>,
    options: Options,
}

impl Task for HealthTask {
    type Output = std::result::Result<Vec<atlas_ports_core::AllocationState>, CoreError>;
    type JsValue = HealthReport;

    fn compute(&mut self) -> Result<Self::Output> {
        let o = self.options.clone();
        let p = match Place::new(o.registry, o.cwd) {
            Ok(p) => p,
            Err(source) => {
                return Ok(Err(CoreError::System { action: "read the folder this process works in", source }));
            }
        };
        Ok(p.ports().health_check(self.worktree.as_deref(), &SystemHealthProbe::default()))
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> Result<Self::JsValue> {
        match output {
            Ok(states) => Ok(HealthReport::from(atlas_ports_core::report::HealthReport::new(states))),
            Err(e) => Err(to_js_rejection(env, e)),
        }
    }
}

/// Probes every allocation (only `worktree`'s when given) at all levels — listening, which
/// process, does the service answer — and stores `healthStatus` and `processId` in the
/// registry. Resolves with the report; rejects with a coded `Error`.
#[napi(ts_return_type = "Promise<HealthReport>")]
pub fn health_check(worktree: Option<String>, options: Option<Options>) -> AsyncTask<HealthTask> {
    AsyncTask::new(HealthTask { worktree, options: options.unwrap_or_default() })
}

#[cfg(feature = "cli")]
/// Runs the `atlas-ports` command line (`args` without the program name) in this process and
/// returns its exit status. The npm package's `bin` is this, so `npx atlas-ports …` is the
/// very same program.
#[napi]
pub fn run_cli(args: Vec<String>) -> i32 {
    let argv = std::iter::once("atlas-ports".to_owned()).chain(args).map(Into::into).collect();
    atlas_ports_cli::run(argv)
}
