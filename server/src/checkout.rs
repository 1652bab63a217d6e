//! Canonical ports: each service checked out with `atlas-ports checkout` (recorded in
//! `checkouts.json` beside the registry) is listened for on 127.0.0.1:PORT (and [::1]:PORT
//! where the host has IPv6), and every connection accepted there is forwarded as raw TCP to the
//! port the holding worktree's allocation of the service has now: HTTP, WebSockets, anything.
//!
//! Every [`TICK`] the file is looked at (its fingerprint first; read only when it changed), and
//! so is the registry (for the holders' ports): a checkout that moved sends new connections to
//! the new holder (open ones stay where they are), a released one stops being listened for. A
//! port another process holds is never fought over: it is reported once, and tried again each
//! tick. What this server forwards is written to its own file beside the registry
//! ([`atlas_ports_native::checkouts::Forwarders`]), which is how `atlas-ports checkout` knows
//! the forwarding took effect.

use super::Context;
use atlas_ports_core::FileSystem as _;
use atlas_ports_core::checkout::CheckoutsFile;
use atlas_ports_native::checkouts::{Checkouts, Forwarded, ForwarderState, Forwarders};
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;

/// How often the checkouts file and the registry are looked at.
pub const TICK: Duration = Duration::from_millis(250);
/// The most forwarded connections open at once, over every canonical port.
const MAX_FORWARDED: usize = 256;

/// One canonical port being listened for.
struct Bound {
    port: u16,
    worktree: String,
    /// Where new connections go: the holder's port now (0 while it holds none).
    target: Arc<AtomicU16>,
    /// Told the holder when it changes: the connections forwarded to the one before are closed.
    holder: tokio::sync::watch::Sender<String>,
    accepting: Vec<JoinHandle<()>>,
}

impl Drop for Bound {
    fn drop(&mut self) {
        // Ends the accept loops, which closes the listening sockets; forwarded connections
        // already open go on until either side closes.
        for task in &self.accepting {
            task.abort();
        }
    }
}

/// Forwards the checked-out canonical ports until the task is aborted; what a person should
/// know (a port taken by another process, an unreadable file) goes to `notes`, once.
pub async fn forward(ctx: Arc<Context>, notes: UnboundedSender<String>) {
    let registry = ctx.ports().registry_path().to_owned();
    let checkouts = Checkouts::beside(&registry, atlas_ports_native::DEFAULT_LOCK_TIMEOUT);
    let fs = atlas_ports_native::OsFs::default();
    let slots = Arc::new(Semaphore::new(MAX_FORWARDED));
    let mut bound: HashMap<String, Bound> = HashMap::new();
    let mut file = CheckoutsFile::default();
    let mut seen = None;
    let mut registry_seen = None;
    // Each allocation's port, by (service, worktree), as the registry was last read.
    let mut held: HashMap<(String, String), u16> = HashMap::new();
    let mut first = true;
    let mut told: HashMap<String, String> = HashMap::new();
    let mut written: Option<ForwarderState> = None;
    loop {
        let fingerprint = checkouts.fingerprint();
        // Where the system cannot fingerprint a file that is there, it is read every time.
        let changed = first || fingerprint != seen || (fingerprint.is_none() && checkouts.path().exists());
        if changed {
            let reader = Checkouts::beside(&registry, atlas_ports_native::DEFAULT_LOCK_TIMEOUT);
            match tokio::task::spawn_blocking(move || reader.read()).await {
                Ok(Ok(f)) => {
                    file = f;
                    seen = fingerprint;
                    told.remove("");
                }
                Ok(Err(e)) => {
                    // Keep forwarding what was read last; say why once.
                    let note = format!("atlas-ports: warning: canonical ports: {e}");
                    if told.get("").is_none_or(|n| *n != note) {
                        let _ = notes.send(atlas_ports_core::printable(&note).into_owned());
                        told.insert(String::new(), note);
                    }
                    seen = fingerprint;
                }
                Err(_) => {}
            }
        }
        // The holders' ports, from the registry, when it or the checkouts changed.
        let registry_now = fs.fingerprint(&registry);
        if changed || registry_now.is_none() || registry_now != registry_seen {
            let looked = ctx.clone();
            if let Ok(Ok(reg)) = tokio::task::spawn_blocking(move || looked.ports().load()).await {
                // Only the checked-out services' allocations: a registry may hold thousands.
                held = reg
                    .allocations
                    .iter()
                    .filter(|a| file.checkouts.contains_key(a.service.as_str()))
                    .map(|a| ((a.service.to_string(), a.worktree.to_string()), a.port))
                    .collect();
                registry_seen = registry_now;
            }
        }
        // Released (or moved to another port): stop listening.
        bound.retain(|service, b| file.checkouts.get(service).is_some_and(|c| c.port == b.port));
        let mut blocked = BTreeMap::new();
        for (service, c) in &file.checkouts {
            if let Some(b) = bound.get_mut(service) {
                if b.worktree != c.worktree {
                    b.worktree.clone_from(&c.worktree);
                    b.target.store(holder_port(&held, service, &c.worktree), Ordering::SeqCst);
                    b.holder.send_replace(c.worktree.clone());
                }
                continue;
            }
            match listen(c.port) {
                Ok(listeners) => {
                    told.remove(service);
                    let target = Arc::new(AtomicU16::new(0));
                    let (holder, _) = tokio::sync::watch::channel(c.worktree.clone());
                    let accepting = listeners
                        .into_iter()
                        .map(|l| tokio::spawn(accept(l, target.clone(), holder.subscribe(), slots.clone())))
                        .collect();
                    bound.insert(
                        service.clone(),
                        Bound { port: c.port, worktree: c.worktree.clone(), target, holder, accepting },
                    );
                }
                Err(e) => {
                    let port = c.port;
                    let why = match told.get(service) {
                        Some(why) => why.clone(),
                        None => {
                            let holder = tokio::task::spawn_blocking(move || {
                                atlas_ports_native::platform::find_listeners(&[port]).remove(&port)
                            })
                            .await
                            .ok()
                            .flatten();
                            let who = match holder.and_then(|l| l.pid.map(|p| (p, l.process))) {
                                Some((pid, Some(name))) => format!("PID {pid} ({name})"),
                                Some((pid, None)) => format!("PID {pid}"),
                                None => "another process".to_owned(),
                            };
                            let why = format!("{who} listens on it ({e})");
                            let _ = notes.send(atlas_ports_core::printable(&format!(
                                "atlas-ports: warning: canonical port {port} of '{service}' (checked out by '{}') is taken: {why}; not forwarding it, trying again until it is free",
                                c.worktree
                            )).into_owned());
                            told.insert(service.clone(), why.clone());
                            why
                        }
                    };
                    blocked.insert(service.clone(), why);
                }
            }
        }
        // Where each checkout's connections go now.
        for (service, b) in &bound {
            b.target.store(holder_port(&held, service, &b.worktree), Ordering::SeqCst);
        }
        let state = ForwarderState {
            pid: std::process::id(),
            port: ctx.port,
            forwarding: bound
                .iter()
                .map(|(s, b)| (s.clone(), Forwarded { port: b.port, worktree: b.worktree.clone() }))
                .collect(),
            blocked,
        };
        if written.as_ref() != Some(&state) {
            let (writer, to_write) = (Forwarders::beside(&registry), state.clone());
            if let Ok(Ok(())) = tokio::task::spawn_blocking(move || writer.write(&to_write)).await {
                written = Some(state);
            }
        }
        first = false;
        tokio::time::sleep(TICK).await;
    }
}

