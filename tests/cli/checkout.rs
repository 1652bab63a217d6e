//! `atlas-ports checkout`: a service's canonical port moved between two worktrees' real HTTP
//! servers by the real `atlas-ports dashboard`, a foreign listener left alone, and the
//! refusals. The canonical port is a free port, never a well-known one.

use crate::support::servers::http_server;
use crate::support::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `atlas-ports dashboard`, killed on drop.
struct Dashboard(Child);

impl Dashboard {
    fn start(repo: &Repo) -> Dashboard {
        let port = free_block(1);
        let mut child = command_in(&repo.main)
            .args(["dashboard", "--port", &port.to_string()])
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
        Dashboard(child)
    }
}

impl Drop for Dashboard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A repository whose atlas-ports.toml declares `web` with a range of 10 free ports (the
/// registry's too) and a free canonical port, and two linked worktrees `a` and `b`, each with its port (`up`) and an
/// index.html naming it.
struct Fleet {
    repo: Repo,
    a: PathBuf,
    b: PathBuf,
    canonical: u16,
}

impl Fleet {
    /// With `docs`, a second service `docs` (one port, no canonical port).
    fn new(docs: bool) -> Fleet {
        let start = free_block(13);
        let canonical = start + 11;
        let repo = Repo::new();
        // The background proxy, when checkout starts it, on a port of the test's own.
        let mut toml = format!(
            "[proxy]\nport = {}\n[services.web]\nrange = \"{start}-{}\"\ncanonical = {canonical}\n",
            start + 12,
            start + 9
        );
        if docs {
            toml.push_str(&format!("[services.docs]\nrange = \"{0}-{0}\"\n", start + 10));
        }
        commit_project(&repo, &toml);
        // The registry's own web range is the declared one (api's is where 3000 is).
        repo.write_registry(&[("web", start, start + 9), ("api", 3000, 3099)]);
        let a = repo.add_worktree("a");
        let b = repo.add_worktree("b");
        for (w, name) in [(&a, "a"), (&b, "b")] {
            std::fs::write(w.join("index.html"), format!("worktree {name}\n")).unwrap();
        }
        Fleet { repo, a, b, canonical }
    }

    fn up(&self) {
        run_in(&self.a, &["up"]).success();
        run_in(&self.b, &["up"]).success();
    }

    /// The port worktree `w` holds for `web`.
    fn port(&self, w: &str) -> u16 {
        let reg = self.repo.registry_json();
        let a = reg["allocations"].as_array().unwrap().iter().find(|a| a["worktree"] == w && a["service"] == "web");
        a.unwrap_or_else(|| panic!("{w} holds web: {reg}"))["port"].as_u64().unwrap() as u16
    }

    fn checkouts_file(&self) -> PathBuf {
        self.repo.main.join(".atlas/worktrees/checkouts.json")
    }
}

/// Writes atlas-ports.toml in the main worktree and commits it, so linked worktrees get it.
fn commit_project(repo: &Repo, toml: &str) {
    std::fs::write(repo.main.join("atlas-ports.toml"), toml).unwrap();
    git(&repo.main, &["add", "atlas-ports.toml"]);
    git(&repo.main, &["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "ports"]);
}

fn git(cwd: &Path, args: &[&str]) {
    let out = Command::new("git").args(args).current_dir(cwd).output().unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// `GET /` at `http://localhost:PORT/`: the body, or why there was none.
fn get(port: u16) -> Result<String, String> {
    let mut s = TcpStream::connect(("localhost", port)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(format!("GET / HTTP/1.0\r\nHost: localhost:{port}\r\n\r\n").as_bytes()).map_err(|e| e.to_string())?;
    let mut answer = String::new();
    s.read_to_string(&mut answer).map_err(|e| e.to_string())?;
    match answer.split_once("\r\n\r\n") {
        Some((head, body)) if head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200") => {
            Ok(body.to_owned())
        }
        _ => Err(format!("not a 200: {answer:?}")),
    }
}

/// Waits (up to 10 s) until `GET /` on `port` answers `body`.
fn answers(port: u16, body: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = get(port);
        if got.as_deref() == Ok(body) {
            return;
        }
        assert!(Instant::now() < deadline, "GET http://localhost:{port}/ should answer {body:?}, got {got:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn is_free(port: u16) -> bool {
    atlas_ports_core::Probe::is_free(&atlas_ports_native::SystemProbe, port)
}

#[test]
fn the_canonical_port_follows_the_worktree_that_checks_it_out() {
    let f = Fleet::new(false);
    f.up();
    let (pa, pb, c) = (f.port("a"), f.port("b"), f.canonical);
    let _server_a = http_server(pa, &f.a);
    let _server_b = http_server(pb, &f.b);

    // No server runs yet and none may be started: recorded, with a warning and exit 1.
    let r = run_in(&f.a, &["checkout", "web", "--no-start"]).code(1);
    assert_eq!(r.stdout, format!("canonical :{c} → web of a (port {pa})\n"));
    assert!(r.stderr.contains("no atlas-ports server runs for this registry"), "{}", r.stderr);
    assert!(r.stderr.contains("atlas-ports proxy start"), "{}", r.stderr);
    let recorded: serde_json::Value = serde_json::from_slice(&std::fs::read(f.checkouts_file()).unwrap()).unwrap();
    assert_eq!(recorded["version"], 1);
    assert_eq!(recorded["checkouts"]["web"]["port"], c);
    assert_eq!(recorded["checkouts"]["web"]["worktree"], "a");
    assert_eq!(recorded["checkouts"]["web"]["path"], f.a.to_str().unwrap());
    assert!(is_free(c), "nothing listens on the canonical port without a server");

    // The server forwards what is on disk.
    let dashboard = Dashboard::start(&f.repo);
    answers(c, "worktree a\n");

    // A connection open to A (as a browser keeps one alive).
    let mut kept = TcpStream::connect(("127.0.0.1", c)).unwrap();
    kept.set_read_timeout(Some(Duration::from_secs(10))).unwrap();

    // B checks it out: it moves, and new connections reach B at once.
    let r = run_in(&f.b, &["checkout", "web"]).success();
    assert_eq!(r.stdout, format!("canonical :{c} → web of b (port {pb}), moved from a\n"));
    assert_eq!(get(c).as_deref(), Ok("worktree b\n"));
    let mut rest = Vec::new();
    assert_eq!(kept.read_to_end(&mut rest).unwrap(), 0, "the connection to A is closed by the move");
    let json: serde_json::Value =
        serde_json::from_str(&run_in(&f.b, &["checkout", "web", "--format", "json"]).success().stdout).unwrap();
    assert_eq!(json["worktree"], "b");
    assert_eq!(json["target_port"], pb);
    assert_eq!(json["moved_from"], serde_json::Value::Null);
    assert_eq!(json["forwarding"], true);

    // Who holds it, from anywhere.
    let line = format!("canonical :{c} → web of b (port {pb})\n");
    assert_eq!(run_in(&f.a, &["checkout", "--list"]).success().stdout, line);
    let list: serde_json::Value =
        serde_json::from_str(&run_in(&f.a, &["checkout", "--list", "--format", "json"]).success().stdout).unwrap();
    assert_eq!(list[0]["service"], "web");
    assert_eq!(list[0]["port"], c);
    assert_eq!(list[0]["worktree"], "b");
    assert_eq!(list[0]["blocked_by"], serde_json::Value::Null);
    let status = run_in(&f.repo.main, &["status"]).success().stdout;
    assert!(status.ends_with(&format!("\n{line}")), "{status}");
    let status: serde_json::Value =
        serde_json::from_str(&run_in(&f.repo.main, &["status", "--format", "json"]).success().stdout).unwrap();
    assert_eq!(status["checkouts"][0]["worktree"], "b");
    assert_eq!(status["checkouts"][0]["target_port"], pb);

    // A releases: it holds nothing, so B's checkout stays.
    let r = run_in(&f.a, &["checkout", "--release"]).success();
    assert_eq!(r.stdout, "Worktree 'a' holds no canonical port.\n");
    let r = run_in(&f.a, &["checkout", "--release", "web"]).success();
    assert_eq!(r.stdout, "Worktree 'a' holds no canonical port.\n");
    assert_eq!(get(c).as_deref(), Ok("worktree b\n"));

    // A restarted server forwards the recorded checkout again.
    drop(dashboard);
    let dashboard = Dashboard::start(&f.repo);
    answers(c, "worktree b\n");

    // B releases: the port is free when the command returns.
    let r = run_in(&f.b, &["checkout", "--release"]).success();
    assert_eq!(r.stdout, format!("released canonical :{c} (web of b)\n"));
    assert!(is_free(c), "the canonical port is free again");
    assert_eq!(run_in(&f.a, &["checkout", "--list"]).success().stdout, "No canonical port is checked out.\n");
    assert!(!run_in(&f.repo.main, &["status"]).success().stdout.contains("canonical"));

    // A foreign process on the canonical port: refused, named, left alone, nothing recorded.
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::write(elsewhere.path().join("index.html"), "foreign\n").unwrap();
    let foreign = http_server(c, elsewhere.path());
    let before = std::fs::read(f.checkouts_file()).unwrap();
    let r = run_in(&f.a, &["checkout", "web"]).code(2);
    assert!(r.stderr.contains(&format!("PID {} (python3)", foreign.pid())), "{}", r.stderr);
    assert!(r.stderr.contains("is not an atlas-ports server"), "{}", r.stderr);
    assert!(r.stderr.contains("nothing was recorded"), "{}", r.stderr);
    assert_eq!(std::fs::read(f.checkouts_file()).unwrap(), before, "checkouts.json byte for byte");
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(get(c).as_deref(), Ok("foreign\n"), "the foreign server still answers");
    drop(foreign);
    drop(dashboard);
}

/// Stops the registry's background proxy when the test ends, however it ends.
struct StopProxy<'a>(&'a Path);

impl Drop for StopProxy<'_> {
    fn drop(&mut self) {
        let _ = run_in(self.0, &["proxy", "stop", "--grace", "1s"]);
    }
}

#[test]
fn checkout_starts_the_background_proxy_when_no_server_runs() {
    let f = Fleet::new(false);
    f.up();
    let (pa, c) = (f.port("a"), f.canonical);
    let _server_a = http_server(pa, &f.a);
    let _stop = StopProxy(&f.repo.main);

    let r = run_in(&f.a, &["checkout", "web"]).success();
    assert_eq!(r.stdout, format!("canonical :{c} → web of a (port {pa})\n"));
    let proxy_port = f.canonical + 1;
    assert!(
        r.stderr.contains("started the background proxy (pid ") && r.stderr.contains(&format!(":{proxy_port}/")),
        "{}",
        r.stderr
    );
    answers(c, "worktree a\n");
    let status: serde_json::Value =
        serde_json::from_str(&run_in(&f.repo.main, &["proxy", "status", "--format", "json"]).success().stdout).unwrap();
    assert_eq!(status["port"], proxy_port);

    // A second checkout finds it running and starts nothing.
    let r = run_in(&f.a, &["checkout", "web"]).success();
    assert!(!r.stderr.contains("started"), "{}", r.stderr);

    // Stopping the proxy frees the canonical port; the checkout stays recorded.
    run_in(&f.repo.main, &["proxy", "stop"]).success();
    assert!(is_free(c), "nothing forwards once the proxy is stopped");
    assert_eq!(
        run_in(&f.a, &["checkout", "--list"]).success().stdout,
        format!("canonical :{c} → web of a (port {pa})\n")
    );
}

#[test]
fn a_foreign_process_taking_a_checked_out_port_is_shown_and_never_displaced() {
    let f = Fleet::new(false);
    f.up();
    let c = f.canonical;
    // Checked out while no server runs; then a foreign process takes the port first.
    run_in(&f.a, &["checkout", "web", "--no-start"]).code(1);
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::write(elsewhere.path().join("index.html"), "foreign\n").unwrap();
    let foreign = http_server(c, elsewhere.path());
    let _dashboard = Dashboard::start(&f.repo);
    std::thread::sleep(Duration::from_millis(800));
    let label = format!("PID {} (python3)", foreign.pid());
    let status = run_in(&f.repo.main, &["status"]).success().stdout;
    assert!(
        status.contains(&format!(
            "canonical :{c} → web of a (port {}); blocked: {label} listens on :{c}, not atlas-ports",
            f.port("a")
        )),
        "{status}"
    );
    let list: serde_json::Value =
        serde_json::from_str(&run_in(&f.a, &["checkout", "--list", "--format", "json"]).success().stdout).unwrap();
    assert_eq!(list[0]["blocked_by"]["pid"], foreign.pid());
    assert_eq!(get(c).as_deref(), Ok("foreign\n"), "still the foreign server");
}

#[test]
fn refusals_name_the_problem() {
    let f = Fleet::new(true);
    // No allocation yet.
    let r = run_in(&f.a, &["checkout", "web"]).code(2);
    assert!(r.stderr.contains("invalid worktree \"a\": holds no port for 'web'"), "{}", r.stderr);
    assert!(r.stderr.contains("atlas-ports up"), "{}", r.stderr);
    let r = run_in(&f.a, &["checkout", "nope"]).code(2);
    assert!(r.stderr.contains("declares no such service (declared: web, docs)"), "{}", r.stderr);
    let r = run_in(&f.a, &["checkout", "docs"]).code(2);
    assert!(r.stderr.contains("[services.docs] in atlas-ports.toml declares no canonical port"), "{}", r.stderr);
    let r = run_in(&f.a, &["checkout"]).code(2);
    assert!(r.stderr.contains("SERVICE"), "{}", r.stderr);
    assert!(!f.checkouts_file().exists(), "nothing recorded");

    // A corrupt file is named and never replaced.
    run_in(&f.a, &["up"]).success();
    std::fs::write(f.checkouts_file(), "{\"version\": 1, \"checkouts\": {\"web\": 3000}}").unwrap();
    for args in [&["checkout", "web"][..], &["checkout", "--release"], &["checkout", "--list"]] {
        let r = run_in(&f.a, args).code(2);
        assert!(
            r.stderr.contains("checkouts.json as the checkouts file: it is not a checkouts file"),
            "{args:?}: {}",
            r.stderr
        );
    }
    let r = run_in(&f.a, &["status"]).success();
    assert!(r.stderr.contains("checkouts.json as the checkouts file"), "{}", r.stderr);
    assert_eq!(
        std::fs::read_to_string(f.checkouts_file()).unwrap(),
        "{\"version\": 1, \"checkouts\": {\"web\": 3000}}"
    );
    std::fs::remove_file(f.checkouts_file()).unwrap();
}

/// `canonical = 3000` beside a registry whose `api` range is 3000-3099 (the issue's own
/// example): the port is taken out of the range, so no worktree is allocated it from then on,
/// and one allocated it before is named by `checkout` and moved by its next `up`.
#[test]
fn a_canonical_port_inside_a_range_is_taken_out_of_it_and_its_holder_moves() {
    let s = free_block(7);
    let repo = Repo::new();
    commit_project(&repo, &format!("[proxy]\nport = {}\n[services.web]\n[services.api]\n", s + 6));
    repo.write_registry(&[("web", s, s + 1), ("api", s + 2, s + 5)]);
    let a = repo.add_worktree("a");
    let b = repo.add_worktree("b");
    run_in(&a, &["up"]).success();
    let held = |w: &str, service: &str| {
        let reg = repo.registry_json();
        let all = reg["allocations"].as_array().unwrap();
        let found = all.iter().find(|x| x["worktree"] == w && x["service"] == service);
        found.map(|x| x["port"].as_u64().unwrap() as u16)
    };
    assert_eq!(held("a", "api"), Some(s + 2));

    // web's canonical port is now the one `a` holds for api, inside api's range.
    let canonical = s + 2;
    for w in [&a, &b] {
        let toml = format!("[proxy]\nport = {}\n[services.web]\ncanonical = {canonical}\n[services.api]\n", s + 6);
        std::fs::write(w.join("atlas-ports.toml"), toml).unwrap();
    }
    let before = std::fs::read(repo.registry()).unwrap();
    let r = run_in(&a, &["checkout", "web", "--no-start"]).code(2);
    assert!(
        r.stderr.contains(&format!("invalid canonical port \"{canonical}\": is allocated to 'api' of worktree 'a'")),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("`atlas-ports up`"), "{}", r.stderr);
    assert!(!repo.main.join(".atlas/worktrees/checkouts.json").exists(), "nothing recorded");
    assert_eq!(std::fs::read(repo.registry()).unwrap(), before, "a refusal leaves the registry as it was");
    // So does a bad request of a command that would record it first.
    for args in [&["allocate", "--service", "bogus"][..], &["run", "--service", "bogus", "--", "true"]] {
        let r = run_in(&a, args).code(2);
        assert!(r.stderr.contains("bogus"), "{args:?}: {}", r.stderr);
        assert_eq!(std::fs::read(repo.registry()).unwrap(), before, "{args:?}");
    }

    // `up` records the canonical port and moves a's api off it, saying so; b's `up` skips it
    // although nobody holds it now.
    let r = run_in(&a, &["up"]).success();
    assert!(
        r.stderr.contains(&format!(
            "atlas-ports: warning: port {canonical} of worktree 'a' (api) is now the canonical port of 'web', which no worktree is allocated; moved to {}",
            s + 3
        )),
        "{}",
        r.stderr
    );
    assert_eq!(repo.registry_json()["canonical_ports"], serde_json::json!({ canonical.to_string(): "web" }));
    assert_eq!(held("a", "api"), Some(s + 3));
    run_in(&b, &["up"]).success();
    assert_eq!(held("b", "api"), Some(s + 4));
    let r = run_in(&b, &["check", &canonical.to_string()]).code(1);
    assert!(
        r.stdout.starts_with(&format!("Port {canonical} is the canonical port of 'web': no worktree is allocated it")),
        "{}",
        r.stdout
    );
    let r = run_in(&b, &["next", "api"]).success();
    assert!(r.stdout.starts_with(&format!("Next available port in 'api' range: {}\n", s + 5)), "{}", r.stdout);

    // Now it checks out (recorded; nothing serves it without --no-start's proxy: exit 1).
    let r = run_in(&a, &["checkout", "web", "--no-start"]).code(1);
    assert!(r.stdout.contains(&format!("canonical :{canonical} → web of a")), "{}", r.stdout);
}
