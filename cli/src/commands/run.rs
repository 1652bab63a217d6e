//! `atlas-ports run --service S -- CMD ARGS…`: ensure the worktree's ports, then become the
//! command with the ports in its environment and arguments.

use super::{Exit, Invocation};
use crate::args::RunArgs;
use crate::output;
use atlas_ports_core::env_export::{self, variable_name};
use atlas_ports_core::{AllocateRequest, Error, Result};
use std::ffi::OsString;
use std::process::Command;

pub fn run(inv: &Invocation<'_>, args: RunArgs) -> Result<Exit> {
    let ports = inv.ports();
    // Everything that can be wrong is found before the first write: a failed `run` leaves the
    // registry as it was (but for the ranges atlas-ports.toml declares, added first).
    let services: Vec<&str> = args.service.iter().map(String::as_str).collect();
    atlas_ports_native::lifecycle::declare_ranges(inv.ws, &ports, &services)?;
    let registry = ports.load()?;
    for service in &args.service {
        registry.range_of(service)?;
        env_export::check_distinct(service, args.service.iter().map(String::as_str))?;
    }
    let named: Vec<(&str, u16)> = args.service.iter().map(|s| (s.as_str(), 0)).collect();
    for arg in &args.command {
        substitute(arg, &named)?;
    }
    let mut worktree = inv.ws.worktree_name(&ports, args.worktree.as_deref())?;
    let mut held: Vec<(&str, u16)> = Vec::new();
    for service in &args.service {
        if held.iter().any(|(s, _)| s == service) {
            continue;
        }
        let request = AllocateRequest {
            description: &args.description,
            ..inv.ws.request(&ports, service, args.worktree.as_deref())?
        };
        let ensured = ports.ensure_usable(&request, &atlas_ports_native::SystemHealthProbe::default())?;
        super::note_created(inv, &ports);
        super::note_moved(&ensured);
        worktree = ensured.allocation.worktree.to_string();
        held.push((service, ensured.allocation.port));
    }
    let argv = args.command.iter().map(|a| substitute(a, &held)).collect::<Result<Vec<_>>>()?;

    let mut command = Command::new(&argv[0]);
    command.args(&argv[1..]).env("PORT", held[0].1.to_string()).env("ATLAS_PORTS_WORKTREE", &worktree);
    command.envs(atlas_ports_native::local_ca::node_ca_variable());
    for (service, port) in &held {
        command.env(variable_name(service), port.to_string());
    }
    // While a proxy for the registry runs, each service's named URL too.
    let urls = match atlas_ports_native::proxy::named_urls(inv.ws, ports.registry_path())? {
        (Some(named), _) => named.variables(&worktree, held.iter().map(|(s, _)| *s)),
        (None, _) => Vec::new(),
    };
    for (name, url) in &urls {
        command.env(name, url);
    }
    if !args.quiet {
        let mut ports: Vec<String> = held.iter().map(|(s, p)| format!("{}={p} ({s})", variable_name(s))).collect();
        ports.extend(urls.iter().map(|(name, url)| format!("{name}={url}")));
        output::note(&format!("atlas-ports: worktree '{worktree}': PORT={} {}", held[0].1, ports.join(" ")));
    }
    Ok(launch(command, &argv[0], inv.launch))
}

/// Replaces `{port}` with the first service's port and `{port:NAME}` with service NAME's.
fn substitute(arg: &OsString, held: &[(&str, u16)]) -> Result<OsString> {
    let Some(text) = arg.to_str() else { return Ok(arg.clone()) };
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("{port") {
        out.push_str(&rest[..at]);
        let tail = &rest[at + 5..];
        if let Some(after) = tail.strip_prefix('}') {
            out.push_str(&held[0].1.to_string());
            rest = after;
        } else if let Some((name, after)) = tail.strip_prefix(':').and_then(|t| t.split_once('}')) {
            let port =
                held.iter().find(|(s, _)| *s == name).map(|(_, p)| *p).ok_or_else(|| Error::InvalidArgument {
                    what: "argument",
                    value: text.to_owned(),
                    reason: format!(
                        "{{port:{name}}} names a service not given with --service (given: {})",
                        held.iter().map(|(s, _)| *s).collect::<Vec<_>>().join(", ")
                    ),
                })?;
            out.push_str(&port.to_string());
            rest = after;
        } else {
            out.push_str("{port");
            rest = tail;
        }
    }
    out.push_str(rest);
    Ok(out.into())
}

/// Runs the command in this process's place (exec on Unix, so signals reach it directly and
/// its exit status is ours; a waited-for child on Windows), or as a child when the caller
/// must go on.
fn launch(command: Command, program: &OsString, how: crate::Launch) -> Exit {
    let started = match how {
        crate::Launch::ReplaceProcess => atlas_ports_native::platform::run_in_place(command),
        crate::Launch::Child => atlas_ports_native::platform::run_child(command),
    };
    let error = match started {
        Ok(code) => return Exit::Code(code),
        Err(e) => e,
    };
    let name = program.to_string_lossy();
    if error.kind() == std::io::ErrorKind::NotFound {
        output::note(&format!("atlas-ports: error: cannot run '{name}': command not found"));
        Exit::Code(127)
    } else {
        output::note(&format!("atlas-ports: error: cannot run '{name}': {error}"));
        Exit::Code(126)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_replaced() {
        let held = [("web", 8080), ("api", 3000)];
        let sub = |s: &str| substitute(&OsString::from(s), &held).map(|o| o.into_string().unwrap());
        assert_eq!(sub("-p {port}").unwrap(), "-p 8080");
        assert_eq!(sub("{port:api}/{port:web}/{port}").unwrap(), "3000/8080/8080");
        assert_eq!(sub("{port").unwrap(), "{port");
        assert_eq!(sub("{portal}").unwrap(), "{portal}");
        assert_eq!(sub("{port:api").unwrap(), "{port:api");
        let err = sub("{port:db}").unwrap_err();
        assert!(
            err.to_string().contains("{port:db} names a service not given with --service (given: web, api)"),
            "{err}"
        );
    }
}
