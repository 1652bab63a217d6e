//! Accepting connections, and sending each request where its `Host` says: the dashboard's own
//! name (`127.0.0.1:PORT` or `localhost:PORT`) to the page and API, a
//! `<service>.<worktree>.localhost:PORT` name to the proxy, and anything else away. A page on
//! another site whose name was made to resolve to 127.0.0.1 (DNS rebinding) still sends its own
//! name as `Host`, so it is refused before anything is read or done.

use super::Context;
use super::http::{self, Body};
use super::{api, page, proxy};
use atlas_ports_core::names::RequestHost;
use hyper::body::Incoming;
use hyper::header::HOST;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

/// Accepts connections until the task is aborted; each is served on a task of its own.
pub async fn accept(listener: tokio::net::TcpListener, ctx: Arc<Context>) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            // Out of file descriptors, say: wait, and the clients retry.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let ctx = ctx.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let ctx = ctx.clone();
                async move { Ok::<_, Infallible>(handle(&ctx, req).await) }
            });
            // A connection ends with an error when the client goes away: nothing to report.
            let _ = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(30))
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades()
                .await;
        });
    }
}

/// Where this request goes.
#[derive(Debug, PartialEq, Eq)]
enum Destination {
    Dashboard,
    Named(RequestHost),
    Refused(String),
}

fn destination(host: Option<&str>, port: u16) -> Destination {
    let Some(value) = host else {
        return Destination::Refused("the request has no Host".to_owned());
    };
    let Some(parsed) = RequestHost::parse(value) else {
        return Destination::Refused(format!("Host {value:?} is not a host name"));
    };
    let ours = parsed.port == Some(port);
    match parsed.name.as_str() {
        "127.0.0.1" | "localhost" if ours => Destination::Dashboard,
        _ if ours && parsed.localhost_labels().is_some() => Destination::Named(parsed),
        _ => Destination::Refused(format!(
            "Host {value:?} is not this server's: it answers to 127.0.0.1:{port}, localhost:{port} and <service>.<worktree>.localhost:{port}"
        )),
    }
}

async fn handle(ctx: &Arc<Context>, req: Request<Incoming>) -> Response<Body> {
    let host = req.headers().get(HOST).map(|v| v.to_str().unwrap_or("(not text)").to_owned());
    match destination(host.as_deref(), ctx.port) {
        Destination::Dashboard => dashboard(ctx, req, host.unwrap_or_default()).await,
        Destination::Named(name) => proxy::named(ctx, req, name).await,
        Destination::Refused(why) => http::text(StatusCode::MISDIRECTED_REQUEST, format!("Refused: {why}.")),
    }
}

async fn dashboard(ctx: &Arc<Context>, req: Request<Incoming>, host: String) -> Response<Body> {
    let path = req.uri().path().to_owned();
    if path.starts_with("/api/") {
        return api::handle(ctx, req, &host).await;
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return http::text(StatusCode::METHOD_NOT_ALLOWED, "Only GET here.");
    }
    match path.as_str() {
        "/" | "/index.html" => page::index(&ctx.token),
        "/app.js" => page::script(),
        "/style.css" => page::style(),
        _ => http::text(StatusCode::NOT_FOUND, format!("Nothing at {path}.")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_names_on_our_port_get_in() {
        assert_eq!(destination(Some("127.0.0.1:4100"), 4100), Destination::Dashboard);
        assert_eq!(destination(Some("LOCALHOST:4100"), 4100), Destination::Dashboard);
        assert!(matches!(destination(Some("web.pr-1.localhost:4100"), 4100), Destination::Named(_)));
        for refused in [
            Some("evil.example:4100"),
            Some("evil.example"),
            Some("127.0.0.1"),
            Some("127.0.0.1:4101"),
            Some("localhost.evil.example:4100"),
            Some("web.pr-1.localhost:80"),
            Some("[::1]:4100"),
            Some("a b"),
            None,
        ] {
            assert!(matches!(destination(refused, 4100), Destination::Refused(_)), "{refused:?}");
        }
    }
}
