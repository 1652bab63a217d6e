//! Level 3 of the probes: a short protocol exchange that proves the service is up, each step
//! bounded by a timeout. `None` means nothing accepted the connection.

use atlas_ports_core::ProbeKind;
use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::time::Duration;

/// Bounds of one probe.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub connect: Duration,
    pub io: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts { connect: Duration::from_millis(500), io: Duration::from_millis(1000) }
    }
}

/// How long a database gets to greet first (MySQL does, PostgreSQL waits to be asked).
const GREETING_WAIT: Duration = Duration::from_millis(150);

/// Connects (IPv4 loopback, then IPv6) and asks the service; `Some((healthy, detail))`.
pub fn ask(kind: &ProbeKind, port: u16, t: Timeouts) -> Option<(bool, String)> {
    let mut stream = connect(port, t)?;
    let _ = stream.set_write_timeout(Some(t.io));
    let _ = stream.set_read_timeout(Some(t.io));
    let _ = stream.set_nodelay(true);
    Some(match kind {
        ProbeKind::Tcp => (true, "accepts TCP connections".to_owned()),
        ProbeKind::Http { path } => http(&mut stream, port, path, t, 399),
        ProbeKind::Redis => redis(&mut stream, t),
        ProbeKind::Database => database(&mut stream, t),
    })
}

fn connect(port: u16, t: Timeouts) -> Option<TcpStream> {
    let mut timed_out = false;
    for ip in [IpAddr::V4(Ipv4Addr::LOCALHOST), IpAddr::V6(Ipv6Addr::LOCALHOST)] {
        match TcpStream::connect_timeout(&SocketAddr::new(ip, port), t.connect) {
            Ok(s) => return Some(s),
            Err(e) if e.kind() == ErrorKind::TimedOut || e.kind() == ErrorKind::WouldBlock => timed_out = true,
            Err(_) => {}
        }
    }
    // A listener whose backlog is full does not answer in time; it is there, but not healthy.
    timed_out.then(|| TcpStream::connect(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)).ok()).flatten()
}

/// [`ask`], judged for readiness: the health check's answer, except that an HTTP server
/// answering below 500 is ready (a 404 at `/` is a server that is up, just without a page
/// there; a 5xx, typically 503 while it warms up, is not).
pub fn ask_ready(kind: &ProbeKind, port: u16, t: Timeouts) -> Option<(bool, String)> {
    match kind {
        ProbeKind::Http { path } => {
            let mut stream = connect(port, t)?;
            let _ = stream.set_write_timeout(Some(t.io));
            let _ = stream.set_read_timeout(Some(t.io));
            let _ = stream.set_nodelay(true);
            Some(http(&mut stream, port, path, t, 499))
        }
        _ => ask(kind, port, t),
    }
}

/// An HTTP exchange; a status from 200 to `highest_good` is a good answer.
fn http(s: &mut TcpStream, port: u16, path: &str, t: Timeouts, highest_good: u16) -> (bool, String) {
    let request = format!(
        "GET {path} HTTP/1.0\r\nHost: localhost:{port}\r\nUser-Agent: atlas-ports\r\nConnection: close\r\n\r\n"
    );
    if let Err(e) = s.write_all(request.as_bytes()) {
        return (false, format!("could not send an HTTP request: {e}"));
    }
    let head = match read_some(s, 1024, b"\r\n") {
        Ok(h) if h.is_empty() => return (false, "closed the connection without an HTTP answer".to_owned()),
        Ok(h) => h,
        Err(e) => return (false, no_answer("HTTP", &e, t)),
    };
    let line = String::from_utf8_lossy(&head);
    let status =
        line.strip_prefix("HTTP/").and_then(|r| r.split_whitespace().nth(1)).and_then(|c| c.parse::<u16>().ok());
    match status {
        Some(code) if (200..=highest_good).contains(&code) => (true, format!("HTTP {code} from GET {path}")),
        Some(code) => (false, format!("HTTP {code} from GET {path}")),
        None => (false, "answered, but not with HTTP".to_owned()),
    }
}

fn redis(s: &mut TcpStream, t: Timeouts) -> (bool, String) {
    if let Err(e) = s.write_all(b"*1\r\n$4\r\nPING\r\n") {
        return (false, format!("could not send PING: {e}"));
    }
    match read_some(s, 256, b"\r\n") {
        Ok(reply) => {
            let reply = String::from_utf8_lossy(&reply);
            let upper = reply.to_ascii_uppercase();
            if reply.starts_with("+PONG") {
                (true, "Redis answered PONG".to_owned())
            } else if reply.starts_with('-') && (upper.contains("AUTH") || upper.contains("WRONGPASS")) {
                (true, "Redis asks for authentication".to_owned())
            } else if reply.is_empty() {
                (false, "closed the connection without answering PING".to_owned())
            } else {
                (false, "answered PING, but not as Redis".to_owned())
            }
        }
        Err(e) => (false, no_answer("PING", &e, t)),
    }
}