/// The port `worktree` holds for `service` (0: none).
fn holder_port(held: &HashMap<(String, String), u16>, service: &str, worktree: &str) -> u16 {
    held.get(&(service.to_owned(), worktree.to_owned())).copied().unwrap_or(0)
}

/// Removes this server's forwarder file (it stops forwarding as it exits).
pub fn stopped(ctx: &Context) {
    Forwarders::beside(ctx.ports().registry_path()).remove(std::process::id());
}

/// Listens on 127.0.0.1:`port`, and on [::1]:`port` too where the host has IPv6 (a browser may
/// resolve `localhost` to either). Only the first must succeed.
fn listen(port: u16) -> std::io::Result<Vec<tokio::net::TcpListener>> {
    let mut listeners = Vec::new();
    for (i, ip) in [std::net::IpAddr::from(Ipv4Addr::LOCALHOST), Ipv6Addr::LOCALHOST.into()].into_iter().enumerate() {
        let listener = match std::net::TcpListener::bind(SocketAddr::new(ip, port)) {
            Ok(l) => l,
            Err(e) if i == 0 => return Err(e),
            Err(_) => continue,
        };
        listener.set_nonblocking(true)?;
        listeners.push(tokio::net::TcpListener::from_std(listener)?);
    }
    Ok(listeners)
}

async fn accept(
    listener: tokio::net::TcpListener,
    target: Arc<AtomicU16>,
    holder: tokio::sync::watch::Receiver<String>,
    slots: Arc<Semaphore>,
) {
    loop {
        let slot = slots.clone().acquire_owned().await.expect("the semaphore is never closed");
        let client = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let port = target.load(Ordering::SeqCst);
        let mut moved = holder.clone();
        moved.mark_unchanged();
        tokio::spawn(async move {
            let _slot = slot;
            if port == 0 {
                // The holder has no port now: the connection is closed, as nothing would answer.
                return;
            }
            if let Ok(service) = super::proxy::connect(port).await {
                // A browser keeps connections alive for minutes: once the checkout moves, the
                // ones to the worktree before are closed, so the next request reaches the new one.
                let splicing = std::pin::pin!(splice(client, service));
                let moved = std::pin::pin!(moved.changed());
                let _ = futures_first(splicing, moved).await;
            }
        });
    }
}

/// Runs both futures until the first ends; the other is dropped.
async fn futures_first<A: Future, B: Future>(mut a: std::pin::Pin<&mut A>, mut b: std::pin::Pin<&mut B>) {
    std::future::poll_fn(|cx| {
        if a.as_mut().poll(cx).is_ready() || b.as_mut().poll(cx).is_ready() {
            return std::task::Poll::Ready(());
        }
        std::task::Poll::Pending
    })
    .await;
}

/// Copies bytes both ways until either side closes, as the proxy's tunnels do.
async fn splice(client: TcpStream, service: TcpStream) {
    let _ = client.set_nodelay(true);
    let _ = service.set_nodelay(true);
    super::proxy::splice(client, service).await;
}
