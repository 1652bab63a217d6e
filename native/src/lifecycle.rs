//! `up` and `down`: a worktree's declared services (`atlas-ports.toml` at its root) get their
//! ports and an env file; `down` gives them back and removes the env file `up` wrote.

use crate::{SystemHealthProbe, Workspace, WorktreeFile};
use atlas_ports_core::env_export::variable_name;
use atlas_ports_core::project::{PROJECT_FILE, ProjectFile, written_by_up};
use atlas_ports_core::report::{DownReport, ServicePort, UpReport};
use atlas_ports_core::{AllocateRequest, Error, Ports, Result};
use std::path::{Path, PathBuf};

/// The folders an env file may not be in: git's, and the one the registry is created in.
const ENV_FILE_NOT_IN: &[&str] = &[".git", ".atlas"];

/// The project file of the worktree the workspace is in, parsed; with the worktree's root.
pub fn project(ws: &Workspace) -> Result<(ProjectFile, PathBuf)> {
    let root = worktree_root(ws)?;
    let file = WorktreeFile::inside("project file", &root, Path::new(PROJECT_FILE))?;
    let text = file.read()?.ok_or_else(|| Error::ProjectFileMissing { path: file.path().to_owned() })?;
    Ok((ProjectFile::parse(file.path(), &text)?, root))
}

