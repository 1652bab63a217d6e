//! HTTPS for named URLs, through the real `atlas-ports dashboard` and real clients: `openssl
//! s_client` for what certificate a server name gets (or none), `curl` for TLS 1.3 and HTTP/2
//! to a service behind the proxy, `trust` on a private NSS database. Each test has its own
//! `ATLAS_PORTS_HOME` (so its own CA) and `HOME`.

use crate::support::*;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A dashboard with a CA of its own; killed on drop.
struct Https {
    child: Child,
    port: u16,
    home: PathBuf,
    stdout: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
}

impl Https {
    fn start(repo: &Repo, home: &Path) -> Https {
        let port = free_block(1);
        let mut child = command_in(&repo.main)
            .env("ATLAS_PORTS_HOME", home)
            .args(["dashboard", "--port", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = child.stdout.take().unwrap();
        let mut first = [0u8; 1];
        assert_eq!(out.read(&mut first).unwrap(), 1, "the dashboard printed its URL");
        let stdout = std::sync::Arc::new(std::sync::Mutex::new(first.to_vec()));
        let kept = stdout.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = out.read(&mut buf) {
                if n == 0 {
                    break;
                }
                kept.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Https { child, port, home: home.to_owned(), stdout }
    }

    fn ca(&self) -> PathBuf {
        self.home.join("ca/ca.pem")
    }

    /// `curl` over https to `name` on this port, trusting only our CA; `-v` output included.
    fn curl(&self, name: &str, extra: &[&str]) -> Output {
        Command::new("curl")
            .args(["-sS", "-v", "--max-time", "20", "--cacert"])
            .arg(self.ca())
            .args(extra)
            .arg(format!("https://{name}:{}/", self.port))
            .output()
            .expect("curl is installed")
    }

    /// `openssl s_client` with `sni` (none when `None`), verifying against our CA; its output.
    fn s_client(&self, sni: Option<&str>, extra: &[&str]) -> String {
        let mut c = Command::new("openssl");
        c.args(["s_client", "-connect", &format!("127.0.0.1:{}", self.port), "-showcerts", "-CAfile"]).arg(self.ca());
        match sni {
            Some(name) => c.args(["-servername", name]),
            None => c.arg("-noservername"),
        };
        let out = c.args(extra).stdin(Stdio::null()).output().expect("openssl is installed");
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    }
}

impl Drop for Https {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A service on `port` that answers every request with its head as the body.
fn echo_service(port: u16) {
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            std::thread::spawn(move || {
                s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    match s.read(&mut byte) {
                        Ok(0) | Err(_) => return,
                        Ok(_) => head.push(byte[0]),
                    }
                }
                let _ = s.write_all(
                    format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", head.len())
                        .as_bytes(),
                );
                let _ = s.write_all(&head);
            });
        }
    });
}

/// A repository whose worktree `repo` holds `web` on a port where an echo service answers.
fn repo_with_echo() -> (Repo, u16) {
    let repo = Repo::new();
    let port = free_block(1);
    repo.write_registry(&[("web", port, port)]);
    repo.run(&["allocate", "--service", "web", "-q"]).success();
    echo_service(port);
    (repo, port)
}

