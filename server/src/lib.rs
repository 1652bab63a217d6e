//! The atlas-ports server, behind `atlas-ports dashboard`: one local HTTP server (hyper on a single-threaded tokio runtime)
//! that serves
//! - the dashboard page at `http://127.0.0.1:PORT/` ([`page`]) and its JSON API ([`api`]):
//!   every worktree's services with their live state, the conflicts, and the actions;
//! - named URLs, `http://<service>.<worktree>.localhost:PORT/`, proxied to the port that
//!   worktree's service holds today ([`proxy`]).
//!
//! Which of the two a request is for is decided by its `Host` alone ([`server`]); any other
//! `Host` is refused, which is what defeats DNS rebinding. It listens on 127.0.0.1 only. The
//! registry work (probes, releases) runs on tokio's blocking threads through the same
//! [`atlas_ports_core::Ports`] operations as the CLI.

mod api;
mod checkout;
mod head;
mod http;
mod lookup;
mod page;
mod proxy;
mod server;
#[cfg(feature = "tls")]
pub mod tls;

use atlas_ports_core::{Error, Ports, Result};
use atlas_ports_native::Workspace;
use std::net::{Ipv4Addr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// What every request may use.
#[derive(Debug)]
pub struct Context {
    ws: Workspace,
    registry: Option<PathBuf>,
    /// The port this server listens on: the only one its `Host`s may name.
    pub port: u16,
    /// The per-run secret the served page carries and every API request must send back.
    pub token: String,
    state: api::StateCache,
    /// What named-URL requests share: the response timeout and the tunnels open.
    proxy: proxy::Limits,
    /// The registry lookups behind named URLs.
    lookups: lookup::Lookups,
    /// The local CA and the leaves it issued, for HTTPS on the same port.
    #[cfg(feature = "tls")]
    tls: tls::Tls,
}

impl Context {
    /// The registry operations, as the CLI's (`--registry`, else the discovered registry).
    pub fn ports(&self) -> Ports<'_> {
        self.ws.ports(self.registry.as_deref())
    }

    /// The registry's path as the user would write it.
    pub fn registry_display(&self) -> String {
        self.ws.display(self.ports().registry_path())
    }

    /// The workspace (for prune's git facts).
    pub fn workspace(&self) -> &Workspace {
        &self.ws
    }
}

/// How to serve: what `atlas-ports dashboard`'s options say.
#[derive(Debug, Clone)]
pub struct Options {
    /// The folder the server was started from (the registry is discovered from it).
    pub cwd: PathBuf,
    /// `--registry`, when given.
    pub registry: Option<PathBuf>,
    /// The port to listen on; `None` takes a free one.
    pub port: Option<u16>,
    /// How long a proxied service may take to answer.
    pub proxy_timeout: Duration,
    /// Open the page in the default browser once listening.
    pub open: bool,
}

/// Where the server listens, told to the caller once it does.
#[derive(Debug, Clone)]
pub struct Listening {
    pub url: String,
    /// The same page over HTTPS, when built with TLS (same port).
    pub https: Option<String>,
    pub port: u16,
    /// The registry's path as the user would write it.
    pub registry: String,
}

