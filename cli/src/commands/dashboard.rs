//! `atlas-ports dashboard [--port PORT] [--open]` (port 1355 by default, 0 for any free one): the live page and named URLs (the
//! `atlas-ports-server` crate), served until Ctrl+C or `q`.

use super::{Exit, Invocation};
use crate::args::DashboardArgs;
use crate::output;
use atlas_ports_core::Result;
use atlas_ports_server::{Listening, Options};
use std::path::PathBuf;
use std::time::Duration;

pub fn run(inv: &Invocation<'_>, args: DashboardArgs) -> Result<Exit> {
    let json = inv.json()?;
    let options = Options {
        cwd: inv.ws.cwd.clone(),
        registry: inv.registry().map(PathBuf::from),
        // 1355 unless told otherwise, so named URLs keep their address across restarts.
        port: Some(atlas_ports_native::proxy::configured_port(inv.ws, args.port)?).filter(|&p| p != 0),
        proxy_timeout: Duration::from_secs(args.proxy_timeout),
        open: args.open,
    };
    let mut announce = |l: &Listening| {
        if json {
            output::text(&format!("{}\n", serde_json::json!({ "url": l.url, "https": l.https, "port": l.port })))
        } else {
            let https = match &l.https {
                Some(url) => format!(
                    "https: {url} and https://<service>.<worktree>.localhost:{}/ (same port; `atlas-ports trust` once)\n",
                    l.port
                ),
                None => String::new(),
            };
            output::text(&format!(
                "atlas-ports dashboard: {}\nregistry: {}\nnamed URLs: http://<service>.<worktree>.localhost:{}/\n{https}Ctrl+C or q to stop; `atlas-ports proxy start` runs it in the background.\n",
                l.url, l.registry, l.port
            ))
        }
    };
    atlas_ports_server::serve(&options, &mut announce, &|w| output::note(w))?;
    Ok(Exit::Success)
}
