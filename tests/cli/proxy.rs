//! The named-URL proxy against clients and services that do what browsers and dev servers
//! should not: the real `atlas-ports dashboard`, raw requests over TCP, and stand-in services
//! in this process that record what reached them. Every read has a timeout, so nothing hangs.

use crate::support::*;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long any read in these tests may wait.
const READ: Duration = Duration::from_secs(20);

/// A running `atlas-ports dashboard`, killed on drop.
struct Dashboard {
    child: Child,
    port: u16,
}

impl Dashboard {
    fn start(repo: &Repo, extra: &[&str]) -> Dashboard {
        let port = free_block(1);
        let mut child = command_in(&repo.main)
            .args(["dashboard", "--port", &port.to_string()])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // The first line is printed once it listens.
        let mut out = child.stdout.take().unwrap();
        let mut first = [0u8; 1];
        assert_eq!(out.read(&mut first).unwrap(), 1, "the dashboard printed its URL");
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        Dashboard { child, port }
    }

    fn host(&self) -> String {
        format!("web.repo.localhost:{}", self.port)
    }

    /// Sends `request` as it is and reads the answer until the server closes.
    fn raw(&self, request: &str) -> String {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.set_read_timeout(Some(READ)).unwrap();
        s.write_all(request.as_bytes()).unwrap();
        read_to_close(&mut s)
    }

    /// Descriptors the dashboard process has open.
    #[cfg(target_os = "linux")]
    fn descriptors(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.child.id())).unwrap().count()
    }

    /// Descriptors open once the count has stayed the same for half a second (a connection
    /// just answered may take a moment to be closed).
    #[cfg(target_os = "linux")]
    fn settled_descriptors(&self) -> usize {
        let deadline = Instant::now() + Duration::from_secs(10);
        let (mut last, mut same) = (self.descriptors(), 0);
        while same < 5 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
            let now = self.descriptors();
            same = if now == last { same + 1 } else { 0 };
            last = now;
        }
        last
    }
}

impl Drop for Dashboard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read_to_close(s: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("reading the answer: {e} (so far: {:?})", String::from_utf8_lossy(&answer)),
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}

/// Reads a request or response head (up to the blank line).
fn read_head(s: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match s.read(&mut byte) {
            Ok(0) | Err(_) => break,
            Ok(_) => head.push(byte[0]),
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

fn status(answer: &str) -> u16 {
    answer.get(9..12).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("not an HTTP answer: {answer:?}"))
}

/// A stand-in service on `port`: every connection's request head is recorded, then `answer`
/// does what it likes with the connection.
struct Service {
    heads: Arc<Mutex<Vec<String>>>,
}

impl Service {
    fn start(port: u16, answer: fn(&mut TcpStream)) -> Service {
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
        let heads = Arc::new(Mutex::new(Vec::new()));
        let seen = heads.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let seen = seen.clone();
                std::thread::spawn(move || {
                    stream.set_read_timeout(Some(READ)).unwrap();
                    let head = read_head(&mut stream);
                    seen.lock().unwrap().push(head);
                    answer(&mut stream);
                });
            }
        });
        Service { heads }
    }

    fn heads(&self) -> Vec<String> {
        self.heads.lock().unwrap().clone()
    }
}

fn ok(s: &mut TcpStream) {
    let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
}

/// A repository whose worktree `repo` holds `web` on a port of its own; the port.
fn repo_with_web() -> (Repo, u16) {
    let repo = Repo::new();
    let port = free_block(1);
    repo.write_registry(&[("web", port, port)]);
    repo.run(&["allocate", "--service", "web", "-q"]).success();
    (repo, port)
}

#[test]
fn a_request_with_two_hosts_is_refused_before_it_reaches_the_service() {
    let (repo, port) = repo_with_web();
    let service = Service::start(port, ok);
    let d = Dashboard::start(&repo, &[]);
    let answer =
        d.raw(&format!("GET / HTTP/1.1\r\nHost: {}\r\nHost: evil.example\r\nConnection: close\r\n\r\n", d.host()));
    assert_eq!(status(&answer), 400, "{answer}");
    assert!(answer.contains("more than one Host"), "{answer}");
    // The one-Host request does reach it, so the service was there to be reached.
    let answer = d.raw(&format!("GET / HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", d.host()));
    assert_eq!(status(&answer), 200, "{answer}");
    assert_eq!(service.heads().len(), 1, "{:?}", service.heads());
}

