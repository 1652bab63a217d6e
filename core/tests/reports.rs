//! The status, health and conflict reports over the in-memory host, against the reference
//! design's documented texts.

use atlas_ports_core::memory::{FixedClock, FixedIdentity, MemoryFs, ScriptedHealth, ScriptedProbe};
use atlas_ports_core::{Host, Listener, Observation, Ports, Timestamp, report, status};

const REG: &str = "/repo/.atlas/worktrees/ports.json";

/// The registry behind the reference design's status examples (its three services only).
const SEED_REGISTRY: &str = r#"{
  "ranges": {
    "web": {"start": 8080, "end": 8099, "description": "HTTP web servers and frontend development servers"},
    "database": {"start": 5432, "end": 5439, "description": "Database services"},
    "testing": {"start": 9000, "end": 9099, "description": "Test runners"}
  },
  "allocations": [
    {"port": 8080, "worktree": "review-GH-42", "service": "web", "allocated_at": "2025-12-31T10:00:00Z",
     "allocated_by": "u@h", "description": "Frontend dev server", "process_id": null, "health_status": "unknown",
     "worktree_path": "/src/review-GH-42"},
    {"port": 8081, "worktree": "feature-search", "service": "web", "allocated_at": "2025-12-31T09:30:00Z",
     "allocated_by": "u@h", "description": "Search UI development", "process_id": null, "health_status": "unknown"},
    {"port": 5432, "worktree": "review-GH-42", "service": "database", "allocated_at": "2025-12-31T10:01:00Z",
     "allocated_by": "u@h", "description": "PostgreSQL for PR #42", "process_id": null, "health_status": "unknown",
     "worktree_path": "/src/review-GH-42"},
    {"port": 9000, "worktree": "review-GH-42", "service": "testing", "allocated_at": "2025-12-31T10:02:00Z",
     "allocated_by": "u@h", "description": "Jest test server", "process_id": null, "health_status": "unknown"}
  ],
  "metadata": {"version": "1.0.0", "last_updated": "", "total_allocations": 4, "schema_version": 1}
}"#;

struct World {
    fs: MemoryFs,
    probe: ScriptedProbe,
    health: ScriptedHealth,
    clock: FixedClock,
    who: FixedIdentity,
}

impl World {
    fn reference() -> World {
        let w = World {
            fs: MemoryFs::new(),
            probe: ScriptedProbe::default(),
            health: ScriptedHealth::default(),
            clock: FixedClock(Timestamp(1_767_175_200)),
            who: FixedIdentity("u@h".into()),
        };
        w.fs.insert(REG, SEED_REGISTRY);
        let up = |pid: u32, process: &str, detail: &str| Observation {
            listener: Some(Listener {
                pid: Some(pid),
                process: Some(process.into()),
                cwd: Some("/src/review-GH-42".into()),
                worktree_root: None,
            }),
            healthy: true,
            detail: detail.into(),
        };
        w.health.set(8080, up(12345, "node", "HTTP 200 from GET /"));
        w.health.set(5432, up(67890, "postgres", "PostgreSQL answered the SSL request"));
        w
    }
    fn ports(&self) -> Ports<'_> {
        Ports::new(Host { fs: &self.fs, probe: &self.probe, clock: &self.clock, identity: &self.who }, REG)
    }
}

#[test]
fn status_worktree_is_the_reference_table() {
    let w = World::reference();
    let (_, states) = w.ports().observe(Some("review-GH-42"), &w.health).unwrap();
    // The reference design lists 8080, 5432, 9000: registry order.
    assert_eq!(
        report::status_worktree("review-GH-42", &states),
        "Ports for Worktree: review-GH-42
===================================

Port  | Service   | Description              | Status      | PID
------|-----------|--------------------------|-------------|-------
8080  | web       | Frontend dev server      | healthy     | 12345
5432  | database  | PostgreSQL for PR #42    | healthy     | 67890
9000  | testing   | Jest test server         | not_running | -

Total: 3 ports allocated
"
    );
}

#[test]
fn status_all_is_the_reference_report() {
    let w = World::reference();
    let (reg, mut states) = w.ports().observe(None, &w.health).unwrap();
    states.retain(|s| s.allocation.port != 9000); // the reference design's --all example has three allocations
    let text = report::status_all(&status::by_range(&reg, states));
    // The reference design's block, except "Total Available": it says 143, but its own lines add up to
    // 18 + 7 + 100 = 125. We print the true sum.
    assert_eq!(
        text,
        "Port Allocation Status
======================

Service: web (8080-8099)
  8080 → review-GH-42 (web) - Frontend dev server
    Status: healthy | PID: 12345 | Allocated: 2025-12-31 10:00:00
  8081 → feature-search (web) - Search UI development
    Status: not_running | PID: - | Allocated: 2025-12-31 09:30:00
  Available: 8082-8099 (18 ports)

Service: database (5432-5439)
  5432 → review-GH-42 (database) - PostgreSQL for PR #42
    Status: healthy | PID: 67890 | Allocated: 2025-12-31 10:01:00
  Available: 5433-5439 (7 ports)

Service: testing (9000-9099)
  Available: 9001-9099 (99 ports)

Total Allocated: 3 ports
Total Available: 124 ports
"
    );
}