/// The services whose command the atlas-ports.toml at the root of the worktree folder `root`
/// declares (what `start` can start there); none when it has no usable project file.
pub fn declared_commands(root: &Path) -> Vec<String> {
    let Ok(file) = WorktreeFile::inside("project file", root, Path::new(PROJECT_FILE)) else { return Vec::new() };
    match file.read() {
        Ok(Some(text)) => ProjectFile::parse(file.path(), &text)
            .map(|p| p.services.into_iter().filter(|s| s.command.is_some()).map(|s| s.name).collect())
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// Adds the ranges the worktree's project file declares to the registry, when it has a project
/// file and they are missing (see [`Ports::declare`]): what `allocate`, `ensure` and `run` do
/// first, so a repository's own services work without editing the registry.
/// `services` are the ones the caller goes on to allocate: an unknown one is refused before
/// anything is written.
pub fn declare_ranges(ws: &Workspace, ports: &Ports<'_>, services: &[&str]) -> Result<()> {
    match project(ws) {
        Ok((project, _)) => ports.declare(&project, services).map(drop),
        Err(Error::ProjectFileMissing { .. } | Error::NotInWorktree { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Ensures every declared service's port for this worktree, then writes the env file, only
/// when its text changes (atomically). An env file that `up` did not write is never replaced,
/// and one whose path leads out of the worktree is never read or written.
pub fn up(ws: &Workspace, registry: Option<&Path>) -> Result<(UpReport, bool)> {
    let (project, root) = project(ws)?;
    let env = WorktreeFile::inside("env file", &root, &project.env_file)?.outside_of(ENV_FILE_NOT_IN)?;
    let existing = env.read()?;
    if existing.as_deref().is_some_and(|t| !written_by_up(t)) {
        return Err(Error::InvalidArgument {
            what: "env file",
            value: ws.display(env.path()),
            reason: "exists and was not written by `atlas-ports up`: move it away, or name another env_file in atlas-ports.toml".to_owned(),
        });
    }
    let ports = ws.ports(registry);
    ports.declare(&project, &[])?;
    project.check_ranges(&ports.load()?)?;
    let probe = SystemHealthProbe::default();
    let mut services = Vec::new();
    for s in &project.services {
        let req = AllocateRequest { description: &s.description, ..ws.request(&ports, &s.name, None)? };
        let e = ports.ensure_usable(&req, &probe)?;
        services.push(ServicePort {
            service: s.name.clone(),
            port: e.allocation.port,
            variable: variable_name(&s.name),
            moved_from: e.moved_from,
            warning: e.warning,
            url: None,
        });
    }
    let pairs: Vec<(String, u16)> = services.iter().map(|s| (s.service.clone(), s.port)).collect();
    // Node in whatever reads the env file trusts the HTTPS named URLs, as under `run`.
    let extra: Vec<(String, String)> = crate::local_ca::node_ca_variable()
        .map(|(name, path)| (name.to_owned(), path.to_string_lossy().into_owned()))
        .into_iter()
        .collect();
    let mut text = project.env_text_with(&pairs, &extra);
    let worktree = ws.worktree_name(&ports, None)?;
    // While a proxy for the registry runs, each service's named URL too.
    if let (Some(urls), _) = crate::proxy::named_urls(ws, ports.registry_path())? {
        for s in &mut services {
            s.url = Some(urls.url(&s.service, &worktree));
        }
        for (name, url) in urls.variables(&worktree, services.iter().map(|s| s.service.as_str())) {
            text.push_str(&format!("{name}={url}\n"));
        }
    }
    let written = existing.as_deref() != Some(text.as_str());
    if written {
        env.write(text.as_bytes())?;
    }
    let report = UpReport { worktree, env_file: ws.display(env.path()), written, services };
    Ok((report, ports.created_registry()))
}

/// [`down`], after stopping the worktree's servers as [`crate::servers::stop_here`] does (only
/// the processes provably the worktree's; `grace` between SIGTERM and SIGKILL). What `atlas-ports
/// down` and the MCP server's `down` do.
pub fn down_stopping(ws: &Workspace, registry: Option<&Path>, grace: std::time::Duration) -> Result<DownReport> {
    let options = crate::servers::StopOptions { service: None, grace, dry_run: false };
    let stopped = crate::servers::stop_here(ws, registry, &options)?;
    let mut report = down(ws, registry)?;
    report.servers = Some(stopped);
    Ok(report)
}

/// `prune`, after stopping the servers of the worktrees that are gone as
/// [`crate::servers::reap`] does (only the processes provably theirs): what `atlas-ports prune`,
/// the dashboard's, the MCP server's and Node's `prune` do. A dry run signals nothing and
/// releases nothing; it counts the ports of the servers it would stop as free.
pub fn prune_stopping(
    ws: &Workspace,
    registry: Option<&Path>,
    grace: std::time::Duration,
    dry_run: bool,
) -> Result<atlas_ports_core::report::PruneReport> {
    let ports = ws.ports(registry);
    let facts = crate::GitFacts::new(ws.repository_root(ports.registry_path()).as_deref());
    let servers = crate::servers::reap(ws, registry, grace, dry_run)?;
    let released = if dry_run {
        // The ports the servers to stop listen on would be free once they are stopped.
        let freed: Vec<u16> = servers.iter().flat_map(|r| &r.stopped).filter_map(|p| p.port).collect();
        ports.prune_preview(&facts, &|port| freed.contains(&port))?
    } else {
        ports.prune(false, &facts)?
    };
    Ok(atlas_ports_core::report::PruneReport { dry_run, released, servers })
}

/// Releases this worktree's ports and removes the env file `up` wrote (never another file).
/// The files are checked first: a project or env file that cannot be used releases nothing.
pub fn down(ws: &Workspace, registry: Option<&Path>) -> Result<DownReport> {
    let root = worktree_root(ws)?;
    let env_file = match project(ws) {
        Ok((p, _)) => p.env_file,
        Err(Error::ProjectFileMissing { .. }) => PathBuf::from(atlas_ports_core::project::DEFAULT_ENV_FILE),
        Err(e) => return Err(e),
    };
    let env = WorktreeFile::inside("env file", &root, &env_file)?.outside_of(ENV_FILE_NOT_IN)?;
    let existing = env.read()?;
    let ports = ws.ports(registry);
    let worktree = ws.worktree_name(&ports, None)?;
    let released = ports.release_worktree(&worktree)?;
    let (mut removed, mut kept) = (None, None);
    if let Some(text) = existing {
        if written_by_up(&text) {
            env.remove()?;
            removed = Some(ws.display(env.path()));
        } else {
            kept = Some(ws.display(env.path()));
        }
    }
    Ok(DownReport { worktree, released, removed, kept, servers: None })
}

fn worktree_root(ws: &Workspace) -> Result<PathBuf> {
    ws.current_worktree().map(|w| w.root.clone()).ok_or_else(|| Error::NotInWorktree { cwd: ws.cwd.clone() })
}