/// Serves until Ctrl+C or `q` at the terminal (or a signal when not on one). `announce` is
/// told where it listens before the first connection is taken; a warning (a browser that
/// could not be opened) goes to `warn`.
pub fn serve(options: &Options, announce: &mut dyn FnMut(&Listening) -> Result<()>, warn: &dyn Fn(&str)) -> Result<()> {
    let system = |action: &'static str| move |source| Error::System { action, source };
    let listener =
        TcpListener::bind((Ipv4Addr::LOCALHOST, options.port.unwrap_or(0))).map_err(|e| match options.port {
            Some(port) if e.kind() == std::io::ErrorKind::AddrInUse => {
                let ws = Workspace::at(options.cwd.clone());
                let registry = ws.as_ref().map(|ws| ws.ports(options.registry.as_deref()).registry_path().to_owned());
                let registry = registry.unwrap_or_default();
                Error::PortTaken { port, holder: atlas_ports_native::proxy::holder(port, &registry) }
            }
            Some(port) => Error::InvalidArgument {
                what: "--port",
                value: port.to_string(),
                reason: format!("cannot listen on 127.0.0.1:{port}: {e}"),
            },
            None => Error::System { action: "listen on 127.0.0.1 for the dashboard", source: e },
        })?;
    listener.set_nonblocking(true).map_err(system("set up the dashboard's socket"))?;
    let port = listener.local_addr().map_err(system("set up the dashboard's socket"))?.port();
    let ctx = Arc::new(Context {
        ws: Workspace::at(options.cwd.clone())?,
        registry: options.registry.clone(),
        port,
        token: http::token().map_err(system("draw the dashboard's random token"))?,
        state: api::StateCache::default(),
        proxy: proxy::Limits::new(options.proxy_timeout),
        lookups: lookup::Lookups::default(),
        #[cfg(feature = "tls")]
        tls: tls::Tls { ca: tls::Ca::load_or_create()?, leaves: Default::default() },
    });
    let url = format!("http://127.0.0.1:{port}/");
    // Recorded once listening, so `proxy start|status|stop` and the URL_ variables find it.
    let registry = atlas_ports_native::proxy::absolute(ctx.ports().registry_path(), &options.cwd);
    let record = atlas_ports_native::proxy::own_record(&registry, port);
    if let Err(e) = atlas_ports_native::proxy::write(&registry, &record) {
        warn(&format!("atlas-ports: warning: named URLs will not be handed out: {e}"));
    }
    let _recorded = Recorded { registry: &registry, pid: record.pid, start_time: record.start_time };
    let https = cfg!(feature = "tls").then(|| format!("https://localhost:{port}/"));
    announce(&Listening { url: url.clone(), https, port, registry: ctx.registry_display() })?;
    if options.open
        && let Err(e) = open_browser(&url)
    {
        warn(&format!("atlas-ports: warning: could not open a browser ({e}); open {url} yourself"));
    }
    let mut keys = atlas_ports_native::Keys::listen()
        .map_err(|source| Error::System { action: "listen to the keyboard for Ctrl+C", source })?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(system("start the dashboard's server"))?;
    runtime
        .block_on(async {
            let listener = tokio::net::TcpListener::from_std(listener)?;
            let accepting = tokio::spawn(server::accept(listener, ctx.clone()));
            let (notes_to, mut notes) = tokio::sync::mpsc::unbounded_channel();
            let forwarding = tokio::spawn(checkout::forward(ctx.clone(), notes_to));
            while !keys.stop_requested() {
                tokio::time::sleep(Duration::from_millis(100)).await;
                while let Ok(note) = notes.try_recv() {
                    warn(&note);
                }
            }
            accepting.abort();
            forwarding.abort();
            Ok::<(), std::io::Error>(())
        })
        .map_err(system("serve the dashboard"))?;
    runtime.shutdown_background();
    checkout::stopped(&ctx);
    drop(keys);
    Ok(())
}

/// Removes this server's state file when it ends (while it is still this server's).
struct Recorded<'r> {
    registry: &'r std::path::Path,
    pid: u32,
    start_time: u64,
}

impl Drop for Recorded<'_> {
    fn drop(&mut self) {
        atlas_ports_native::proxy::remove_if_own(self.registry, self.pid, self.start_time);
    }
}

/// Opens `url` with the system's handler for web links.
fn open_browser(url: &str) -> std::io::Result<()> {
    use std::process::{Command, Stdio};
    let mut command = if cfg!(target_os = "macos") {
        let mut c = Command::new("open");
        c.arg(url);
        c
    } else if cfg!(windows) {
        let mut c = Command::new("rundll32");
        c.args(["url.dll,FileProtocolHandler", url]);
        c
    } else {
        let mut c = Command::new("xdg-open");
        c.arg(url);
        c
    };
    command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().map(drop)
}
