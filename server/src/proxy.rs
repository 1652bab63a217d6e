//! Named URLs: `http://<service>.<worktree>.localhost:PORT/` proxied to the port that
//! worktree's service holds now (looked up in the registry for every request, so a port change
//! is followed at once; lookups run one at a time and are shared by the requests waiting for
//! them). Bodies stream both ways as they come (server-sent events, chunked responses), and an
//! `Upgrade` (WebSocket, as Vite's and Next's hot reload use) is passed on: once the service
//! answers `101`, bytes are copied both ways until either side closes, and the other is closed
//! soon after.
//!
//! The request has passed [`super::head`] (one strict `Host`, origin form), keeps its `Host`
//! (so the app sees the name it was reached by) and gains `X-Forwarded-For`, `-Host` and
//! `-Proto`; hop-by-hop headers are dropped both ways. The service is reached at 127.0.0.1,
//! then at [::1] (a dev server bound to `localhost` may be on either). A name no allocation has
//! gets a 404 page listing some of the names there are; a service that does not answer gets a
//! 502 page naming it, or 504 after `--proxy-timeout`.
//!
//! Over TLS, `X-Forwarded-Proto` is `https`. An HTTP/2 request is forwarded as HTTP/1.1 (the
//! services are HTTP/1.1 servers), and an HTTP/2 WebSocket (RFC 8441's extended CONNECT with
//! `:protocol websocket`) becomes the HTTP/1.1 handshake a service expects: a `GET` with
//! `Upgrade: websocket` and a fresh `Sec-WebSocket-Key`, its subprotocols and extensions passed
//! on; the service's `101` becomes a `200` carrying the protocol and extensions it chose, and
//! the bytes are then spliced as for any tunnel.

use super::Context;
use super::http::{self, Body};
use super::lookup::{self, Found};
use super::page;
use atlas_ports_core::Allocation;
use atlas_ports_core::names::RequestHost;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::{CONNECTION, HOST, HeaderMap, HeaderName, HeaderValue, UPGRADE};
use hyper::upgrade::OnUpgrade;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::future::Future;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

/// How long connecting to a service may take before it counts as down (per address tried).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Once one side of a tunnel (a WebSocket) has closed, how long the other may take to close
/// too before it is closed for it.
pub const TUNNEL_LINGER: Duration = Duration::from_secs(2);
/// The most tunnels open at once (they outlive the connection that asked for them).
pub const MAX_TUNNELS: usize = 256;
/// The most bytes a service's response head may take (a service that sends headers forever
/// gets 502).
const MAX_RESPONSE_HEAD: usize = 256 * 1024;
/// Headers a `Connection` header may not remove: they are about the message, not the hop, and
/// dropping them would change what the service is asked (`Connection: host` once removed the
/// very `Host` this server routed on).
const END_TO_END: &[&str] = &[
    "host",
    "content-length",
    "content-type",
    "content-encoding",
    "cache-control",
    "authorization",
    "cookie",
    "origin",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
];

/// The limits every named-URL request shares.
#[derive(Debug)]
pub struct Limits {
    /// How long a service may take to answer (status and headers): then 504.
    pub timeout: Duration,
    tunnels: Arc<Semaphore>,
}

impl Limits {
    pub fn new(timeout: Duration) -> Limits {
        Limits { timeout, tunnels: Arc::new(Semaphore::new(MAX_TUNNELS)) }
    }
}

pub async fn named(ctx: &Arc<Context>, req: Request<Incoming>, host: RequestHost) -> Response<Body> {
    match lookup::find(ctx, host).await {
        Found::Service(a) => forward(ctx, req, &a).await,
        Found::Page(page) => page,
    }
}

/// The tokens of the `Connection` headers, lower-cased.
fn connection_tokens(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty())
        .collect()
}

/// Whether the request asks to switch protocols (`Connection: upgrade` with an `Upgrade`).
fn wants_upgrade(headers: &HeaderMap) -> bool {
    headers.contains_key(UPGRADE) && connection_tokens(headers).iter().any(|t| t == "upgrade")
}

