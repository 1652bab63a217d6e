//! A request's head, checked once for the dashboard and the proxy alike, before anything is
//! read or done: which `Host` it is for (RFC 9110 §7.2, RFC 9112 §3.2), and whether it is a
//! request this server serves at all. Whatever the proxy forwards has passed through here, so
//! the service behind it reads the same host this server routed on.
//!
//! - `CONNECT` gets **405**: this is not a forward proxy, and a tunnel to an arbitrary address
//!   is not one of the things it does.
//! - No `Host`, two `Host` lines, or a `Host` that is not exactly a host and port
//!   ([`RequestHost::parse`]) gets **400** (RFC 9112 §3.2 says "MUST").
//! - An absolute-form target (`GET http://web.pr-1.localhost:4100/x HTTP/1.1`) is routed on
//!   its authority, the `Host` header is replaced by it, and the target becomes origin-form
//!   (`/x`), as RFC 9112 §3.2.2 asks of a server and of a proxy that forwards inward. Only
//!   `http` is served; an authority with user information is refused.
//! - A valid host that is not one of this server's names gets **421** (DNS rebinding).
//! - Over TLS the scheme is `https`. An HTTP/2 request names its host in `:authority` (the
//!   URI's authority), not `Host`: it gets the same strict parse and the same refusals, a
//!   `Host` beside it that names another host gets **400**, and it is forwarded with a `Host`
//!   and an origin-form target like any other. The one `CONNECT` served is HTTP/2's extended
//!   CONNECT for a WebSocket (RFC 8441, `:protocol websocket`), which the proxy turns into an
//!   HTTP/1.1 upgrade.

use super::http::{self, Body};
use atlas_ports_core::names::RequestHost;
use hyper::header::{ALLOW, HOST, HeaderValue};
use hyper::http::uri::{PathAndQuery, Uri};
use hyper::{Method, Request, Response, StatusCode};

/// Where a request goes.
#[derive(Debug, PartialEq, Eq)]
pub enum Destination {
    /// The page and its API.
    Dashboard,
    /// A named URL.
    Named(RequestHost),
}

/// Why a request is not served, and with which status.
#[derive(Debug)]
pub struct Refusal {
    pub status: StatusCode,
    pub why: String,
}

impl Refusal {
    pub fn respond(self) -> Response<Body> {
        let mut r = http::text(self.status, format!("Refused: {}.", self.why));
        if self.status == StatusCode::METHOD_NOT_ALLOWED {
            r.headers_mut().insert(ALLOW, HeaderValue::from_static("GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"));
        }
        r
    }
}

/// Checks the head of `req` and puts it in the form the rest of the server expects (one
/// `Host`, an origin-form target): where it goes and the `Host` it named, or why not.
#[cfg(test)]
pub fn admit<B>(req: &mut Request<B>, port: u16) -> Result<(Destination, String), Refusal> {
    admit_over(req, port, false)
}

/// Whether `req` is HTTP/2's extended CONNECT for a WebSocket (RFC 8441).
pub fn websocket_connect<B>(req: &Request<B>) -> bool {
    #[cfg(feature = "tls")]
    {
        req.method() == Method::CONNECT
            && req.version() == hyper::Version::HTTP_2
            && req
                .extensions()
                .get::<hyper::ext::Protocol>()
                .is_some_and(|p| p.as_str().eq_ignore_ascii_case("websocket"))
    }
    #[cfg(not(feature = "tls"))]
    {
        let _ = req;
        false
    }
}

