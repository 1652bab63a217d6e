//! A TLS connection, from its first byte: the ClientHello is read, its server name (SNI)
//! decides whether a certificate is issued at all, and the handshake is finished with the
//! leaf for exactly that name. Only names this server routes get one: the dashboard's own
//! (`localhost`, or no name when reached as 127.0.0.1) and `<service>.<worktree>.localhost`
//! names that lead to an allocation in the registry now. Any other name (`evil.com`, an unknown
//! or unrouted `*.localhost`) gets no certificate: the connection is closed during the
//! handshake, so the CA is no signing oracle.

use super::issue::Subject;
use crate::Context;
use crate::lookup::{self, Found};
use crate::server::HEAD_TIMEOUT;
use atlas_ports_core::names::RequestHost;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio_rustls::LazyConfigAcceptor;

/// Whether the connection begins a TLS handshake (a first byte of 0x16, a handshake record),
/// looked at without taking it; `None` when nothing arrives within [`HEAD_TIMEOUT`] or the
/// client closes, so a silent client does not hold a connection slot.
pub async fn starts_tls(stream: &TcpStream) -> Option<bool> {
    let mut first = [0u8; 1];
    match tokio::time::timeout(HEAD_TIMEOUT, stream.peek(&mut first)).await {
        Ok(Ok(1)) => Some(first[0] == 0x16),
        _ => None,
    }
}

/// Serves one TLS connection: the handshake (ClientHello to finish within [`HEAD_TIMEOUT`]),
/// then HTTP/2 or HTTP/1.1 as ALPN chose.
pub async fn serve(ctx: Arc<Context>, stream: TcpStream) {
    let tls = &ctx.tls;
    let handshake = async {
        let start = LazyConfigAcceptor::new(rustls::server::Acceptor::default(), stream).await.ok()?;
        let sni = start.client_hello().server_name().map(str::to_ascii_lowercase);
        let subject = subject(&ctx, sni.as_deref()).await?;
        let config = tls.leaves.config(&tls.ca, &subject).ok()?;
        start.into_stream(config).await.ok()
    };
    let Ok(Some(stream)) = tokio::time::timeout(HEAD_TIMEOUT, handshake).await else {
        return;
    };
    let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
    if h2 {
        let service = crate::server::service(ctx.clone(), true);
        let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
            .timer(TokioTimer::new())
            .enable_connect_protocol()
            .max_header_list_size(crate::server::MAX_HEAD_BYTES as u32)
            .keep_alive_interval(Some(HEAD_TIMEOUT))
            .keep_alive_timeout(HEAD_TIMEOUT)
            .serve_connection(TokioIo::new(stream), service)
            .await;
    } else {
        crate::server::serve_http1(ctx, TokioIo::new(stream), true).await;
    }
}

/// What certificate the server name `sni` gets, if any.
async fn subject(ctx: &Arc<Context>, sni: Option<&str>) -> Option<Subject> {
    let Some(sni) = sni else { return Some(Subject::Dashboard) };
    let host = RequestHost::parse(sni)?;
    if host.port.is_some() {
        return None;
    }
    if host.name == "localhost" || host.name == "127.0.0.1" {
        return Some(Subject::Dashboard);
    }
    host.localhost_labels()?;
    let name = host.name.clone();
    match lookup::find(ctx, host).await {
        Found::Service(_) => Some(Subject::Name(name)),
        Found::Page(_) => None,
    }
}