/// Drops the headers that describe one hop, not the message; with `upgrade`, keeps
/// `Connection: upgrade` and `Upgrade`. The headers a `Connection` header names go too, except
/// the [`END_TO_END`] ones.
fn drop_hop_headers(headers: &mut HeaderMap, upgrade: bool) {
    let named: Vec<HeaderName> = connection_tokens(headers)
        .iter()
        .filter(|t| !END_TO_END.contains(&t.as_str()))
        .filter_map(|t| HeaderName::from_bytes(t.as_bytes()).ok())
        .filter(|n| !(upgrade && *n == UPGRADE))
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in [
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
    ] {
        headers.remove(name);
    }
    if upgrade {
        headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
    } else {
        headers.remove(CONNECTION);
        headers.remove(UPGRADE);
    }
}

pub(crate) async fn connect(port: u16) -> std::io::Result<TcpStream> {
    let mut last = None;
    for ip in [Ipv4Addr::LOCALHOST.into(), Ipv6Addr::LOCALHOST.into()] {
        match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(SocketAddr::new(ip, port))).await {
            Ok(Ok(s)) => return Ok(s),
            Ok(Err(e)) => last = Some(e),
            Err(_) => last = Some(std::io::Error::new(std::io::ErrorKind::TimedOut, "connecting timed out")),
        }
    }
    Err(last.expect("two addresses were tried"))
}

async fn forward(ctx: &Arc<Context>, mut req: Request<Incoming>, a: &Allocation) -> Response<Body> {
    let down = |status: StatusCode, why: String| {
        let state = match status {
            StatusCode::GATEWAY_TIMEOUT => "did not answer in time",
            _ if why.starts_with("nothing answers") => "is not running",
            _ => "did not answer as HTTP should",
        };
        page::down(a, status, state, &why)
    };
    let tls = super::server::over_tls(&req);
    let extended_connect = super::head::websocket_connect(&req);
    if extended_connect && let Err(e) = connect_to_upgrade(&mut req) {
        return http::text(StatusCode::INTERNAL_SERVER_ERROR, format!("Could not draw a WebSocket key ({e})."));
    }
    let upgrade = wants_upgrade(req.headers());
    // A tunnel outlives this request; there are only so many at once.
    let tunnel_slot = match upgrade {
        true => match ctx.proxy.tunnels.clone().try_acquire_owned() {
            Ok(slot) => Some(slot),
            Err(_) => {
                return http::text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("Refused: {MAX_TUNNELS} WebSocket and other upgraded connections are open already."),
                );
            }
        },
        false => None,
    };
    let stream = match connect(a.port).await {
        Ok(s) => s,
        Err(e) => return down(StatusCode::BAD_GATEWAY, format!("nothing answers on port {} ({e})", a.port)),
    };
    let _ = stream.set_nodelay(true);
    let (mut sender, connection) = match hyper::client::conn::http1::Builder::new()
        .max_buf_size(MAX_RESPONSE_HEAD)
        .handshake::<_, Body>(TokioIo::new(stream))
        .await
    {
        Ok(pair) => pair,
        Err(e) => {
            return down(StatusCode::BAD_GATEWAY, format!("port {} did not take an HTTP connection ({e})", a.port));
        }
    };
    let connection = tokio::spawn(connection.with_upgrades());

    let client_side = upgrade.then(|| hyper::upgrade::on(&mut req));
    let original_host = req.headers().get(HOST).cloned();
    let headers = req.headers_mut();
    drop_hop_headers(headers, upgrade);
    let forwarded_for = match headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()) {
        Some(before) => format!("{before}, 127.0.0.1"),
        None => "127.0.0.1".to_owned(),
    };
    if let Ok(v) = HeaderValue::from_str(&forwarded_for) {
        headers.insert("x-forwarded-for", v);
    }
    if let Some(h) = original_host {
        headers.insert("x-forwarded-host", h);
    }
    headers.insert("x-forwarded-proto", HeaderValue::from_static(if tls { "https" } else { "http" }));
    // The services speak HTTP/1.1, whatever the browser spoke to us.
    *req.version_mut() = hyper::Version::HTTP_11;
    let req = match extended_connect {
        // The stream's bytes are the WebSocket's, spliced once the service has switched.
        true => req.map(|_| http::full(bytes::Bytes::new())),
        false => req.map(|b| b.boxed()),
    };

    let timeout = ctx.proxy.timeout;
    let mut response = match tokio::time::timeout(timeout, sender.send_request(req)).await {
        Ok(Ok(r)) => r,
        // The browser's body could not be read (bad chunked framing, say): its fault, not the
        // service's.
        Ok(Err(e)) if e.is_user() => {
            connection.abort();
            return http::text(
                StatusCode::BAD_REQUEST,
                format!("Refused: the request's body could not be read ({e})."),
            );
        }
        Ok(Err(e)) => {
            connection.abort();
            return down(StatusCode::BAD_GATEWAY, format!("port {} did not answer the request ({e})", a.port));
        }
        Err(_) => {
            // Closes the connection to the service too.
            connection.abort();
            return down(
                StatusCode::GATEWAY_TIMEOUT,
                format!("port {} took longer than {} s to answer (--proxy-timeout)", a.port, timeout.as_secs()),
            );
        }
    };
    if response.status() == StatusCode::SWITCHING_PROTOCOLS {
        let Some(client_side) = client_side else {
            connection.abort();
            return down(
                StatusCode::BAD_GATEWAY,
                format!(
                    "port {} answered 101 Switching Protocols to a request that asked to switch to nothing",
                    a.port
                ),
            );
        };
        let service_side = hyper::upgrade::on(&mut response);
        tokio::spawn(async move {
            let _slot = tunnel_slot;
            tunnel(client_side, service_side).await;
        });
        if extended_connect {
            return connect_accepted(response.headers());
        }
        return response.map(|b| b.boxed());
    }
    drop_hop_headers(response.headers_mut(), false);
    // An HTTP/1.0 answer is framed by closing; ours is HTTP/1.1, framed by hyper, so the
    // browser's connection to us stays open.
    *response.version_mut() = hyper::Version::HTTP_11;
    response.map(|b| b.boxed())
}

