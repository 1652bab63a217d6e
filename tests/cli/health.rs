//! `status`, `--health-check` and `conflicts` against real servers started by the tests:
//! an HTTP server, Redis and PostgreSQL inside the worktree (its own servers), a foreign
//! listener that does not speak HTTP, and nothing at all.

use crate::support::servers;
use crate::support::*;
use std::net::TcpListener;
use std::time::{Duration, Instant};

fn states_by_service(json: &serde_json::Value) -> std::collections::BTreeMap<String, serde_json::Value> {
    json["worktrees"][0]["allocations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["allocation"]["service"].as_str().unwrap().to_owned(), a.clone()))
        .collect()
}

#[test]
fn health_check_and_conflicts_against_real_servers() {
    let repo = Repo::new();
    let base = free_block(10);
    repo.write_registry(&[
        ("web", base, base + 1),
        ("api", base + 2, base + 3),
        ("database", base + 4, base + 5),
        ("cache", base + 6, base + 7),
        ("testing", base + 8, base + 9),
    ]);
    let wt = repo.add_worktree("wt");
    for service in ["web", "api", "database", "cache", "testing"] {
        run_in(&wt, &["allocate", "--service", service, "-q"]).success();
    }
    let (web, api, db, cache, testing) = (base, base + 2, base + 4, base + 6, base + 8);

    let http = servers::http_server(web, &wt);
    let _foreign = servers::not_http(api);
    let pg = servers::postgres(db, &wt.join("services"));
    let redis = servers::redis(cache, &wt);

    // Human report, then the JSON one; both exit 1 because not every port is healthy.
    let text = run_in(&wt, &["status", "--health-check", "--worktree", "wt", "--verbose"]).code(1).stdout;
    assert!(text.starts_with("Health Check\n============\n\nWorktree: wt\n"), "{text}");
    assert!(
        text.contains(&format!(
            "own server: PID {} (python3) works in {}, inside the worktree",
            http.pid(),
            wt.display()
        )),
        "{text}"
    );
    assert!(text.contains("! foreign listener: PID "), "{text}");
    assert!(text.ends_with("Summary: 3 healthy, 1 not running, 1 unhealthy, 0 unknown\n"), "{text}");

    let json: serde_json::Value = serde_json::from_str(
        &run_in(&wt, &["status", "--health-check", "--worktree", "wt", "--format", "json"]).code(1).stdout,
    )
    .unwrap();
    let s = states_by_service(&json);
    assert_eq!(s["web"]["status"], "healthy");
    assert_eq!(s["web"]["detail"], "HTTP 200 from GET /");
    assert_eq!(s["web"]["pid"], http.pid());
    assert_eq!(s["database"]["status"], "healthy");
    assert!(
        s["database"]["detail"].as_str().unwrap().starts_with("PostgreSQL answered the SSL request"),
        "{}",
        s["database"]
    );
    assert_eq!(s["database"]["pid"], pg.pid(), "the postmaster itself listens");
    assert_eq!(s["database"]["ownership"]["owner"], "own");
    assert_eq!(s["cache"]["status"], "healthy");
    assert_eq!(s["cache"]["detail"], "Redis answered PONG");
    assert_eq!(s["cache"]["pid"], redis.pid());
    assert_eq!(s["api"]["status"], "unhealthy");
    assert_eq!(s["api"]["detail"], "answered, but not with HTTP");
    assert_eq!(s["api"]["pid"], std::process::id());
    assert_eq!(s["api"]["ownership"]["owner"], "foreign");
    assert_eq!(s["testing"]["status"], "not_running");
    assert!(s["testing"]["pid"].is_null());
    assert_eq!(json["summary"], serde_json::json!({"healthy": 3, "not_running": 1, "unhealthy": 1, "unknown": 0}));

    // The health check stored what it saw.
    let stored: std::collections::BTreeMap<u16, (String, serde_json::Value)> = repo.registry_json()["allocations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["port"].as_u64().unwrap() as u16,
                (a["health_status"].as_str().unwrap().to_owned(), a["process_id"].clone()),
            )
        })
        .collect();
    assert_eq!(stored[&web], ("healthy".to_owned(), serde_json::json!(http.pid())));
    assert_eq!(stored[&api], ("unhealthy".to_owned(), serde_json::json!(std::process::id())));
    assert_eq!(stored[&testing], ("not_running".to_owned(), serde_json::Value::Null));

    // Add a duplicate entry by hand: all three kinds of finding, each under its heading.
    let mut reg = repo.registry_json();
    let mut dup = reg["allocations"][0].clone();
    dup["worktree"] = "other".into();
    reg["allocations"].as_array_mut().unwrap().push(dup);
    std::fs::write(repo.registry(), serde_json::to_string_pretty(&reg).unwrap()).unwrap();

    let report = repo.run(&["conflicts"]).code(1).stdout;
    assert!(report.starts_with("Port Conflict Detection\n=======================\n\nREGISTRY CONFLICT:\n"), "{report}");
    assert!(report.contains(&format!("Resolution: Run 'atlas-ports release {web} --worktree other'")), "{report}");
    let me = std::process::id();
    assert!(
        report.contains(&format!("SYSTEM CONFLICT:\n  Port {api} is allocated to wt but in use by PID {me} (")),
        "{report}"
    );
    assert!(
        report.contains(&format!(")\n\n  Resolution: Check if process {me} is legitimate:\n    lsof -i :{api}\n\n")),
        "{report}"
    );
    assert!(
        report.contains(&format!(
            "ALLOCATION MISMATCH:\n  Port {testing} is allocated to wt but not in use\n\n  Action: Service may have crashed. Check logs or release port:\n    atlas-ports release {testing}\n\n"
        )),
        "{report}"
    );
    assert!(
        !report.contains(&format!("Port {db} is allocated to wt but in use")),
        "own servers are not conflicts: {report}"
    );
    assert!(!report.contains(&format!("Port {cache} is allocated to wt but in use")), "{report}");
    assert!(report.ends_with("Summary:\n  Total conflicts: 2\n  Total mismatches: 1\n"), "{report}");
    assert_eq!(repo.run(&["--check-conflicts"]).code(1).stdout, report, "the script's flag form prints the same");

    let json: serde_json::Value =
        serde_json::from_str(&repo.run(&["conflicts", "--format", "json"]).code(1).stdout).unwrap();
    assert_eq!(json["summary"], serde_json::json!({"conflicts": 2, "mismatches": 1, "problems": 0}));
    assert_eq!(json["system_conflicts"][0]["allocation"]["port"], api);

    // The script's flag form prints the reference design's block, which scripts grep.
    let block = run_in(&wt, &["--health-check", "--worktree", "wt"]).code(1).stdout;
    assert!(block.starts_with("Health Check Results\n====================\n\nWorktree: wt\n"), "{block}");
    assert!(
        block.contains(&format!(
            "  Port {web} (web):\n    Port is allocated\n    Process is listening (PID: {})\n    Service responds to HTTP GET /\n    Status: healthy\n\n",
            http.pid()
        )),
        "{block}"
    );
    assert!(
        block.contains(&format!(
            "  Port {db} (database):\n    Port is allocated\n    Process is listening (PID: {})\n    PostgreSQL accepts connections\n    Status: healthy\n\n",
            pg.pid()
        )),
        "{block}"
    );
    assert!(
        block.contains(&format!(
            "  Port {testing} (testing):\n    Port is allocated\n    No process listening\n    Status: not_running\n    Action: Start the service or release the port\n\n"
        )),
        "{block}"
    );
    assert!(block.ends_with("Summary:\n  Healthy: 3\n  Not running: 1\n  Unhealthy: 1\n  Unknown: 0\n"), "{block}");
}

