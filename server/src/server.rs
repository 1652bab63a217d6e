//! Accepting connections, and sending each request where its `Host` says: the dashboard's own
//! name (`127.0.0.1:PORT` or `localhost:PORT`) to the page and API, a
//! `<service>.<worktree>.localhost:PORT` name to the proxy, and anything else away. A page on
//! another site whose name was made to resolve to 127.0.0.1 (DNS rebinding) still sends its own
//! name as `Host`, so it is refused before anything is read or done.

use super::Context;
use super::head::{self, Destination};
use super::http::{self, Body};
use super::{api, page, proxy};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// The most connections served at once; more wait in the listen queue until one ends. A
/// proxied connection holds two descriptors (the browser's and the service's), so this many
/// fit under the common limit of 1,024 open files.
pub const MAX_CONNECTIONS: usize = 512;
/// The most bytes a request's head (request line and headers) may take: more gets 431.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;
/// The most header lines a request may have: more gets 431.
pub const MAX_HEADERS: usize = 100;
/// How long a request's head may take to arrive, and how long an idle kept-alive connection
/// is kept.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// Accepts connections until the task is aborted; each is served on a task of its own.
pub async fn accept(listener: tokio::net::TcpListener, ctx: Arc<Context>) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let slot = slots.clone().acquire_owned().await.expect("the semaphore is never closed");
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
            let _slot = slot;
            // HTTPS on the same port: a connection that opens with a TLS handshake record.
            #[cfg(feature = "tls")]
            match crate::tls::accept::starts_tls(&stream).await {
                Some(true) => return crate::tls::accept::serve(ctx, stream).await,
                Some(false) => {}
                None => return,
            }
            serve_http1(ctx, TokioIo::new(stream), false).await;
        });
    }
}

/// Marks a request that came over TLS (the proxy says `X-Forwarded-Proto: https`, the API
/// expects an `https://` Origin).
#[derive(Debug, Clone, Copy)]
pub struct OverTls;

/// Whether `req` came over TLS.
pub fn over_tls<B>(req: &Request<B>) -> bool {
    req.extensions().get::<OverTls>().is_some()
}

/// The service every connection's requests go to; `tls` marks them [`OverTls`].
pub fn service(
    ctx: Arc<Context>,
    tls: bool,
) -> impl hyper::service::Service<Request<Incoming>, Response = Response<Body>, Error = Infallible, Future: Send> + Clone
{
    service_fn(move |mut req: Request<Incoming>| {
        let ctx = ctx.clone();
        if tls {
            req.extensions_mut().insert(OverTls);
        }
        async move { Ok::<_, Infallible>(handle(&ctx, req).await) }
    })
}

/// Serves HTTP/1.1 on `io` (a TCP connection, or a TLS one when `tls`).
pub async fn serve_http1<I>(ctx: Arc<Context>, io: I, tls: bool)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    // A connection ends with an error when the client goes away: nothing to report.
    let _ = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEAD_TIMEOUT)
        .max_buf_size(MAX_HEAD_BYTES)
        .max_header_size(MAX_HEAD_BYTES)
        .max_headers(MAX_HEADERS)
        .serve_connection(io, service(ctx, tls))
        .with_upgrades()
        .await;
}

async fn handle(ctx: &Arc<Context>, mut req: Request<Incoming>) -> Response<Body> {
    let tls = over_tls(&req);
    match head::admit_over(&mut req, ctx.port, tls) {
        Ok((Destination::Dashboard, host)) => dashboard(ctx, req, host).await,
        Ok((Destination::Named(name), _)) => proxy::named(ctx, req, name).await,
        Err(refused) => refused.respond(),
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