#[test]
fn hosts_that_are_not_exactly_a_name_and_port_are_400() {
    let (repo, _) = repo_with_web();
    let d = Dashboard::start(&repo, &[]);
    let p = d.port;
    for host in [
        format!("localhost..:{p}"),
        format!("localhost:+{p}"),
        format!("127.0.0.1:+{p}"),
        format!("web..repo.localhost:{p}"),
        format!(".web.repo.localhost:{p}"),
        format!("web.repo.localhost:{p}:{p}"),
        format!("localhost:{p}@evil.example"),
    ] {
        let answer = d.raw(&format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"));
        assert_eq!(status(&answer), 400, "{host}: {answer}");
        assert!(!answer.contains("atlas-ports-token"), "{host}: the page was served");
    }
    // The dashboard's names still are the dashboard.
    for host in [format!("localhost:{p}"), format!("localhost.:{p}"), format!("127.0.0.1:{p}")] {
        let answer = d.raw(&format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"));
        assert_eq!(status(&answer), 200, "{host}: {answer}");
    }
}

#[test]
fn connection_cannot_strip_the_host_and_hop_headers_still_go() {
    let (repo, port) = repo_with_web();
    let service = Service::start(port, ok);
    let d = Dashboard::start(&repo, &[]);
    let answer = d.raw(&format!(
        "GET /x HTTP/1.1\r\nHost: {}\r\nConnection: close, Host, X-Hop\r\nX-Hop: 1\r\nX-Kept: 2\r\n\r\n",
        d.host()
    ));
    assert_eq!(status(&answer), 200, "{answer}");
    let head = service.heads().pop().unwrap().to_ascii_lowercase();
    assert!(head.contains(&format!("\r\nhost: {}\r\n", d.host())), "{head}");
    assert!(head.contains("\r\nx-kept: 2\r\n"), "{head}");
    assert!(!head.contains("x-hop"), "{head}");
}

#[test]
fn an_absolute_form_target_is_routed_on_its_authority_and_forwarded_in_origin_form() {
    let (repo, port) = repo_with_web();
    let service = Service::start(port, ok);
    let d = Dashboard::start(&repo, &[]);
    let answer = d.raw(&format!(
        "GET http://{}/a/b?c=d HTTP/1.1\r\nHost: localhost:{}\r\nConnection: close\r\n\r\n",
        d.host(),
        d.port
    ));
    assert_eq!(status(&answer), 200, "{answer}");
    let head = service.heads().pop().unwrap();
    assert!(head.starts_with("GET /a/b?c=d HTTP/1.1\r\n"), "{head}");
    let hosts: Vec<&str> = head.lines().filter(|l| l.to_ascii_lowercase().starts_with("host:")).collect();
    assert_eq!(hosts, [format!("host: {}", d.host())], "{head}");
    // Not http: refused.
    let answer =
        d.raw(&format!("GET https://{}/ HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", d.host(), d.host()));
    assert_eq!(status(&answer), 400, "{answer}");
}

#[test]
fn a_malformed_request_body_is_400_not_blamed_on_the_service() {
    let (repo, port) = repo_with_web();
    let _service = Service::start(port, |s| {
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
        ok(s);
    });
    let d = Dashboard::start(&repo, &[]);
    let answer = d.raw(&format!(
        "POST / HTTP/1.1\r\nHost: {}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nfffffffffffffffffffff\r\nabc\r\n0\r\n\r\n",
        d.host()
    ));
    assert_eq!(status(&answer), 400, "{answer}");
    assert!(answer.contains("the request's body could not be read"), "{answer}");
}

#[test]
fn connect_is_405() {
    let (repo, port) = repo_with_web();
    let service = Service::start(port, ok);
    let d = Dashboard::start(&repo, &[]);
    let answer = d.raw(&format!("CONNECT {} HTTP/1.1\r\nHost: {}\r\n\r\n", d.host(), d.host()));
    assert_eq!(status(&answer), 405, "{answer}");
    assert!(service.heads().is_empty());
}

#[test]
fn a_101_the_client_did_not_ask_for_is_502() {
    let (repo, port) = repo_with_web();
    let _service = Service::start(port, |s| {
        let _ = s.write_all(b"HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n");
        std::thread::sleep(Duration::from_secs(5));
    });
    let d = Dashboard::start(&repo, &[]);
    let answer = d.raw(&format!("GET / HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", d.host()));
    assert_eq!(status(&answer), 502, "{answer}");
    assert!(answer.contains("asked to switch to nothing"), "{answer}");
}

#[test]
fn a_service_that_never_answers_is_504_after_the_proxy_timeout() {
    let (repo, port) = repo_with_web();
    let _service = Service::start(port, |_| std::thread::sleep(Duration::from_secs(30)));
    let d = Dashboard::start(&repo, &["--proxy-timeout", "1"]);
    let started = Instant::now();
    let answer = d.raw(&format!("GET / HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", d.host()));
    assert_eq!(status(&answer), 504, "{answer}");
    assert!(answer.contains("took longer than 1 s to answer"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(15), "{:?}", started.elapsed());
    let run = repo.run(&["dashboard", "--proxy-timeout", "0"]).code(2);
    assert!(run.stderr.contains("--proxy-timeout"), "{}", run.stderr);
}

#[cfg(target_os = "linux")]
#[test]
fn a_tunnel_is_closed_soon_after_the_client_leaves_even_if_the_service_never_closes() {
    let (repo, port) = repo_with_web();
    let _service = Service::start(port, |s| {
        let _ = s.write_all(b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
        // Never closes: keeps the socket for a minute, whatever comes.
        let mut buf = [0u8; 64];
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(0) = s.read(&mut buf) {
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    });
    let d = Dashboard::start(&repo, &[]);
    // Once it has answered a request, its runtime's own descriptors are all open.
    let answer = d.raw(&format!("GET / HTTP/1.1\r\nHost: localhost:{}\r\nConnection: close\r\n\r\n", d.port));
    assert_eq!(status(&answer), 200);
    let idle = d.settled_descriptors();
    let mut client = TcpStream::connect(("127.0.0.1", d.port)).unwrap();
    client.set_read_timeout(Some(READ)).unwrap();
    client
        .write_all(
            format!(
                "GET /hmr HTTP/1.1\r\nHost: {}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
                d.host()
            )
            .as_bytes(),
        )
        .unwrap();
    let head = read_head(&mut client);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(d.descriptors() > idle, "the tunnel holds the client's and the service's sockets");
    client.shutdown(Shutdown::Both).unwrap();
    drop(client);
    let deadline = Instant::now() + Duration::from_secs(10);
    while d.descriptors() > idle {
        assert!(Instant::now() < deadline, "the tunnel's sockets are still open 10 s after the client left");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_request_head_over_64_kib_is_431() {
    let (repo, port) = repo_with_web();
    let service = Service::start(port, ok);
    let d = Dashboard::start(&repo, &[]);
    let big = "a".repeat(70 * 1024);
    let answer = d.raw(&format!("GET / HTTP/1.1\r\nHost: {}\r\nX-Big: {big}\r\nConnection: close\r\n\r\n", d.host()));
    assert_eq!(status(&answer), 431, "{}", &answer[..answer.len().min(200)]);
    let many: String = (0..150).map(|i| format!("X-H{i}: {i}\r\n")).collect();
    let answer = d.raw(&format!("GET / HTTP/1.1\r\nHost: {}\r\n{many}Connection: close\r\n\r\n", d.host()));
    assert_eq!(status(&answer), 431, "{answer}");
    assert!(service.heads().is_empty());
}

#[test]
fn an_unknown_name_lists_at_most_50_names_nearest_first() {
    let repo = Repo::new();
    let base = free_block(1);
    let allocations: Vec<serde_json::Value> = (0..300u16)
        .map(|i| {
            serde_json::json!({"port": 10_000 + i, "worktree": format!("wt-{i}"), "service": "bulk",
                "allocated_at": "2025-12-31T10:00:00Z"})
        })
        .collect();
    let registry = serde_json::json!({
        "ranges": {"bulk": {"start": 10_000, "end": 10_999}, "web": {"start": base, "end": base}},
        "allocations": allocations,
        "metadata": {"version": "1.0.0", "last_updated": "", "total_allocations": 300, "schema_version": 1}
    });
    std::fs::create_dir_all(repo.registry().parent().unwrap()).unwrap();
    std::fs::write(repo.registry(), serde_json::to_string(&registry).unwrap()).unwrap();
    let d = Dashboard::start(&repo, &[]);
    let answer =
        d.raw(&format!("GET / HTTP/1.1\r\nHost: web.wt-299.localhost:{}\r\nConnection: close\r\n\r\n", d.port));
    assert_eq!(status(&answer), 404, "{answer}");
    assert_eq!(answer.matches("<li>").count(), 50, "{answer}");
    assert!(answer.contains("and 250 more"), "{answer}");
    // The worktree asked for comes first.
    let first = answer.split("<li>").nth(1).unwrap();
    assert!(first.contains(&format!("http://bulk.wt-299.localhost:{}/", d.port)), "{first}");
    assert!(answer.len() < 16 * 1024, "{} bytes", answer.len());
}

/// Requests for unknown names, forty at once and a hundred abandoned mid-lookup, on a registry
/// of 20,000 allocations: the dashboard reads the registry a few times, not once per request,
/// and its peak memory stays a small multiple of one copy.
#[cfg(target_os = "linux")]
#[test]
fn requests_at_once_on_a_large_registry_do_not_each_hold_a_copy_of_it() {
    let repo = Repo::new();
    let count = 20_000u32;
    let allocations: Vec<serde_json::Value> = (0..count)
        .map(|i| {
            serde_json::json!({"port": 20_000 + i, "worktree": format!("wt-{i}"), "service": "bulk",
                "allocated_at": "2025-12-31T10:00:00Z", "allocated_by": "bench@host",
                "description": "benchmark filler", "process_id": null, "health_status": "unknown"})
        })
        .collect();
    let registry = serde_json::json!({
        "ranges": {"bulk": {"start": 20_000, "end": 20_000 + count + 999}},
        "allocations": allocations,
        "metadata": {"version": "1.0.0", "last_updated": "", "total_allocations": count, "schema_version": 1}
    });
    std::fs::create_dir_all(repo.registry().parent().unwrap()).unwrap();
    std::fs::write(repo.registry(), serde_json::to_string_pretty(&registry).unwrap()).unwrap();
    let dashboard = Dashboard::start(&repo, &[]);
    let d = &dashboard;
    let request =
        &|i: usize| format!("GET / HTTP/1.1\r\nHost: nope-{i}.x.localhost:{}\r\nConnection: close\r\n\r\n", d.port);
    // A hundred requests whose browsers leave at once.
    for i in 0..100 {
        let mut s = TcpStream::connect(("127.0.0.1", d.port)).unwrap();
        s.write_all(request(i).as_bytes()).unwrap();
    }
    let answers: Vec<String> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..40).map(|i| scope.spawn(move || d.raw(&request(i)))).collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    for a in &answers {
        assert_eq!(status(a), 404, "{}", &a[..a.len().min(300)]);
        assert!(a.len() < 16 * 1024, "{} bytes", a.len());
    }
    let status_file = std::fs::read_to_string(format!("/proc/{}/status", d.child.id())).unwrap();
    let peak_kib: u64 = status_file
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    // One copy of this registry in memory is about 10 MB; one per request was over 400 MB.
    assert!(peak_kib < 150 * 1024, "peak RSS {} MB", peak_kib / 1024);
}

/// 600 connections that send nothing: the dashboard serves 512 at a time and queues the rest,
/// closes idle ones after 10 s, and then answers a real request.
#[cfg(target_os = "linux")]
#[test]
fn idle_connections_are_capped_and_closed() {
    let (repo, _) = repo_with_web();
    let d = Dashboard::start(&repo, &[]);
    let answer = d.raw(&format!("GET / HTTP/1.1\r\nHost: localhost:{}\r\nConnection: close\r\n\r\n", d.port));
    assert_eq!(status(&answer), 200);
    let idle = d.settled_descriptors();
    let flood: Vec<TcpStream> = (0..600)
        .map(|_| {
            let addr = std::net::SocketAddr::from(([127, 0, 0, 1], d.port));
            TcpStream::connect_timeout(&addr, Duration::from_secs(10)).unwrap()
        })
        .collect();
    let held = d.settled_descriptors() - idle;
    assert!((500..=512).contains(&held), "{held} connections held at once");
    let started = Instant::now();
    let answer = d.raw(&format!("GET / HTTP/1.1\r\nHost: localhost:{}\r\nConnection: close\r\n\r\n", d.port));
    assert_eq!(status(&answer), 200, "answered once idle connections were closed");
    assert!(started.elapsed() < Duration::from_secs(19), "{:?}", started.elapsed());
    drop(flood);
}