#[test]
fn status_reports_through_the_script_flags() {
    let repo = Repo::new();
    let base = free_block(4);
    repo.write_registry(&[("web", base, base + 3)]);
    let wt = repo.add_worktree("wt");
    run_in(&wt, &["allocate", "--service", "web", "-d", "Frontend dev server", "-q"]).success();
    run_in(&wt, &["allocate", "--service", "web", "--worktree", "other", "-q"]).success();
    let _server = servers::http_server(base, &wt);

    let all = repo.run(&["--all"]).success().stdout;
    let expected_head = format!(
        "Port Allocation Status\n======================\n\nService: web ({base}-{})\n  {base} → wt (web) - Frontend dev server\n    Status: healthy | PID: ",
        base + 3
    );
    assert!(all.starts_with(&expected_head), "{all}");
    assert!(
        all.contains(&format!("  {} → other (web)\n    Status: not_running | PID: - | Allocated: ", base + 1)),
        "{all}"
    );
    assert!(all.contains(&format!("  Available: {}-{} (2 ports)\n\n", base + 2, base + 3)), "{all}");
    assert!(all.ends_with("Total Allocated: 2 ports\nTotal Available: 2 ports\n"), "{all}");
    assert_eq!(repo.run(&["status", "--all"]).success().stdout, all);

    let table = repo.run(&["--worktree", "wt"]).success().stdout;
    assert!(table.starts_with("Ports for Worktree: wt\n===================================\n\nPort  | Service   | Description              | Status      | PID\n"), "{table}");
    assert!(table.contains(&format!("{base} | web       | Frontend dev server      | healthy     | ")), "{table}");
    assert!(table.ends_with("\nTotal: 1 port allocated\n"), "{table}");

    // The script's flag form prints the worktree's allocations as stored, as an array: the
    // reference design's docker_stop.sh reads it with `jq -r '.[].port'`.
    let stored: serde_json::Value =
        serde_json::from_str(&repo.run(&["--worktree", "wt", "--format", "json"]).success().stdout).unwrap();
    let ports: Vec<u64> = stored.as_array().unwrap().iter().map(|a| a["port"].as_u64().unwrap()).collect();
    assert_eq!(ports, [u64::from(base)]);
    assert_eq!(stored[0]["health_status"], "unknown", "as stored: nothing was probed into it");
    // The subcommand's JSON is the live report.
    let json: serde_json::Value =
        serde_json::from_str(&repo.run(&["status", "--worktree", "wt", "--format", "json"]).success().stdout).unwrap();
    assert_eq!(json["total"], 1);
    assert_eq!(json["allocations"][0]["status"], "healthy");
    assert_eq!(json["allocations"][0]["allocation"]["port"], base);
    let before = repo.registry_bytes();
    repo.run(&["status"]).success();
    assert_eq!(repo.registry_bytes(), before, "status without --health-check stores nothing");
}

