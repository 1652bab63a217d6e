//! `atlas-ports dashboard` from a terminal (tmux): it prints its URL, serves the page, answers
//! the API with the page's token, waits for a registry that does not exist yet, and `q` or
//! Ctrl+C stops it with exit status 0. A taken or impossible `--port` is exit status 2. (The
//! page itself is tested in real Chromium: tests/node/dashboard.test.mjs.)

use crate::support::tmux::Session;
use crate::support::*;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// One HTTP/1.1 request to 127.0.0.1:port; returns the status and the body.
fn http(port: u16, host: &str, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    s.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    let status = answer[9..12].parse().unwrap();
    let body = answer.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    (status, body)
}

fn until<T>(within: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(started.elapsed() < within, "{what} within {within:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn dashboard_serves_its_page_waits_for_a_registry_and_stops_on_q() {
    let repo = Repo::new();
    let port = free_block(1);
    let exit_file = repo.tmp.path().join("exit");
    let script = format!(
        "cd '{}' && '{}' dashboard --port {port}; echo EXIT=$? > '{}'; sleep 30",
        repo.main.display(),
        bin(),
        exit_file.display()
    );
    let session = Session::start("dashboard", &script);
    let screen = session.wait_for("Ctrl+C or q to stop", Duration::from_secs(10));
    assert!(screen.contains(&format!("atlas-ports dashboard: http://127.0.0.1:{port}/")), "{screen}");
    assert!(screen.contains(&format!("http://<service>.<worktree>.localhost:{port}/")), "{screen}");

    let host = format!("127.0.0.1:{port}");
    let (status, page) = http(port, &host, "/", &[]);
    assert_eq!(status, 200);
    let token = page
        .split("name=\"atlas-ports-token\" content=\"")
        .nth(1)
        .and_then(|s| s.get(..64))
        .expect("the page carries a token")
        .to_owned();
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()), "{token}");

    // No registry yet: nothing is allocated (as `status` says), and the page keeps asking.
    let (status, body) = http(port, &host, "/api/state", &[("x-atlas-ports-token", &token)]);
    assert_eq!((status, body.contains("\"total\":0")), (200, true), "{body}");
    assert!(!repo.registry().exists(), "looking creates nothing");
    // A registry that cannot be read is an error the page shows, with the CLI's code.
    std::fs::create_dir_all(repo.registry().parent().unwrap()).unwrap();
    std::fs::write(repo.registry(), "{ not json").unwrap();
    let body = until(Duration::from_secs(3), "the corrupt registry is reported", || {
        let (status, body) = http(port, &host, "/api/state", &[("x-atlas-ports-token", &token)]);
        (status == 500).then_some(body)
    });
    assert!(body.contains("\"code\":\"ERR_CORRUPT_REGISTRY\""), "{body}");
    // A named URL then says why it can't be followed, with the registry's text escaped as the
    // CLI prints it: a hand-edited name can't send control sequences to whoever reads the page.
    std::fs::write(repo.registry(), r#"{"ranges": {"we\u001b[2Jb": {"start": 9000, "end": 8000}}, "allocations": []}"#)
        .unwrap();
    let (status, body) = http(port, &format!("web.repo.localhost:{port}"), "/", &[]);
    assert_eq!(status, 503, "{body}");
    assert!(body.contains(r"ranges.we\u{1b}[2Jb: start 9000 is greater than end 8000"), "{body}");
    assert!(!body.contains('\u{1b}'), "{body:?}");
    std::fs::remove_file(repo.registry()).unwrap();
    repo.init();
    repo.run(&["allocate", "--service", "web", "-q"]).success();
    let state = until(Duration::from_secs(3), "the new registry is seen", || {
        let (status, body) = http(port, &host, "/api/state", &[("x-atlas-ports-token", &token)]);
        (status == 200).then_some(body)
    });
    let state: serde_json::Value = serde_json::from_str(&state).unwrap();
    assert_eq!(state["total"], 1);
    assert_eq!(state["worktrees"][0]["name"], "repo");
    assert_eq!(state["worktrees"][0]["services"][0]["named_url"], format!("http://web.repo.localhost:{port}/"));

    session.keys("q");
    let exit = until(Duration::from_secs(5), "the dashboard stopped", || std::fs::read_to_string(&exit_file).ok());
    assert_eq!(exit.trim(), "EXIT=0");
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err(), "nothing listens after it stopped");
}

#[test]
fn a_taken_or_impossible_port_is_exit_status_2() {
    let repo = Repo::new();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let run = repo.run(&["dashboard", "--port", &port]).code(2);
    let holder = format!("port {port} on 127.0.0.1 is taken by pid {}", std::process::id());
    assert!(run.stderr.contains(&holder), "{}", run.stderr);
    assert!(run.stderr.contains("choose another port with --port"), "{}", run.stderr);
    for bad in ["65536", "70000", "web"] {
        let run = repo.run(&["dashboard", "--port", bad]).code(2);
        assert!(run.stderr.contains("--port"), "{bad}: {}", run.stderr);
    }
}

#[test]
fn open_hands_the_url_to_the_system_browser() {
    let repo = Repo::new();
    let port = free_block(1);
    // A stand-in for xdg-open that writes down what it was asked to open.
    let tools = repo.tmp.path().join("bin");
    std::fs::create_dir(&tools).unwrap();
    let opened = repo.tmp.path().join("opened");
    let fake = tools.join("xdg-open");
    std::fs::write(&fake, format!("#!/bin/sh\necho \"$@\" > '{}'\n", opened.display())).unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", tools.display(), std::env::var("PATH").unwrap_or_default());
    let mut child = command_in(&repo.main)
        .args(["dashboard", "--open", "--port", &port.to_string()])
        .env("PATH", path)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let asked = until(Duration::from_secs(5), "the browser is asked to open the page", || {
        std::fs::read_to_string(&opened).ok()
    });
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(asked.trim(), format!("http://127.0.0.1:{port}/"));
}

#[test]
fn a_name_for_the_dashboards_own_port_is_not_proxied_to_itself() {
    let repo = Repo::new();
    let port = free_block(1);
    repo.write_registry(&[("web", port, port)]);
    repo.run(&["allocate", "--service", "web", "-q"]).success();
    let mut child = command_in(&repo.main)
        .args(["dashboard", "--port", &port.to_string()])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let host = format!("web.repo.localhost:{port}");
    let (status, body) = until(Duration::from_secs(5), "the dashboard answers", || {
        TcpStream::connect(("127.0.0.1", port)).ok().map(|_| http(port, &host, "/", &[]))
    });
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(status, 508, "{body}");
    assert!(body.contains("web of worktree repo is on the dashboard&#39;s own port"), "{body}");
}