/// Turns HTTP/2's extended CONNECT for a WebSocket (RFC 8441 §5) into the HTTP/1.1 opening
/// handshake (RFC 6455 §4.1): `GET`, `Connection: upgrade`, `Upgrade: websocket`, a fresh
/// `Sec-WebSocket-Key`; `Sec-WebSocket-Version`, `-Protocol` and `-Extensions` stay as sent.
fn connect_to_upgrade(req: &mut Request<Incoming>) -> Result<(), getrandom::Error> {
    let mut nonce = [0u8; 16];
    getrandom::fill(&mut nonce)?;
    *req.method_mut() = Method::GET;
    let headers = req.headers_mut();
    headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert("sec-websocket-key", HeaderValue::from_str(&base64(&nonce)).expect("base64 is a header value"));
    if !headers.contains_key("sec-websocket-version") {
        headers.insert("sec-websocket-version", HeaderValue::from_static("13"));
    }
    Ok(())
}

/// The `200` that accepts an extended CONNECT, with the subprotocol and extensions the
/// service chose in its `101`.
fn connect_accepted(service: &HeaderMap) -> Response<Body> {
    let mut r = Response::new(http::full(bytes::Bytes::new()));
    for name in ["sec-websocket-protocol", "sec-websocket-extensions"] {
        for v in service.get_all(name) {
            r.headers_mut().append(name, v.clone());
        }
    }
    r
}