/// [`admit`], for a request that came over TLS when `tls` (its scheme is `https`).
pub fn admit_over<B>(req: &mut Request<B>, port: u16, tls: bool) -> Result<(Destination, String), Refusal> {
    let refuse = |status, why: String| Err(Refusal { status, why });
    let scheme = if tls { "https" } else { "http" };
    let h2 = req.version() == hyper::Version::HTTP_2;
    if req.method() == Method::CONNECT && !websocket_connect(req) {
        return refuse(
            StatusCode::METHOD_NOT_ALLOWED,
            "CONNECT is not served: this is a dashboard and a proxy for named URLs, not a forward proxy".to_owned(),
        );
    }
    let mut hosts = req.headers().get_all(HOST).iter();
    let given = hosts.next().cloned();
    if hosts.next().is_some() {
        return refuse(StatusCode::BAD_REQUEST, "the request has more than one Host".to_owned());
    }
    let host = if req.uri().scheme().is_some() || req.uri().authority().is_some() {
        // Absolute form: the target's authority is the host, whatever `Host` said.
        if req.uri().scheme_str() != Some(scheme) {
            return refuse(StatusCode::BAD_REQUEST, format!("the target {:?} is not an {scheme}:// URL", req.uri()));
        }
        let Some(authority) = req.uri().authority().map(|a| a.as_str().to_owned()) else {
            return refuse(StatusCode::BAD_REQUEST, "the target has no host".to_owned());
        };
        if authority.contains('@') {
            return refuse(StatusCode::BAD_REQUEST, "the target carries user information".to_owned());
        }
        // HTTP/2: a `Host` beside `:authority` must name the same host (RFC 9113 §8.3.1).
        if h2
            && let Some(given) = &given
            && !given.as_bytes().eq_ignore_ascii_case(authority.as_bytes())
        {
            return refuse(StatusCode::BAD_REQUEST, "the Host and :authority name different hosts".to_owned());
        }
        let Ok(value) = HeaderValue::from_str(&authority) else {
            return refuse(StatusCode::BAD_REQUEST, "the target's host is not text".to_owned());
        };
        req.headers_mut().insert(HOST, value);
        let origin_form = req.uri().path_and_query().cloned().unwrap_or_else(|| PathAndQuery::from_static("/"));
        *req.uri_mut() = Uri::from(origin_form);
        authority
    } else {
        match given {
            None => return refuse(StatusCode::BAD_REQUEST, "the request has no Host".to_owned()),
            Some(v) => match v.to_str() {
                Ok(text) => text.to_owned(),
                Err(_) => return refuse(StatusCode::BAD_REQUEST, "the Host is not text".to_owned()),
            },
        }
    };
    let Some(parsed) = RequestHost::parse(&host) else {
        return refuse(StatusCode::BAD_REQUEST, format!("Host {host:?} is not a host name and port"));
    };
    let ours = parsed.port == Some(port);
    match parsed.name.as_str() {
        "127.0.0.1" | "localhost" if ours => Ok((Destination::Dashboard, host)),
        _ if ours && parsed.localhost_labels().is_some() => Ok((Destination::Named(parsed), host)),
        _ => refuse(
            StatusCode::MISDIRECTED_REQUEST,
            format!(
                "Host {host:?} is not this server's: it answers to 127.0.0.1:{port}, localhost:{port} and <service>.<worktree>.localhost:{port}"
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: &str, target: &str, hosts: &[&str]) -> Request<()> {
        let mut b = Request::builder().method(method).uri(target);
        for h in hosts {
            b = b.header(HOST, *h);
        }
        b.body(()).unwrap()
    }

    fn status(method: &str, target: &str, hosts: &[&str]) -> Result<Destination, u16> {
        admit(&mut request(method, target, hosts), 4100).map(|(d, _)| d).map_err(|r| r.status.as_u16())
    }

    #[test]
    fn only_our_names_on_our_port_get_in() {
        assert_eq!(status("GET", "/", &["127.0.0.1:4100"]), Ok(Destination::Dashboard));
        assert_eq!(status("GET", "/", &["LOCALHOST:4100"]), Ok(Destination::Dashboard));
        assert!(matches!(status("GET", "/", &["web.pr-1.localhost:4100"]), Ok(Destination::Named(_))));
        for foreign in [
            "evil.example:4100",
            "evil.example",
            "127.0.0.1",
            "127.0.0.1:4101",
            "localhost.evil.example:4100",
            "web.pr-1.localhost:80",
            "[::1]:4100",
        ] {
            assert_eq!(status("GET", "/", &[foreign]), Err(421), "{foreign}");
        }
        for malformed in ["a b", "localhost..:4100", "localhost:+4100", "web..localhost:4100", "localhost:4100:1"] {
            assert_eq!(status("GET", "/", &[malformed]), Err(400), "{malformed}");
        }
        assert_eq!(status("GET", "/", &[]), Err(400));
    }

    #[test]
    fn two_hosts_and_connect_are_refused() {
        assert_eq!(status("GET", "/", &["localhost:4100", "web.pr-1.localhost:4100"]), Err(400));
        assert_eq!(status("GET", "/", &["localhost:4100", "localhost:4100"]), Err(400));
        assert_eq!(status("CONNECT", "web.pr-1.localhost:4100", &["web.pr-1.localhost:4100"]), Err(405));
    }

    #[test]
    fn an_absolute_target_names_the_host_and_becomes_origin_form() {
        let mut req = request("GET", "http://web.pr-1.localhost:4100/a?b=c", &["localhost:4100"]);
        let (d, host) = admit(&mut req, 4100).unwrap();
        assert!(matches!(d, Destination::Named(h) if h.name == "web.pr-1.localhost"));
        assert_eq!(host, "web.pr-1.localhost:4100");
        assert_eq!(req.headers().get(HOST).unwrap(), "web.pr-1.localhost:4100");
        assert_eq!(req.uri().to_string(), "/a?b=c");
        let mut req = request("GET", "http://localhost:4100", &[]);
        assert_eq!(admit(&mut req, 4100).unwrap().0, Destination::Dashboard);
        assert_eq!(req.uri().to_string(), "/");
        assert_eq!(status("GET", "https://localhost:4100/", &["localhost:4100"]), Err(400));
        assert_eq!(status("GET", "http://u:p@localhost:4100/", &["localhost:4100"]), Err(400));
        assert_eq!(status("GET", "http://evil.example:4100/", &["localhost:4100"]), Err(421));
    }

    /// An HTTP/2 request over TLS, as hyper hands it over: `:authority` in the URI, `Host`
    /// only when the client also sent one.
    #[cfg(feature = "tls")]
    fn h2(method: &str, authority: &str, host: Option<&str>, protocol: Option<&str>) -> Result<Destination, u16> {
        let mut b =
            Request::builder().method(method).version(hyper::Version::HTTP_2).uri(format!("https://{authority}/path"));
        if let Some(h) = host {
            b = b.header(HOST, h);
        }
        if let Some(p) = protocol {
            b = b.extension(hyper::ext::Protocol::from(p));
        }
        admit_over(&mut b.body(()).unwrap(), 4100, true).map(|(d, _)| d).map_err(|r| r.status.as_u16())
    }

    #[test]
    #[cfg(feature = "tls")]
    fn over_http2_the_authority_is_the_host_and_a_different_host_is_refused() {
        assert!(matches!(h2("GET", "web.pr-1.localhost:4100", None, None), Ok(Destination::Named(_))));
        assert!(matches!(
            h2("GET", "web.pr-1.localhost:4100", Some("WEB.pr-1.localhost:4100"), None),
            Ok(Destination::Named(_))
        ));
        // A Host naming another worktree than :authority would route past the certificate's name.
        assert_eq!(h2("GET", "web.pr-1.localhost:4100", Some("web.pr-2.localhost:4100"), None), Err(400));
        assert_eq!(h2("GET", "evil.example:4100", None, None), Err(421));
        // WebSockets come as extended CONNECT (RFC 8441); any other CONNECT is refused.
        assert!(matches!(h2("CONNECT", "web.pr-1.localhost:4100", None, Some("websocket")), Ok(Destination::Named(_))));
        assert_eq!(h2("CONNECT", "web.pr-1.localhost:4100", None, None), Err(405));
        assert_eq!(h2("CONNECT", "web.pr-1.localhost:4100", None, Some("connect-udp")), Err(405));
        // Over TLS the target is https://, never http://.
        let mut req =
            Request::builder().version(hyper::Version::HTTP_2).uri("http://web.pr-1.localhost:4100/").body(()).unwrap();
        assert_eq!(admit_over(&mut req, 4100, true).map(|_| ()).map_err(|r| r.status.as_u16()), Err(400));
    }
}