#[test]
fn health_check_stores_status_and_pid_and_summarizes() {
    let w = World::reference();
    let states = w.ports().health_check(None, &w.health).unwrap();
    let reg = w.ports().load().unwrap();
    let stored: Vec<_> = reg.allocations.iter().map(|a| (a.port, a.health_status.as_str(), a.process_id)).collect();
    assert_eq!(
        stored,
        [
            (8080, "healthy", Some(12345)),
            (8081, "not_running", None),
            (5432, "healthy", Some(67890)),
            (9000, "not_running", None)
        ]
    );
    let writes = w.fs.write_count();
    w.ports().health_check(None, &w.health).unwrap();
    assert_eq!(w.fs.write_count(), writes, "an unchanged health check writes nothing");
    let text = report::health(&status::HealthReport::new(states), false);
    assert!(
        text.contains(
            "Worktree: review-GH-42\n  8080   web        healthy      PID 12345 (node)         HTTP 200 from GET /\n"
        ),
        "{text}"
    );
    assert!(text.ends_with("Summary: 2 healthy, 2 not running, 0 unhealthy, 0 unknown\n"), "{text}");
}

#[test]
fn conflicts_report_foreign_listeners_duplicates_and_mismatches() {
    let w = World::reference();
    // A foreign process on 5432, and a duplicate 8080.
    w.health.set(
        5432,
        Observation {
            listener: Some(Listener {
                pid: Some(99999),
                process: Some("postgres".into()),
                cwd: Some("/var/lib/postgresql".into()),
                worktree_root: None,
            }),
            healthy: true,
            detail: "PostgreSQL answered the SSL request".into(),
        },
    );
    let text = String::from_utf8(w.fs.get(REG).unwrap()).unwrap().replace("\"port\": 8081", "\"port\": 8080");
    w.fs.insert(REG, text);
    let report = w.ports().conflicts(&w.health).unwrap();
    let out = report::conflicts(&report);
    assert_eq!(
        out,
        "Port Conflict Detection
=======================

REGISTRY CONFLICT:
  Port 8080 is allocated to multiple worktrees:
    - review-GH-42 (allocated: 2025-12-31 10:00:00)
    - feature-search (allocated: 2025-12-31 09:30:00)

  Resolution: Run 'atlas-ports release 8080 --worktree feature-search'

SYSTEM CONFLICT:
  Port 5432 is allocated to review-GH-42 but in use by PID 99999 (postgres)

  Resolution: Check if process 99999 is legitimate:
    lsof -i :5432

ALLOCATION MISMATCH:
  Port 9000 is allocated to review-GH-42 but not in use

  Action: Service may have crashed. Check logs or release port:
    atlas-ports release 9000

Summary:
  Total conflicts: 2
  Total mismatches: 1
"
    );
    assert!(report.has_conflicts());
}

#[test]
fn health_block_is_the_reference_designs() {
    let w = World::reference();
    let states = w.ports().observe(None, &w.health).unwrap().1;
    let states = states.into_iter().filter(|s| s.allocation.port != 9000).collect();
    let report = status::HealthReport::new(states);
    assert_eq!(
        report::health_block(&report, false),
        "Health Check Results
====================

Worktree: review-GH-42
  Port 8080 (web):
    Port is allocated
    Process is listening (PID: 12345)
    Service responds to HTTP GET /
    Status: healthy

  Port 5432 (database):
    Port is allocated
    Process is listening (PID: 67890)
    PostgreSQL accepts connections
    Status: healthy

Worktree: feature-search
  Port 8081 (web):
    Port is allocated
    No process listening
    Status: not_running
    Action: Start the service or release the port

Summary:
  Healthy: 2
  Not running: 1
  Unhealthy: 0
  Unknown: 0
"
    );
    // Unhealthy: what failed, and what to do; --verbose adds how ownership was decided.
    w.health.set(
        8081,
        Observation {
            listener: Some(Listener {
                pid: Some(4242),
                process: Some("node".into()),
                cwd: Some("/tmp".into()),
                worktree_root: None,
            }),
            healthy: false,
            detail: "no HTTP answer within 1000 ms".into(),
        },
    );
    let states = w.ports().observe(Some("review-GH-42"), &w.health).unwrap().1;
    let verbose = report::health_block(&status::HealthReport::new(states), true);
    assert!(
        verbose.contains("    Service responds to HTTP GET /\n    Own server: PID 12345 (node) works in /src/review-GH-42, inside the worktree\n    Status: healthy\n"),
        "{verbose}"
    );
    let states = w.ports().observe(Some("feature-search"), &w.health).unwrap().1;
    let unhealthy = report::health_block(&status::HealthReport::new(states), false);
    assert!(
        unhealthy.contains("  Port 8081 (web):\n    Port is allocated\n    Process is listening (PID: 4242)\n    No HTTP answer within 1000 ms\n    Status: unhealthy\n    Action: Check the service's logs, or restart it\n"),
        "{unhealthy}"
    );
    assert!(
        unhealthy.ends_with("Summary:\n  Healthy: 0\n  Not running: 0\n  Unhealthy: 1\n  Unknown: 0\n"),
        "{unhealthy}"
    );
}