fn database(s: &mut TcpStream, t: Timeouts) -> (bool, String) {
    // MySQL and MariaDB greet first: a packet header, then protocol version 10.
    let _ = s.set_read_timeout(Some(GREETING_WAIT));
    let mut greeting = [0u8; 64];
    match s.read(&mut greeting) {
        Ok(n) if n >= 5 && greeting[4] == 10 => return (true, "MySQL/MariaDB greeting".to_owned()),
        Ok(0) => return (false, "closed the connection at once".to_owned()),
        Ok(_) => return (false, "greeted, but not as MySQL or PostgreSQL would".to_owned()),
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
        Err(e) => return (false, format!("connection failed: {e}")),
    }
    let _ = s.set_read_timeout(Some(t.io));
    // PostgreSQL's SSLRequest: length 8, code 80877103. A server answers one byte, S or N.
    if let Err(e) = s.write_all(&[0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]) {
        return (false, format!("could not send the PostgreSQL SSL request: {e}"));
    }
    let mut answer = [0u8; 1];
    match s.read(&mut answer) {
        Ok(1) if matches!(answer[0], b'S' | b'N') => {
            (true, format!("PostgreSQL answered the SSL request ('{}')", answer[0] as char))
        }
        Ok(0) => (false, "closed the connection without answering the PostgreSQL SSL request".to_owned()),
        Ok(_) => (false, "answered, but not as PostgreSQL".to_owned()),
        Err(e) => (false, no_answer("PostgreSQL", &e, t)),
    }
}

/// Reads until `end` appears, `limit` bytes arrive, or the peer closes.
fn read_some(s: &mut TcpStream, limit: usize, end: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(limit);
    let mut chunk = [0u8; 512];
    while buf.len() < limit && !buf.windows(end.len()).any(|w| w == end) {
        match s.read(&mut chunk)? {
            0 => break,
            n => buf.extend_from_slice(&chunk[..n]),
        }
    }
    Ok(buf)
}

fn no_answer(what: &str, e: &std::io::Error, t: Timeouts) -> String {
    if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) {
        format!("no {what} answer within {} ms", t.io.as_millis())
    } else {
        format!("connection failed during the {what} exchange: {e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// A one-shot peer: optionally greets, reads the request, then writes `reply` and closes.
    fn peer(greeting: &'static [u8], reply: &'static [u8]) -> u16 {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            if let Ok((mut s, _)) = l.accept() {
                let _ = s.write_all(greeting);
                let mut buf = [0u8; 512];
                let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
                if greeting.is_empty() {
                    let _ = s.read(&mut buf);
                }
                let _ = s.write_all(reply);
            }
        });
        port
    }

    fn http_at(port: u16) -> Option<(bool, String)> {
        ask(&ProbeKind::Http { path: "/healthz".into() }, port, Timeouts::default())
    }

    #[test]
    fn http_answers() {
        assert_eq!(
            http_at(peer(b"", b"HTTP/1.1 302 Found\r\n\r\n")),
            Some((true, "HTTP 302 from GET /healthz".into()))
        );
        assert_eq!(
            http_at(peer(b"", b"HTTP/1.0 500 Oops\r\n\r\n")),
            Some((false, "HTTP 500 from GET /healthz".into()))
        );
        assert_eq!(http_at(peer(b"", b"")), Some((false, "closed the connection without an HTTP answer".into())));
    }

    #[test]
    fn database_answers() {
        // A MySQL 8 greeting: length 74, sequence 0, protocol 10, version text…
        let mysql = ask(&ProbeKind::Database, peer(b"\x4a\x00\x00\x00\x0a8.0.36\x00", b""), Timeouts::default());
        assert_eq!(mysql, Some((true, "MySQL/MariaDB greeting".into())));
        let pg = ask(&ProbeKind::Database, peer(b"", b"S"), Timeouts::default());
        assert_eq!(pg, Some((true, "PostgreSQL answered the SSL request ('S')".into())));
        let other = ask(&ProbeKind::Database, peer(b"", b"X"), Timeouts::default());
        assert_eq!(other, Some((false, "answered, but not as PostgreSQL".into())));
    }

    #[test]
    fn redis_answers() {
        let auth = ask(&ProbeKind::Redis, peer(b"", b"-NOAUTH Authentication required.\r\n"), Timeouts::default());
        assert_eq!(auth, Some((true, "Redis asks for authentication".into())));
        let other = ask(&ProbeKind::Redis, peer(b"", b"HTTP/1.1 400 Bad Request\r\n"), Timeouts::default());
        assert_eq!(other, Some((false, "answered PING, but not as Redis".into())));
    }

    #[test]
    fn a_closed_port_is_not_listening() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        assert_eq!(ask(&ProbeKind::Tcp, port, Timeouts::default()), None);
    }
}
