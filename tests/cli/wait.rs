//! `atlas-ports wait` against real listeners: a server that starts after a delay, one that
//! never starts, one that listens but answers 503 (not ready), one that answers 404 (up), and
//! a real Redis; and `mcp --print-config`, whose snippets must parse and name the program.

use crate::support::servers;
use crate::support::*;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

/// Answers every connection on `port` with the HTTP status line `status`, for the test's life.
fn answering(port: u16, status: &'static str) {
    let l = TcpListener::bind(("127.0.0.1", port)).unwrap();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
            let _ = s.read(&mut [0u8; 1024]);
            let _ = s.write_all(format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n").as_bytes());
        }
    });
}

/// A repository whose worktree `wt` holds a web port (and a cache port); the ports.
fn worktree_with_ports() -> (Repo, std::path::PathBuf, u16, u16) {
    let repo = Repo::new();
    let base = free_block(4);
    repo.write_registry(&[("web", base, base + 1), ("cache", base + 2, base + 3)]);
    let wt = repo.add_worktree("wt");
    let web: u16 = run_in(&wt, &["ensure", "-s", "web", "-q"]).success().stdout.trim().parse().unwrap();
    let cache: u16 = run_in(&wt, &["ensure", "-s", "cache", "-q"]).success().stdout.trim().parse().unwrap();
    (repo, wt, web, cache)
}

#[test]
fn wait_returns_once_a_late_server_answers() {
    let (repo, wt, web, _) = worktree_with_ports();
    let before = repo.registry_bytes();
    let dir = wt.clone();
    let starter = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1500));
        servers::http_server(web, &dir)
    });
    let start = Instant::now();
    let out = run_in(&wt, &["wait", "--service", "web", "--timeout", "30s"]).success();
    let took = start.elapsed();
    let _server = starter.join().unwrap();
    assert!(took >= Duration::from_millis(1400), "returned after {took:?}, before the server started");
    assert_eq!(out.stdout, format!("web of worktree 'wt' is ready on port {web} (HTTP 200 from GET /)\n"));
    // Ready again at once, in JSON; another worktree's service by name.
    let json: serde_json::Value = serde_json::from_str(
        &run_in(&repo.main, &["wait", "-s", "web", "-w", "wt", "--format", "json"]).success().stdout,
    )
    .unwrap();
    assert_eq!(json["ready"], true);
    assert_eq!(json["port"], web);
    assert_eq!(json["worktree"], "wt");
    assert_eq!(json["reason"], "HTTP 200 from GET /");
    assert_eq!(repo.registry_bytes(), before, "wait writes nothing");
}

#[test]
fn wait_times_out_when_nothing_ever_listens() {
    let (repo, wt, web, _) = worktree_with_ports();
    let start = Instant::now();
    let out = run_in(&wt, &["wait", "-s", "web", "--timeout", "800ms"]).code(1);
    assert!(start.elapsed() >= Duration::from_millis(800));
    assert!(start.elapsed() < Duration::from_secs(10));
    assert!(out.stdout.is_empty());
    assert!(out.stderr.contains(&format!("web of worktree 'wt' (port {web}) is not ready after ")), "{}", out.stderr);
    assert!(out.stderr.ends_with(&format!("nothing listens on port {web}\n")), "{}", out.stderr);
    let json: serde_json::Value =
        serde_json::from_str(&run_in(&wt, &["wait", "-s", "web", "-t", "0", "--format", "json"]).code(1).stdout)
            .unwrap();
    assert_eq!(json["ready"], false);
    assert_eq!(json["reason"], format!("nothing listens on port {web}"));
    // A service the worktree holds no port for is not ready either; an unknown one is an error.
    let none = run_in(&repo.main, &["wait", "-s", "web", "-t", "0"]).code(1);
    assert!(none.stderr.ends_with("holds no port for 'web'\n"), "{}", none.stderr);
    let unknown = run_in(&wt, &["wait", "-s", "nope", "-t", "5s"]).code(2);
    assert!(unknown.stderr.contains("unknown service 'nope'"), "{}", unknown.stderr);
    let bad = run_in(&wt, &["wait", "-s", "web", "-t", "soon"]).code(2);
    assert!(bad.stderr.contains("is not a duration"), "{}", bad.stderr);
}

#[test]
fn a_server_answering_503_is_not_ready_and_404_is() {
    let (_repo, wt, web, _) = worktree_with_ports();
    answering(web, "503 Service Unavailable");
    let out = run_in(&wt, &["wait", "-s", "web", "--timeout", "1s"]).code(1);
    assert!(out.stderr.ends_with("HTTP 503 from GET /\n"), "{}", out.stderr);

    let (_repo, wt, web, _) = worktree_with_ports();
    answering(web, "404 Not Found");
    let out = run_in(&wt, &["wait", "-s", "web", "--timeout", "5s"]).success();
    assert!(out.stdout.ends_with("(HTTP 404 from GET /)\n"), "{}", out.stdout);
}

#[test]
fn wait_asks_redis_as_the_health_check_does() {
    let (_repo, wt, _, cache) = worktree_with_ports();
    answering(cache, "200 OK");
    let out = run_in(&wt, &["wait", "-s", "cache", "--timeout", "1s"]).code(1);
    assert!(out.stderr.ends_with("answered PING, but not as Redis\n"), "{}", out.stderr);

    let (_repo, wt, _, cache) = worktree_with_ports();
    let _redis = servers::redis(cache, &wt);
    let out = run_in(&wt, &["wait", "-s", "cache", "--timeout", "10s"]).success();
    assert!(out.stdout.ends_with("(Redis answered PONG)\n"), "{}", out.stdout);
}

#[test]
fn printed_agent_configs_parse_and_name_the_mcp_server() {
    let repo = Repo::new();
    for tool in ["claude", "cursor"] {
        let out = repo.run(&["mcp", "--print-config", tool]).success();
        let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        let server = &json["mcpServers"]["atlas-ports"];
        assert_eq!(server["command"], "atlas-ports", "{tool}");
        assert_eq!(server["args"][0], "mcp", "{tool}");
        assert!(out.stderr.contains(if tool == "claude" { ".mcp.json" } else { ".cursor/mcp.json" }));
    }
    let codex = repo.run(&["mcp", "--print-config", "codex"]).success();
    let toml: toml::Table = codex.stdout.parse().unwrap();
    assert_eq!(toml["mcp_servers"]["atlas-ports"]["command"].as_str(), Some("atlas-ports"));
    assert_eq!(toml["mcp_servers"]["atlas-ports"]["args"][0].as_str(), Some("mcp"));
    assert!(codex.stderr.contains("~/.codex/config.toml"));

    let hook = repo.run(&["mcp", "--print-config", "claude-hook"]).success();
    let json: serde_json::Value = serde_json::from_str(&hook.stdout).unwrap();
    let command = json["hooks"]["SessionStart"][0]["hooks"][0]["command"].as_str().unwrap();
    assert!(command.contains("atlas-ports env --format sh") && command.contains("CLAUDE_ENV_FILE"), "{command}");

    let agents = repo.run(&["mcp", "--print-config", "agents-md"]).success().stdout;
    assert!(agents.starts_with("## Ports\n") && agents.contains("ensure_ports"), "{agents}");
    let bad = repo.run(&["mcp", "--print-config", "vim"]).code(2);
    assert!(bad.stderr.contains("invalid value 'vim'"), "{}", bad.stderr);
}