#[test]
fn many_silent_ports_are_probed_in_parallel() {
    // Listeners that accept and never answer: each HTTP probe waits out its 1 s timeout. Probed
    // one after another, 60 of them would take a minute.
    let repo = Repo::new();
    let base = free_block(60);
    repo.write_registry(&[("web", base, base + 59)]);
    let listeners: Vec<TcpListener> = (0..60).map(|i| TcpListener::bind(("127.0.0.1", base + i)).unwrap()).collect();
    // Every port is busy, so allocate refuses them all: record them by hand instead.
    let refused = repo.run(&["allocate", "--service", "web", "--worktree", "w"]).code(2);
    assert!(refused.stderr.contains("no available port in the 'web' range"), "{}", refused.stderr);
    let mut reg = repo.registry_json();
    reg["allocations"] =
        (0..60).map(|i| serde_json::json!({"port": base + i, "worktree": format!("w{i}"), "service": "web"})).collect();
    std::fs::write(repo.registry(), serde_json::to_string(&reg).unwrap()).unwrap();
    let started = Instant::now();
    let out = repo.run(&["status", "--health-check", "--format", "json"]).code(1).stdout;
    let took = started.elapsed();
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["summary"]["unhealthy"], 60);
    assert!(out.contains("no HTTP answer within 1000 ms"));
    assert!(took < Duration::from_secs(15), "60 silent ports took {took:?}: the probes did not run in parallel");
    drop(listeners);
}

#[test]
fn ensure_moves_off_a_port_a_foreign_process_took_and_keeps_its_own() {
    let repo = Repo::new();
    let base = free_block(4);
    repo.write_registry(&[("web", base, base + 3)]);
    let wt = repo.add_worktree("wt");
    assert_eq!(run_in(&wt, &["ensure", "--service", "web", "-q"]).success().stdout, format!("{base}\n"));
    // The worktree's own server holds it: the port is kept, silently.
    {
        let _own = servers::http_server(base, &wt);
        let again = run_in(&wt, &["ensure", "--service", "web", "-q"]).success();
        assert_eq!((again.stdout.as_str(), again.stderr.as_str()), (format!("{base}\n").as_str(), ""));
    }
    // A process working outside the worktree takes it: the allocation moves, and says so.
    let _foreign = servers::http_server(base, repo.tmp.path());
    let moved = run_in(&wt, &["ensure", "--service", "web", "-q"]).success();
    assert_eq!(moved.stdout, format!("{}\n", base + 1));
    assert_eq!(
        moved.stderr,
        format!("atlas-ports: port {base} of worktree 'wt' (web) is taken by another process; moved to {}\n", base + 1)
    );
    let held: Vec<(String, u64)> = repo.registry_json()["allocations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["worktree"].as_str().unwrap().to_owned(), a["port"].as_u64().unwrap()))
        .collect();
    assert_eq!(held, [("wt".to_owned(), u64::from(base) + 1)]);
    // Whose process it is cannot be told (no folder recorded for a name given from elsewhere):
    // the port is kept, with a warning.
    let named = repo.run(&["ensure", "--service", "web", "--worktree", "named", "-q"]).success().stdout;
    let named: u16 = named.trim().parse().unwrap();
    let _unknown = servers::http_server(named, repo.tmp.path());
    let kept = repo.run(&["ensure", "--service", "web", "--worktree", "named", "-q"]).success();
    assert_eq!(kept.stdout, format!("{named}\n"));
    assert!(
        kept.stderr.starts_with(&format!("atlas-ports: warning: port {named} is in use and whose process holds it cannot be told (no folder is recorded")),
        "{}",
        kept.stderr
    );
}
