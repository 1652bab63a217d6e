//! `up` and `down`: a worktree's declared services (`atlas-ports.toml` at its root) get their
//! ports and an env file; `down` gives them back and removes the env file `up` wrote.

use crate::{SystemHealthProbe, Workspace};
use atlas_ports_core::env_export::variable_name;
use atlas_ports_core::project::{PROJECT_FILE, ProjectFile, written_by_up};
use atlas_ports_core::report::{DownReport, ServicePort, UpReport};
use atlas_ports_core::{AllocateRequest, Error, Result};
use std::fs;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

/// The project file of the worktree the workspace is in, parsed; with the worktree's root.
pub fn project(ws: &Workspace) -> Result<(ProjectFile, PathBuf)> {
    let root = worktree_root(ws)?;
    let path = root.join(PROJECT_FILE);
    let text = match fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == ErrorKind::NotFound => return Err(Error::ProjectFileMissing { path }),
        Err(source) => return Err(Error::Io { action: "read", path, source }),
    };
    Ok((ProjectFile::parse(&path, &text)?, root))
}

/// Ensures every declared service's port for this worktree, then writes the env file, only
/// when its text changes (atomically). An env file that `up` did not write is never replaced.
pub fn up(ws: &Workspace, registry: Option<&Path>) -> Result<(UpReport, bool)> {
    let (project, root) = project(ws)?;
    let env_path = root.join(&project.env_file);
    let existing = match fs::read_to_string(&env_path) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == ErrorKind::NotFound => None,
        Err(source) => return Err(Error::Io { action: "read", path: env_path, source }),
    };
    if existing.as_deref().is_some_and(|t| !written_by_up(t)) {
        return Err(Error::InvalidArgument {
            what: "env file",
            value: ws.display(&env_path),
            reason: "exists and was not written by `atlas-ports up`: move it away, or name another env_file in atlas-ports.toml".to_owned(),
        });
    }
    let ports = ws.ports(registry);
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
        });
    }
    let pairs: Vec<(String, u16)> = services.iter().map(|s| (s.service.clone(), s.port)).collect();
    let text = project.env_text(&pairs);
    let written = existing.as_deref() != Some(text.as_str());
    if written {
        write_atomically(&env_path, text.as_bytes())?;
    }
    let worktree = ws.worktree_name(&ports, None)?;
    let report = UpReport { worktree, env_file: ws.display(&env_path), written, services };
    Ok((report, ports.created_registry()))
}

/// Releases this worktree's ports and removes the env file `up` wrote (never another file).
pub fn down(ws: &Workspace, registry: Option<&Path>) -> Result<DownReport> {
    let root = worktree_root(ws)?;
    let env_file = match project(ws) {
        Ok((p, _)) => p.env_file,
        Err(Error::ProjectFileMissing { .. }) => PathBuf::from(atlas_ports_core::project::DEFAULT_ENV_FILE),
        Err(e) => return Err(e),
    };
    let ports = ws.ports(registry);
    let worktree = ws.worktree_name(&ports, None)?;
    let released = ports.release_worktree(&worktree)?;
    let env_path = root.join(env_file);
    let (mut removed, mut kept) = (None, None);
    if let Ok(text) = fs::read_to_string(&env_path) {
        if written_by_up(&text) {
            fs::remove_file(&env_path).map_err(|source| Error::Io {
                action: "remove",
                path: env_path.clone(),
                source,
            })?;
            removed = Some(ws.display(&env_path));
        } else {
            kept = Some(ws.display(&env_path));
        }
    }
    Ok(DownReport { worktree, released, removed, kept })
}

fn worktree_root(ws: &Workspace) -> Result<PathBuf> {
    ws.current_worktree().map(|w| w.root.clone()).ok_or_else(|| Error::NotInWorktree { cwd: ws.cwd.clone() })
}

/// A flushed temporary file beside `path`, renamed over it.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let io = |source| Error::Io { action: "write", path: path.to_owned(), source };
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(format!(".{}.tmp", std::process::id()));
    let tmp = path.with_file_name(name);
    let result = fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_data()))
        .and_then(|()| crate::platform::replace_file(&tmp, path));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(io)
}
