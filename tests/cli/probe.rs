//! Level 1 of the probes through the binary: ports that real listeners hold on any local
//! address are skipped by allocate and reported by check.

use crate::support::*;
use std::net::TcpListener;

/// A registry whose range starts at a port a listener on `addr` holds.
fn skips_a_port_held_on(addr: &str) {
    let repo = Repo::new();
    let start = free_block(4);
    let listener = TcpListener::bind(format!("{addr}:{start}").replace("::1", "[::1]"))
        .unwrap_or_else(|e| panic!("cannot listen on {addr}:{start}: {e}"));
    repo.write_registry(&[("svc", start, start + 3)]);

    let run = repo.run(&["allocate", "--service", "svc", "--worktree", "w", "--quiet"]).success();
    assert_eq!(run.stdout, format!("{}\n", start + 1), "port {start} held on {addr} must be skipped");
    let next = repo.run(&["next", "svc"]).success().stdout;
    assert!(next.starts_with(&format!("Next available port in 'svc' range: {}\n", start + 2)), "{next}");
    let check = repo.run(&["check", &start.to_string()]).code(1);
    assert_eq!(check.stdout, format!("Port {start} is not allocated but is in use on this system\n"));
    drop(listener);
    repo.run(&["check", &start.to_string()]).success();
}

#[test]
fn a_listener_on_ipv6_loopback_only_is_seen() {
    skips_a_port_held_on("::1");
}

#[test]
fn a_listener_on_the_ipv4_wildcard_only_is_seen() {
    skips_a_port_held_on("0.0.0.0");
}

#[test]
fn a_listener_on_ipv4_loopback_is_seen() {
    skips_a_port_held_on("127.0.0.1");
}

#[test]
fn check_reports_allocated_ports_in_text_and_json() {
    let repo = Repo::new();
    let start = free_block(2);
    repo.write_registry(&[("svc", start, start + 1)]);
    repo.run(&["allocate", "--service", "svc", "--worktree", "w"]).success();
    let text = repo.run(&["check", &start.to_string()]).code(1).stdout;
    assert_eq!(text, format!("Port {start} is allocated to worktree 'w' (svc)\n"));
    let json: serde_json::Value =
        serde_json::from_str(&repo.run(&["check", &start.to_string(), "--format", "json"]).code(1).stdout).unwrap();
    assert_eq!(json["available"], false);
    assert_eq!(json["reason"], "allocated");
    assert_eq!(json["allocations"][0]["worktree"], "w");
    let free: serde_json::Value =
        serde_json::from_str(&repo.run(&["check", &(start + 1).to_string(), "--format", "json"]).success().stdout)
            .unwrap();
    assert_eq!((free["available"].as_bool(), free["reason"].is_null()), (Some(true), true));
}
