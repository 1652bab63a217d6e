//! The exports of `require('atlas-ports')`: every operation as a Promise function and its `Sync`
//! twin, both over one `*_impl` function that calls the core through the same workspace as the
//! CLI.

use crate::error::{Code, to_js};
use crate::options::{
    AllocateOptions, DownOptions, InitOptions, Options, Place, PruneOptions, ReleaseOptions, StartOptions, StopOptions,
    millis,
};
use crate::task::Job;
use crate::types::{
    Allocation, ConflictReport, DeclaredService, DownReport, EnsuredPort, HealthReport, NextPort, ProjectInfo,
    PruneReport, RangeInfo, Readiness, StartReport, StatusReport, StopReport, UpReport, WorktreePorts,
};
use atlas_ports_core::{AllocateRequest, Availability, Ensured, Error as CoreError, report, status, validate};
use atlas_ports_native::{SystemHealthProbe, lifecycle, servers};
use napi::bindgen_prelude::*;

type CoreResult<T> = std::result::Result<T, CoreError>;

/// Declares an operation's two exports: `name` returns a Promise (the work runs off the main
/// thread) and `sync` returns the value; both come from the same body and the same docs. (The
/// docs are written `#[doc = "…"]`: napi-derive would keep the `r"` of a `///` passed through a
/// macro.)
macro_rules! export {
    // allocatePort and its kin: the options may stand in the worktree's place.
    ($(#[$doc:meta])* $name:ident, $sync:ident, $ty:ty, $ts:literal, ALLOCATE_ARGS, $($rest:tt)*) => {
        export! {
            $(#[$doc])* $name, $sync, $ty, $ts,
            args = "service: string, worktree?: string | AllocateOptions | null, description?: string | null, options?: AllocateOptions | null",
            $($rest)*
        }
    };
    ($(#[$doc:meta])* $name:ident, $sync:ident, $ty:ty, $ts:literal, $(args = $args:literal,)? ($($arg:ident: $argty:ty),*) $body:block) => {
        $(#[$doc])*
        #[napi(ts_return_type = $ts $(, ts_args_type = $args)?)]
        pub fn $name($($arg: $argty),*) -> AsyncTask<Job<$ty>> {
            AsyncTask::new(Job::new(move || $body))
        }

        $(#[$doc])*
        #[napi($(ts_args_type = $args)?)]
        pub fn $sync($($arg: $argty),*) -> std::result::Result<$ty, napi::Error<Code>> {
            let run = move || -> CoreResult<$ty> { $body };
            run().map_err(to_js)
        }
    };
}

fn place(registry: Option<String>, cwd: Option<String>) -> CoreResult<Place> {
    Place::new(registry, cwd)
}

fn place_of(o: Option<Options>) -> CoreResult<Place> {
    let o = o.unwrap_or_default();
    place(o.registry, o.cwd)
}

fn checked_port(n: f64) -> CoreResult<u16> {
    validate::port_from_number(n)
}

/// What `allocatePort`, `ensurePort` and `ensurePortDetails` do: `ensure` returns a held port
/// (moving it off a foreign process), `allocate` always takes a new one.
fn request_port(
    ensure: bool,
    service: String,
    worktree: Option<String>,
    description: Option<String>,
    o: Option<AllocateOptions>,
) -> CoreResult<Ensured> {
    let o = o.unwrap_or_default();
    let port_of =
        |n: u32| u16::try_from(n).ok().filter(|&p| p != 0).ok_or(CoreError::InvalidPort { value: n.to_string() });
    let preferred = o.preferred.map(port_of).transpose()?;
    let exclude = o.exclude.unwrap_or_default().into_iter().map(port_of).collect::<CoreResult<Vec<u16>>>()?;
    let p = place(o.registry, o.cwd)?;
    let ports = p.ports();
    lifecycle::declare_ranges(&p.ctx, &ports, &[&service])?;
    let worktree = worktree.or(o.worktree);
    let description = description.or(o.description);
    let req = AllocateRequest {
        description: description.as_deref().unwrap_or(""),
        preferred,
        exclude: &exclude,
        ..p.ctx.request(&ports, &service, worktree.as_deref())?
    };
    if ensure { ports.ensure_usable(&req, &SystemHealthProbe::default()) } else { ports.allocate_details(&req) }
}

fn details(e: Ensured) -> EnsuredPort {
    EnsuredPort {
        port: u32::from(e.allocation.port),
        created: e.created,
        moved_from: e.moved_from.map(u32::from),
        warning: e.warning,
        worktree: e.allocation.worktree.to_string(),
        reclaimed: e.reclaimed.iter().map(Allocation::from).collect(),
    }
}

export! {
    #[doc = " Allocates the next free port of the service's range to the worktree (default: the current"]
    #[doc = " git worktree's folder name) and returns it. Ports busy on the machine are skipped."]
    allocate_port, allocate_port_sync, u32, "Promise<number>", ALLOCATE_ARGS,
    (service: String, worktree: Option<String>, description: Option<String>, options: Option<AllocateOptions>) {
        request_port(false, service, worktree, description, options).map(|e| u32::from(e.allocation.port))
    }
}

export! {
    #[doc = " Returns the port the worktree already holds for the service, allocating one only if it has"]
    #[doc = " none: call it every time a server starts. A service atlas-ports.toml declares with a range"]
    #[doc = " has that range added to the registry on first use."]
    ensure_port, ensure_port_sync, u32, "Promise<number>", ALLOCATE_ARGS,
    (service: String, worktree: Option<String>, description: Option<String>, options: Option<AllocateOptions>) {
        request_port(true, service, worktree, description, options).map(|e| u32::from(e.allocation.port))
    }
}

export! {
    #[doc = " `ensurePort` with what happened: whether the port was allocated now, and whether it moved"]
    #[doc = " off a port a foreign process had taken (`ensurePort` reports that as a process warning)."]
    ensure_port_details, ensure_port_details_sync, EnsuredPort, "Promise<EnsuredPort>", ALLOCATE_ARGS,
    (service: String, worktree: Option<String>, description: Option<String>, options: Option<AllocateOptions>) {
        request_port(true, service, worktree, description, options).map(details)
    }
}

export! {
    #[doc = " Releases a port (only `options.worktree`'s allocation of it when given). True if something"]
    #[doc = " was released."]
    release_port, release_port_sync, bool, "Promise<boolean>",
    (port: f64, options: Option<ReleaseOptions>) {
        let port = checked_port(port)?;
        let o = options.unwrap_or_default();
        let removed = place(o.registry, o.cwd)?.ports().release(port, o.worktree.as_deref())?;
        Ok(!removed.is_empty())
    }
}

export! {
    #[doc = " Releases every port of a worktree; returns what was released."]
    release_worktree, release_worktree_sync, Vec<Allocation>, "Promise<Array<Allocation>>",
    (worktree: String, options: Option<Options>) {
        let removed = place_of(options)?.ports().release_worktree(&worktree)?;
        Ok(removed.iter().map(Allocation::from).collect())
    }
}

export! {
    #[doc = " Whether a port is free in the registry and on the machine (a bind succeeds on 127.0.0.1,"]
    #[doc = " 0.0.0.0, ::1 and ::)."]
    check_port_available, check_port_available_sync, bool, "Promise<boolean>",
    (port: f64, options: Option<Options>) {
        let port = checked_port(port)?;
        Ok(place_of(options)?.ports().check_available(port)? == Availability::Available)
    }
}

export! {
    #[doc = " The allocations of a worktree (default: the current one), as stored."]
    list_allocated_ports, list_allocated_ports_sync, Vec<Allocation>, "Promise<Array<Allocation>>",
    (worktree: Option<String>, options: Option<Options>) {
        let p = place_of(options)?;
        let ports = p.ports();
        let worktree = p.ctx.worktree_name(&ports, worktree.as_deref())?;
        Ok(ports.list(Some(&worktree))?.iter().map(Allocation::from).collect())
    }
}

export! {
    #[doc = " Every worktree's allocations, as stored: nothing is probed."]
    list_all_allocations, list_all_allocations_sync, Vec<Allocation>, "Promise<Array<Allocation>>",
    (options: Option<Options>) {
        Ok(place_of(options)?.ports().list(None)?.iter().map(Allocation::from).collect())
    }
}

export! {
    #[doc = " The name of the worktree `options.cwd` (default: the current folder) is in, as the registry"]
    #[doc = " gives it: the folder's name, or a distinct variant when another worktree has that name."]
    current_worktree, current_worktree_sync, String, "Promise<string>",
    (options: Option<Options>) {
        let p = place_of(options)?;
        p.ctx.worktree_name(&p.ports(), None)
    }
}

export! {
    #[doc = " All of a worktree's ports at once (default: the current worktree's): by service, and as the"]
    #[doc = " environment variables `atlas-ports env` prints (`PORT_WEB`: `'8080'`)."]
    worktree_ports, worktree_ports_sync, WorktreePorts, "Promise<WorktreePorts>",
    (worktree: Option<String>, options: Option<Options>) {
        let p = place_of(options)?;
        let ports = p.ports();
        let worktree = p.ctx.worktree_name(&ports, worktree.as_deref())?;
        let allocations = ports.list(Some(&worktree))?;
        let (vars, _) = atlas_ports_core::env_export::port_variables(&allocations)?;
        let mut by_service = std::collections::BTreeMap::new();
        for a in &allocations {
            by_service.entry(a.service.to_string()).or_insert(u32::from(a.port));
        }
        let mut env: std::collections::BTreeMap<String, String> =
            vars.iter().map(|v| (v.name.clone(), v.port.to_string())).collect();
        let urls = atlas_ports_native::proxy::named_urls(&p.ctx, ports.registry_path())?.0.map(|named| {
            env.extend(named.variables(&worktree, by_service.keys().map(String::as_str)));
            by_service.keys().map(|s| (s.clone(), named.url(s, &worktree))).collect()
        });
        Ok(WorktreePorts { worktree, ports: by_service, env, urls })
    }
}

/// Waits until the worktree's service is ready (see `readiness`), asking every 0.2 s: resolves
/// with the last look once `ready`; rejects with `ERR_NOT_READY` (the last reason in its
/// message, the look as `readiness`) when `timeout` milliseconds (default 60000) pass, and with
/// an `AbortError` (`code` `ABORT_ERR`) when `signal` aborts.
// The package's front (atlas-ports.js) implements it over `readiness`; this export only gives
// it its TypeScript declaration, and refuses when called on the addon directly.
#[napi(
    ts_args_type = "service: string, options?: { timeout?: number, signal?: AbortSignal, worktree?: string, registry?: string, cwd?: string } | null",
    ts_return_type = "Promise<Readiness>"
)]
pub fn wait_for_port() -> std::result::Result<(), napi::Error<Code>> {
    Err(napi::Error::new(
        Code("ERR_INVALID_ARGUMENT"),
        "waitForPort is the package's: call it from require('atlas-ports')",
    ))
}

export! {
    #[doc = " One look at whether the worktree's (default: the current one's) service is ready: the port it"]
    #[doc = " holds listens and answers as the health check asks (an HTTP status below 500 counts)."]
    #[doc = " `waitForPort` asks until it is; a service without a range is `ERR_UNKNOWN_SERVICE`."]
    readiness, readiness_sync, Readiness, "Promise<Readiness>",
    (service: String, worktree: Option<String>, options: Option<Options>) {
        let p = place_of(options)?;
        Ok(Readiness::from(atlas_ports_native::readiness::check(&p.ctx, p.registry.as_deref(), &service, worktree.as_deref())?))
    }
}

export! {
    #[doc = " Releases the allocations of worktrees that are gone (folder deleted, git no longer lists"]
    #[doc = " them), after stopping their servers as `atlas-ports prune` does: only processes provably"]
    #[doc = " theirs, SIGTERM then SIGKILL after `options.grace` ms. With `options.dryRun`, only says which."]
    #[doc = " Returns the allocations (`pruneDetails` also says which servers were stopped or left alone)."]
    prune, prune_sync, Vec<Allocation>, "Promise<Array<Allocation>>",
    (options: Option<PruneOptions>) {
        Ok(prune_stopping(options)?.released.iter().map(Allocation::from).collect())
    }
}

export! {
    #[doc = " `prune` with what happened to the servers of the gone worktrees: the CLI's"]
    #[doc = " `prune --format json`."]
    prune_details, prune_details_sync, PruneReport, "Promise<PruneReport>",
    (options: Option<PruneOptions>) {
        Ok(PruneReport::from(prune_stopping(options)?))
    }
}

fn prune_stopping(options: Option<PruneOptions>) -> CoreResult<report::PruneReport> {
    let o = options.unwrap_or_default();
    let grace = millis("grace", o.grace, DEFAULT_GRACE_MS)?;
    let p = place(o.registry, o.cwd)?;
    lifecycle::prune_stopping(&p.ctx, p.registry.as_deref(), grace, o.dry_run.unwrap_or(false))
}

/// What `stop`, `down` and `prune` give a server between SIGTERM and SIGKILL, as the CLI does.
const DEFAULT_GRACE_MS: u64 = 5000;
/// How long `start` waits for the services to be ready, as the CLI does.
const DEFAULT_START_TIMEOUT_MS: u64 = 60_000;

export! {
    #[doc = " The port `allocatePort` would return now, with the range and its allocated ports."]
    find_next_port, find_next_port_sync, NextPort, "Promise<NextPort>",
    (service: String, options: Option<Options>) {
        Ok(NextPort::from(place_of(options)?.ports().find_next(&service)?))
    }
}

export! {
    #[doc = " The registry's service ranges, in file order, each with how many allocations it holds."]
    #[doc = " Ranges declared in atlas-ports.toml appear once a port of theirs was ensured."]
    get_ranges, get_ranges_sync, Vec<RangeInfo>, "Promise<Array<RangeInfo>>",
    (options: Option<Options>) {
        let reg = place_of(options)?.ports().load()?;
        Ok(atlas_ports_core::ranges::list(&reg).into_iter().map(RangeInfo::from).collect())
    }
}

export! {
    #[doc = " Creates the registry with the default ranges; returns its path. Refuses to replace an"]
    #[doc = " existing one unless `options.force`."]
    init_registry, init_registry_sync, String, "Promise<string>",
    (options: Option<InitOptions>) {
        let o = options.unwrap_or_default();
        let p = place(o.registry, o.cwd)?;
        let ports = p.ports();
        ports.init(o.force.unwrap_or(false))?;
        Ok(ports.registry_path().display().to_string())
    }
}

export! {
    #[doc = " Every range with its allocations (only `worktree`'s when given), their live state and the"]
    #[doc = " free ports. Probes the ports; stores nothing."]
    get_status, get_status_sync, StatusReport, "Promise<StatusReport>",
    (worktree: Option<String>, options: Option<Options>) {
        let p = place_of(options)?;
        let ports = p.ports();
        let (reg, mut states) = ports.observe(worktree.as_deref(), &SystemHealthProbe::default())?;
        servers::mark_started(ports.registry_path(), &mut states);
        // Free means what allocatePort means: unallocated, and bindable now.
        let probe = atlas_ports_native::SystemProbe;
        Ok(StatusReport::from(status::by_range_probed(&reg, states, &|port| {
            atlas_ports_core::Probe::is_free(&probe, port)
        })))
    }
}

export! {
    #[doc = " Duplicate ports, foreign listeners, allocations nothing listens on, and broken ranges."]
    check_conflicts, check_conflicts_sync, ConflictReport, "Promise<ConflictReport>",
    (options: Option<Options>) {
        Ok(ConflictReport::from(place_of(options)?.ports().conflicts(&SystemHealthProbe::default())?))
    }
}

export! {
    #[doc = " Probes every allocation (only `worktree`'s when given) at all levels — listening, which"]
    #[doc = " process, does the service answer — and stores `healthStatus` and `processId` in the"]
    #[doc = " registry."]
    health_check, health_check_sync, HealthReport, "Promise<HealthReport>",
    (worktree: Option<String>, options: Option<Options>) {
        let p = place_of(options)?;
        let ports = p.ports();
        let mut states = ports.health_check(worktree.as_deref(), &SystemHealthProbe::default())?;
        servers::mark_started(ports.registry_path(), &mut states);
        Ok(HealthReport::from(report::HealthReport::new(states)))
    }
}

export! {
    #[doc = " Ensures a port for every service of the worktree's atlas-ports.toml and writes its env file"]
    #[doc = " (only when it changes)."]
    up, up_sync, UpReport, "Promise<UpReport>",
    (options: Option<Options>) {
        let p = place_of(options)?;
        Ok(UpReport::from(lifecycle::up(&p.ctx, p.registry.as_deref())?.0))
    }
}

export! {
    #[doc = " Stops the worktree's servers (only processes provably its, as `stop` does), then releases"]
    #[doc = " its ports and removes the env file `up` wrote (never another file)."]
    down, down_sync, DownReport, "Promise<DownReport>",
    (options: Option<DownOptions>) {
        let o = options.unwrap_or_default();
        let grace = millis("grace", o.grace, DEFAULT_GRACE_MS)?;
        let p = place(o.registry, o.cwd)?;
        Ok(DownReport::from(lifecycle::down_stopping(&p.ctx, p.registry.as_deref(), grace)?))
    }
}

export! {
    #[doc = " Ensures the worktree's ports and env file (as `up`), starts the commands its atlas-ports.toml"]
    #[doc = " declares that are not running yet (each in a session of its own, output in a log file),"]
    #[doc = " and waits up to `options.timeout` ms (default 60000) until they are ready. Resolves with"]
    #[doc = " what became of each service: a service not ready in time is `state: 'not_ready'`, not an error."]
    start, start_sync, StartReport, "Promise<StartReport>",
    (options: Option<StartOptions>) {
        let o = options.unwrap_or_default();
        let timeout = millis("timeout", o.timeout, DEFAULT_START_TIMEOUT_MS)?;
        let p = place(o.registry, o.cwd)?;
        let options = servers::StartOptions { service: o.service, timeout };
        let (up, report, _) = servers::start(&p.ctx, p.registry.as_deref(), &options)?;
        Ok(StartReport::new(up, report))
    }
}

export! {
    #[doc = " Stops the worktree's servers, keeping its ports: those atlas-ports started (still the same"]
    #[doc = " process) and those listening on its ports from inside its folder, as this user. SIGTERM,"]
    #[doc = " `options.grace` ms (default 5000), then SIGKILL. Anything else is reported in `leftAlone`,"]
    #[doc = " never signalled."]
    stop, stop_sync, StopReport, "Promise<StopReport>",
    (options: Option<StopOptions>) {
        let o = options.unwrap_or_default();
        let grace = millis("grace", o.grace, DEFAULT_GRACE_MS)?;
        let p = place(o.registry, o.cwd)?;
        let options = servers::StopOptions { service: o.service, grace, dry_run: false };
        Ok(StopReport::from(servers::stop_here(&p.ctx, p.registry.as_deref(), &options)?))
    }
}

export! {
    #[doc = " The worktree's atlas-ports.toml, parsed and checked; `null` when there is none (or no worktree)."]
    project_file, project_file_sync, Option<ProjectInfo>, "Promise<ProjectInfo | null>",
    (options: Option<Options>) {
        let p = place_of(options)?;
        match lifecycle::project(&p.ctx) {
            Ok((project, _)) => Ok(Some(ProjectInfo {
                env_file: project.env_file.display().to_string(),
                vite_service: project.vite_service().name.clone(),
                services: project.services.iter().map(DeclaredService::from).collect(),
            })),
            Err(CoreError::ProjectFileMissing { .. } | CoreError::NotInWorktree { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Options of `runCli`.
#[cfg(feature = "cli")]
#[napi(object)]
#[derive(Debug, Default, Clone)]
pub struct RunCliOptions {
    /// Let `atlas-ports run` replace this process with its command (exec), as the npm package's
    /// `bin` does. Default `false`: the command runs as a child and this process goes on.
    pub replace_process: Option<bool>,
    /// The command line that runs this same program again, for the processes it starts to
    /// outlive it (`proxy start`, and `checkout` when no proxy runs) and for `proxy service`:
    /// the program, then the arguments before a subcommand. The package's `runCli` passes Node
    /// and the package's bin script (`[process.execPath, '…/bin/atlas-ports.js']`).
    pub self_command: Option<Vec<String>>,
}

/// Runs the `atlas-ports` command line (`args` without the program name) in this process and
/// returns its exit status. The npm package's `bin` is this, so `npx atlas-ports …` is the
/// very same program.
#[cfg(feature = "cli")]
#[napi]
pub fn run_cli(args: Vec<String>, options: Option<RunCliOptions>) -> i32 {
    let options = options.unwrap_or_default();
    let this = match options.self_command.as_deref() {
        None | Some([]) => None,
        Some([program, leading @ ..]) => {
            match atlas_ports_native::SelfCommand::new(program, leading.iter().map(Into::into).collect()) {
                Ok(this) => Some(this),
                Err(e) => {
                    eprintln!("atlas-ports: error: runCli(): selfCommand: {e}");
                    return 2;
                }
            }
        }
    };
    let launch = if options.replace_process.unwrap_or(false) {
        atlas_ports_cli::Launch::ReplaceProcess
    } else {
        atlas_ports_cli::Launch::Child
    };
    let argv = std::iter::once("atlas-ports".to_owned()).chain(args).map(Into::into).collect();
    atlas_ports_cli::run_with(argv, launch, this)
}
