//! Named URLs: `http://<service>.<worktree>.localhost:PORT/` proxied to the port that
//! worktree's service holds now (looked up in the registry on every request, so a port change
//! is followed at once). Bodies stream both ways as they come (server-sent events, chunked
//! responses), and an `Upgrade` (WebSocket, as Vite's and Next's hot reload use) is passed on:
//! once the service answers `101`, bytes are copied both ways until either side closes.
//!
//! The request keeps its `Host` (so the app sees the name it was reached by) and gains
//! `X-Forwarded-For`, `-Host` and `-Proto`; hop-by-hop headers are dropped both ways. The
//! service is reached at 127.0.0.1, then at [::1] (a dev server bound to `localhost` may be on
//! either). A name no allocation has gets a 404 page listing the names there are; a service
//! that does not answer gets a 502 page naming it.

use super::Context;
use super::http::{self, Body};
use super::page;
use atlas_ports_core::Allocation;
use atlas_ports_core::names::{self, RequestHost, Route};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::{CONNECTION, HOST, HeaderMap, HeaderName, HeaderValue, UPGRADE};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;

/// How long connecting to a service may take before it counts as down.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

pub async fn named(ctx: &Arc<Context>, req: Request<Incoming>, host: RequestHost) -> Response<Body> {
    let looked = ctx.clone();
    let allocations = match tokio::task::spawn_blocking(move || looked.ports().list(None)).await {
        Ok(Ok(a)) => a,
        Ok(Err(e)) => {
            // Escaped as everywhere else a person reads registry text (a corrupt registry's
            // message quotes it).
            let message = format!("atlas-ports: the registry: {e}");
            return http::text(StatusCode::SERVICE_UNAVAILABLE, atlas_ports_core::printable(&message).into_owned());
        }
        Err(e) => return http::text(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    match names::route(&host, &allocations) {
        // The dashboard's own port: forwarding would call this server again, forever.
        Some(Route::Service(a)) if a.port == ctx.port => page::looped(a),
        Some(Route::Service(a)) => {
            let a = a.clone();
            forward(req, &a).await
        }
        Some(Route::Ambiguous(found)) => {
            page::ambiguous(&host.name, &found.into_iter().cloned().collect::<Vec<_>>(), ctx.port)
        }
        Some(Route::Unknown { .. }) | None => page::unknown(&host.name, &allocations, ctx.port),
    }
}

/// Whether the request asks to switch protocols (`Connection: upgrade` with an `Upgrade`).
fn wants_upgrade(headers: &HeaderMap) -> bool {
    headers.contains_key(UPGRADE)
        && headers
            .get_all(CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
}

/// Drops the headers that describe one hop, not the message; with `upgrade`, keeps
/// `Connection: upgrade` and `Upgrade`.
fn drop_hop_headers(headers: &mut HeaderMap, upgrade: bool) {
    let named: Vec<HeaderName> = headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|t| HeaderName::from_bytes(t.trim().as_bytes()).ok())
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

async fn connect(port: u16) -> std::io::Result<TcpStream> {
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

async fn forward(mut req: Request<Incoming>, a: &Allocation) -> Response<Body> {
    let down = |why: String| page::down(a, &why);
    let stream = match connect(a.port).await {
        Ok(s) => s,
        Err(e) => return down(format!("nothing answers on port {} ({e})", a.port)),
    };
    let _ = stream.set_nodelay(true);
    let (mut sender, connection) =
        match hyper::client::conn::http1::handshake::<_, Incoming>(TokioIo::new(stream)).await {
            Ok(pair) => pair,
            Err(e) => return down(format!("port {} did not take an HTTP connection ({e})", a.port)),
        };
    tokio::spawn(connection.with_upgrades());

    let upgrade = wants_upgrade(req.headers());
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
    headers.insert("x-forwarded-proto", HeaderValue::from_static("http"));

    let mut response = match sender.send_request(req).await {
        Ok(r) => r,
        Err(e) => return down(format!("port {} did not answer the request ({e})", a.port)),
    };
    if response.status() == StatusCode::SWITCHING_PROTOCOLS
        && let Some(client_side) = client_side
    {
        let service_side = hyper::upgrade::on(&mut response);
        tokio::spawn(async move {
            // Both sides are upgraded by now or soon; the order of the waits does not matter.
            if let (Ok(client), Ok(service)) = (client_side.await, service_side.await) {
                let _ = tokio::io::copy_bidirectional(&mut TokioIo::new(client), &mut TokioIo::new(service)).await;
            }
        });
        return response.map(|b| b.boxed());
    }
    drop_hop_headers(response.headers_mut(), false);
    // An HTTP/1.0 answer is framed by closing; ours is HTTP/1.1, framed by hyper, so the
    // browser's connection to us stays open.
    *response.version_mut() = hyper::Version::HTTP_11;
    response.map(|b| b.boxed())
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
}