/// Standard base64 with padding (RFC 4648 §4).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Copies bytes both ways between the two upgraded connections, as [`splice`] does.
async fn tunnel(client_side: OnUpgrade, service_side: OnUpgrade) {
    // Both sides are upgraded by now or soon; the order of the waits does not matter.
    let (Ok(client), Ok(service)) = (client_side.await, service_side.await) else {
        return;
    };
    splice(TokioIo::new(client), TokioIo::new(service)).await;
}

/// Copies bytes both ways between a client and a service. When either side closes, the other
/// is told (its write side is shut) and given [`TUNNEL_LINGER`] to close too; then both are
/// closed, so a service that never closes does not keep the tunnel, or its descriptors, after
/// the client has gone. The proxy's upgraded tunnels and the checkout forwarder share it.
pub(crate) async fn splice<C, S>(client: C, service: S)
where
    C: tokio::io::AsyncRead + tokio::io::AsyncWrite,
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite,
{
    let (mut client_read, mut client_write) = tokio::io::split(client);
    let (mut service_read, mut service_write) = tokio::io::split(service);
    let up = async {
        let _ = tokio::io::copy(&mut client_read, &mut service_write).await;
        let _ = service_write.shutdown().await;
    };
    let down = async {
        let _ = tokio::io::copy(&mut service_read, &mut client_write).await;
        let _ = client_write.shutdown().await;
    };
    let (mut up, mut down) = (std::pin::pin!(up), std::pin::pin!(down));
    let up_ended_first = std::future::poll_fn(|cx| {
        if up.as_mut().poll(cx).is_ready() {
            return Poll::Ready(true);
        }
        down.as_mut().poll(cx).map(|()| false)
    })
    .await;
    if up_ended_first {
        let _ = tokio::time::timeout(TUNNEL_LINGER, down).await;
    } else {
        let _ = tokio::time::timeout(TUNNEL_LINGER, up).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn base64_is_rfc_4648() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64(&[0xff; 16]).len(), 24);
    }

    #[test]
    fn an_upgrade_needs_both_headers() {
        assert!(wants_upgrade(&headers(&[("connection", "keep-alive, Upgrade"), ("upgrade", "websocket")])));
        assert!(!wants_upgrade(&headers(&[("upgrade", "websocket")])));
        assert!(!wants_upgrade(&headers(&[("connection", "upgrade")])));
    }

    #[test]
    fn hop_headers_go_and_the_upgrade_stays_when_asked() {
        let mut h = headers(&[
            ("connection", "keep-alive, x-secret-hop, upgrade"),
            ("x-secret-hop", "1"),
            ("keep-alive", "timeout=5"),
            ("upgrade", "websocket"),
            ("sec-websocket-key", "k"),
            ("cookie", "a=b"),
        ]);
        let mut plain = h.clone();
        drop_hop_headers(&mut h, true);
        assert_eq!(h.get("connection").unwrap(), "upgrade");
        assert_eq!(h.get("upgrade").unwrap(), "websocket");
        assert!(h.get("x-secret-hop").is_none() && h.get("keep-alive").is_none());
        assert!(h.get("sec-websocket-key").is_some() && h.get("cookie").is_some());
        drop_hop_headers(&mut plain, false);
        assert!(plain.get("connection").is_none() && plain.get("upgrade").is_none());
        assert_eq!(plain.get("cookie").unwrap(), "a=b");
    }

    #[test]
    fn connection_cannot_remove_end_to_end_headers() {
        let mut h = headers(&[
            ("connection", "Host, content-length, x-forwarded-for, cookie, x-hop"),
            ("host", "web.pr-1.localhost:4100"),
            ("content-length", "3"),
            ("cookie", "a=b"),
            ("x-hop", "1"),
        ]);
        drop_hop_headers(&mut h, false);
        assert_eq!(h.get("host").unwrap(), "web.pr-1.localhost:4100");
        assert_eq!(h.get("content-length").unwrap(), "3");
        assert_eq!(h.get("cookie").unwrap(), "a=b");
        assert!(h.get("x-hop").is_none() && h.get("connection").is_none());
    }
}