/// The certificate's subject alternative names as openssl prints them.
fn san(s_client: &str) -> String {
    let pem_start =
        s_client.find("-----BEGIN CERTIFICATE-----").unwrap_or_else(|| panic!("no certificate: {s_client}"));
    let pem_end = s_client[pem_start..].find("-----END CERTIFICATE-----").unwrap() + pem_start + 25;
    let mut x509 = Command::new("openssl")
        .args(["x509", "-noout", "-ext", "subjectAltName,extendedKeyUsage", "-dates"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    x509.stdin.take().unwrap().write_all(&s_client.as_bytes()[pem_start..pem_end]).unwrap();
    String::from_utf8(x509.wait_with_output().unwrap().stdout).unwrap()
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
#[cfg(unix)]
fn the_ca_is_made_once_owner_only_even_by_four_processes_at_once() {
    let repo = Repo::new();
    let home = repo.tmp.path().join("home");
    let user_home = repo.tmp.path().join("user");
    std::fs::create_dir(&user_home).unwrap();
    let children: Vec<Child> = (0..4)
        .map(|_| {
            command_in(&repo.main)
                .env("ATLAS_PORTS_HOME", &home)
                .env("HOME", &user_home)
                // No store on Linux: only the CA's creation races here.
                .args(["trust", "--store", "keychain", "--format", "json"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut fingerprints = Vec::new();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        fingerprints.push(v["fingerprint"].as_str().unwrap().to_owned());
        assert_eq!(v["ca"], home.join("ca/ca.pem").to_str().unwrap());
    }
    assert!(fingerprints.windows(2).all(|w| w[0] == w[1]), "one CA: {fingerprints:?}");
    assert_eq!(mode(&home.join("ca")), 0o700);
    assert_eq!(mode(&home.join("ca/ca-key.pem")), 0o600);
    let cert = std::fs::read_to_string(home.join("ca/ca.pem")).unwrap();
    let text =
        Command::new("openssl").args(["x509", "-noout", "-text", "-in"]).arg(home.join("ca/ca.pem")).output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("CA:TRUE") && text.contains("prime256v1"), "{text}");
    assert!(text.contains("Permitted:") && text.contains("DNS:localhost") && text.contains("IP:127.0.0.1"), "{text}");
    assert!(text.contains("Subject: CN = atlas-ports local CA ("), "{text}");
    // No leftovers of the atomic writes.
    let names: Vec<String> =
        std::fs::read_dir(home.join("ca")).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
    // Four trusts at once on a fresh NSS database: one adds the CA, the others find it there.
    let children: Vec<Child> = (0..4)
        .map(|_| {
            command_in(&repo.main)
                .env("ATLAS_PORTS_HOME", &home)
                .env("HOME", &user_home)
                .args(["trust", "--store", "nss", "--format", "json"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut outcomes: Vec<String> = children
        .into_iter()
        .map(|child| {
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            v["stores"][0]["outcome"].as_str().unwrap().to_owned()
        })
        .collect();
    outcomes.sort();
    assert_eq!(outcomes, ["already trusted", "already trusted", "already trusted", "trusted"]);
    let again = command_in(&repo.main)
        .env("ATLAS_PORTS_HOME", &home)
        .env("HOME", &user_home)
        .args(["trust", "--store", "nss"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&again.stdout).contains("already trusted: NSS database"), "{again:?}");
    assert_eq!(std::fs::read_to_string(home.join("ca/ca.pem")).unwrap(), cert);
    let untrust = command_in(&repo.main)
        .env("ATLAS_PORTS_HOME", &home)
        .env("HOME", &user_home)
        .args(["untrust", "--store", "nss"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&untrust.stdout).contains("removed: NSS database"), "{untrust:?}");
    let listed = Command::new("certutil")
        .arg("-L")
        .arg("-d")
        .arg(format!("sql:{}", user_home.join(".pki/nssdb").display()))
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&listed.stdout).contains("atlas-ports local CA"), "{listed:?}");
}

/// Starts a dashboard on a broken CA: it must refuse, naming the file and what is wrong,
/// before it listens.
#[cfg(unix)]
fn refused(repo: &Repo, home: &Path, expected: &[&str]) {
    let port = free_block(1);
    let out = command_in(&repo.main)
        .env("ATLAS_PORTS_HOME", home)
        .args(["dashboard", "--port", &port.to_string()])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(out.stdout.is_empty(), "nothing announced: {}", String::from_utf8_lossy(&out.stdout));
    for e in expected {
        assert!(stderr.contains(e), "{e:?} in {stderr}");
    }
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err(), "nothing listens");
    let key = std::fs::read_to_string(home.join("ca/ca-key.pem")).unwrap_or_default();
    if let Some(body) = key.lines().nth(1) {
        assert!(!stderr.contains(body), "the key is never printed");
    }
}

#[test]
#[cfg(unix)]
fn an_unusable_ca_is_refused_with_the_file_and_the_reason() {
    use std::os::unix::fs::PermissionsExt;
    let repo = Repo::new();
    let make = |name: &str| {
        let home = repo.tmp.path().join(name);
        let out = command_in(&repo.main)
            .env("ATLAS_PORTS_HOME", &home)
            .env("HOME", repo.tmp.path())
            .args(["trust", "--store", "keychain"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        home
    };
    // A key others can read.
    let home = make("readable");
    let key = home.join("ca/ca-key.pem");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o640)).unwrap();
    refused(&repo, &home, &[key.to_str().unwrap(), "readable or writable by group or others (mode 0640)", "chmod 600"]);
    // A corrupt certificate.
    let home = make("corrupt");
    let cert = home.join("ca/ca.pem");
    std::fs::write(&cert, "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n").unwrap();
    refused(&repo, &home, &[cert.to_str().unwrap()]);
    std::fs::write(&cert, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").unwrap();
    refused(&repo, &home, &[cert.to_str().unwrap(), "not a certificate this program can read"]);
    // A certificate that is not the key's.
    let other = make("other");
    let home = make("mismatched");
    std::fs::copy(other.join("ca/ca.pem"), home.join("ca/ca.pem")).unwrap();
    refused(&repo, &home, &["does not match the private key", home.join("ca/ca-key.pem").to_str().unwrap()]);
    // A file of another user's (only root can give a file away).
    if is_root() {
        let home = make("foreign");
        let cert = home.join("ca/ca.pem");
        let chown = Command::new("chown").arg("65534").arg(&cert).status().unwrap();
        assert!(chown.success());
        refused(&repo, &home, &[cert.to_str().unwrap(), "owned by another user", "uid 65534"]);
    }
}

#[test]
#[cfg(unix)]
fn only_routed_names_get_a_certificate_and_it_names_exactly_them() {
    let (repo, _) = repo_with_echo();
    let d = Https::start(&repo, &repo.tmp.path().join("home"));
    let name = "web.repo.localhost";
    let routed = d.s_client(Some(name), &["-alpn", "h2,http/1.1"]);
    assert!(routed.contains("Verify return code: 0 (ok)"), "{routed}");
    assert!(routed.contains("ALPN protocol: h2"), "{routed}");
    assert!(routed.contains("Protocol: TLSv1.3") || routed.contains("TLSv1.3"), "{routed}");
    let facts = san(&routed);
    let sans: Vec<&str> =
        facts.lines().map(str::trim).filter(|l| l.starts_with("DNS:") || l.starts_with("IP")).collect();
    assert_eq!(sans, ["DNS:web.repo.localhost"], "{facts}");
    assert!(facts.contains("TLS Web Server Authentication"), "{facts}");
    // Not a signing oracle: a foreign name, an unknown service, a name no allocation routes.
    for foreign in ["evil.com", "api.repo.localhost", "x.y.localhost", "a.b.c.localhost", "localhost.evil.com"] {
        let out = d.s_client(Some(foreign), &[]);
        assert!(out.contains("no peer certificate available"), "{foreign}: {out}");
        assert!(!out.contains("BEGIN CERTIFICATE"), "{foreign}: {out}");
    }
    // The dashboard by address: IP 127.0.0.1 and localhost.
    let by_address = d.s_client(None, &[]);
    assert!(by_address.contains("Verify return code: 0 (ok)"), "{by_address}");
    let facts = san(&by_address);
    assert!(facts.contains("IP Address:127.0.0.1") && facts.contains("DNS:localhost"), "{facts}");
}

#[test]
#[cfg(unix)]
fn curl_reaches_the_service_over_tls_1_3_and_http_2_with_the_forwarded_scheme() {
    let (repo, _) = repo_with_echo();
    let d = Https::start(&repo, &repo.tmp.path().join("home"));
    let out = d.curl("web.repo.localhost", &["--tlsv1.3", "--http1.1"]);
    let (body, verbose) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{verbose}");
    assert!(verbose.contains("SSL connection using TLSv1.3"), "{verbose}");
    assert!(body.starts_with("GET / HTTP/1.1\r\n"), "{body}");
    let lower = body.to_ascii_lowercase();
    assert!(lower.contains("x-forwarded-proto: https\r\n"), "{body}");
    assert!(lower.contains(&format!("host: web.repo.localhost:{}\r\n", d.port)), "{body}");

    let out = d.curl("web.repo.localhost", &["--http2", "-w", "\n%{http_version}"]);
    let (body, verbose) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{verbose}");
    assert!(body.ends_with("\n2"), "HTTP/2 to us: {body}");
    // Forwarded to the service as HTTP/1.1, with a Host taken from :authority.
    assert!(body.starts_with("GET / HTTP/1.1\r\n"), "{body}");
    assert!(body.to_ascii_lowercase().contains(&format!("host: web.repo.localhost:{}\r\n", d.port)), "{body}");

    // Plain HTTP on the same port still works.
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "20"])
        .arg(format!("http://web.repo.localhost:{}/", d.port))
        .output()
        .unwrap();
    let body = String::from_utf8_lossy(&out.stdout);
    assert!(body.to_ascii_lowercase().contains("x-forwarded-proto: http\r\n"), "{body}");

    // The dashboard's page over HTTPS, by name and by address; the key is in no answer.
    let page = d.curl("localhost", &[]);
    assert!(page.status.success() && String::from_utf8_lossy(&page.stdout).contains("<html"), "{page:?}");
    let key = std::fs::read_to_string(d.home.join("ca/ca-key.pem")).unwrap();
    let key_body: String = key.lines().filter(|l| !l.starts_with("-----")).collect();
    let mut seen = String::new();
    for path in ["", "ca-key.pem", "ca/ca-key.pem", "../ca/ca-key.pem", "api/state", "app.js"] {
        for scheme in ["http", "https"] {
            let out = Command::new("curl")
                .args(["-sS", "-i", "--path-as-is", "--max-time", "20", "--cacert"])
                .arg(d.ca())
                .arg(format!("{scheme}://localhost:{}/{path}", d.port))
                .output()
                .unwrap();
            seen.push_str(&String::from_utf8_lossy(&out.stdout));
        }
    }
    std::thread::sleep(Duration::from_millis(200));
    seen.push_str(&String::from_utf8_lossy(&d.stdout.lock().unwrap()));
    assert!(!key_body.is_empty());
    for line in key.lines().filter(|l| !l.starts_with("-----")) {
        assert!(!seen.contains(line), "a line of the key was served or printed");
    }
    assert!(String::from_utf8_lossy(&d.stdout.lock().unwrap()).contains(&format!("https://localhost:{}/", d.port)));
}

#[test]
#[cfg(unix)]
fn a_silent_or_stalled_client_is_let_go() {
    let (repo, _) = repo_with_echo();
    let d = Https::start(&repo, &repo.tmp.path().join("home"));
    let silent = TcpStream::connect(("127.0.0.1", d.port)).unwrap();
    let mut stalled = TcpStream::connect(("127.0.0.1", d.port)).unwrap();
    // A TLS record header promising a ClientHello that never comes.
    stalled.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01]).unwrap();
    let began = Instant::now();
    for mut s in [silent, stalled] {
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut buf = [0u8; 16];
        let n = s.read(&mut buf).unwrap_or(0);
        assert_eq!(n, 0, "closed without an answer");
    }
    let waited = began.elapsed();
    assert!(waited >= Duration::from_secs(9) && waited < Duration::from_secs(25), "{waited:?}");
}
