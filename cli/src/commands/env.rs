//! `atlas-ports env`: a worktree's ports as environment variables.

use super::{Exit, Invocation};
use crate::args::{EnvArgs, OutputFormat};
use crate::output;
use atlas_ports_core::{Result, env_export};

pub fn run(inv: &Invocation<'_>, args: EnvArgs) -> Result<Exit> {
    let format = inv.env_format()?;
    let ports = inv.ports();
    let worktree = inv.ws.worktree_name(&ports, args.worktree.as_deref())?;
    let allocations = ports.list(Some(&worktree))?;
    let (vars, shadowed) = env_export::port_variables(&allocations)?;
    for warning in shadowed {
        output::note(&format!("atlas-ports: warning: {warning}"));
    }
    if vars.is_empty() {
        output::note(&format!("atlas-ports: no ports allocated to worktree '{worktree}'"));
    }
    // While a proxy for the registry runs, each service's named URL beside its port.
    let (named, warning) = atlas_ports_native::proxy::named_urls(inv.ws, ports.registry_path())?;
    if let Some(w) = warning {
        output::note(&w);
    }
    let urls = named.map(|n| n.variables(&worktree, vars.iter().map(|v| v.service.as_str()))).unwrap_or_default();
    match format {
        OutputFormat::Sh => {
            let mut text = env_export::shell(&vars, &worktree);
            for (name, url) in &urls {
                text.push_str(&format!("export {name}={}\n", env_export::shell_quote(url)));
            }
            output::text(&text)?
        }
        OutputFormat::Json => {
            let mut value = env_export::json(&vars);
            for (name, url) in urls {
                value[name] = serde_json::Value::from(url);
            }
            output::json(&value)?
        }
        OutputFormat::Dotenv | OutputFormat::Text => {
            let mut text = env_export::dotenv(&vars);
            for (name, url) in &urls {
                text.push_str(&format!("{name}={url}\n"));
            }
            output::text(&text)?
        }
    }
    Ok(Exit::Success)
}
