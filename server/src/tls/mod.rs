//! HTTPS for the dashboard and named URLs, on the same port as HTTP: a local certificate
//! authority made on first use ([`ca`]), a leaf certificate per routed host name issued when a
//! browser first asks for it ([`issue`]), and the TLS side of the accept loop ([`accept`]): a
//! connection whose first byte starts a TLS handshake is served over TLS, with HTTP/2 or
//! HTTP/1.1 as ALPN chooses; any other is plain HTTP as before. `trust`/`untrust` put the CA
//! where the system and the browsers look ([`trust`]).

pub mod accept;
pub mod ca;
pub mod issue;
pub mod trust;

pub use ca::Ca;

/// What TLS connections share: the CA and the leaves it issued.
#[derive(Debug)]
pub struct Tls {
    pub ca: Ca,
    pub leaves: issue::Leaves,
}
