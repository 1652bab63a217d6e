//! The operations through the public API over the in-memory host.

use atlas_ports_core::memory::{FixedClock, FixedIdentity, MemoryFs, ScriptedProbe};
use atlas_ports_core::{AllocateRequest, Availability, Host, Ports, Timestamp};

const REG: &str = "/repo/.atlas/worktrees/ports.json";

struct World {
    fs: MemoryFs,
    probe: ScriptedProbe,
    clock: FixedClock,
    who: FixedIdentity,
}

impl World {
    fn new() -> Self {
        World {
            fs: MemoryFs::new(),
            probe: ScriptedProbe::default(),
            clock: FixedClock(Timestamp(1_767_175_200)),
            who: FixedIdentity("dev@box".into()),
        }
    }
    fn ports(&self) -> Ports<'_> {
        Ports::new(Host { fs: &self.fs, probe: &self.probe, clock: &self.clock, identity: &self.who }, REG)
    }
}

#[test]
fn allocate_records_metadata_and_stamps_the_registry() {
    let w = World::new();
    w.ports().init(false).unwrap();
    let a = w
        .ports()
        .allocate(&AllocateRequest {
            description: "Frontend",
            worktree_path: Some("/repo"),
            ..AllocateRequest::new("web", "review-GH-42")
        })
        .unwrap();
    assert_eq!(a.port, 8080);
    assert_eq!(a.allocated_at, "2025-12-31T10:00:00Z");
    assert_eq!(a.allocated_by, "dev@box");
    assert_eq!(a.worktree_path.as_deref(), Some("/repo"));
    let reg = w.ports().load().unwrap();
    assert_eq!(reg.metadata.total_allocations, 1);
    assert_eq!(reg.metadata.last_updated, "2025-12-31T10:00:00Z");
    assert_eq!(reg.allocations, vec![a]);
}

#[test]
fn init_refuses_to_overwrite_unless_forced() {
    let w = World::new();
    w.ports().init(false).unwrap();
    w.ports().allocate(&AllocateRequest::new("web", "a")).unwrap();
    let err = w.ports().init(false).unwrap_err();
    assert_eq!(err.code(), "ERR_REGISTRY_EXISTS");
    assert_eq!(w.ports().load().unwrap().allocations.len(), 1);
    w.ports().init(true).unwrap();
    assert_eq!(w.ports().load().unwrap().allocations.len(), 0);
}

#[test]
fn ensure_is_idempotent_per_worktree_and_service() {
    let w = World::new();
    w.ports().init(false).unwrap();
    let first = w.ports().ensure(&AllocateRequest::new("api", "a")).unwrap();
    assert!(first.created);
    let writes = w.fs.write_count();
    let again = w.ports().ensure(&AllocateRequest::new("api", "a")).unwrap();
    assert!(!again.created);
    assert_eq!(again.allocation.port, first.allocation.port);
    assert_eq!(w.fs.write_count(), writes, "ensure of a held port writes nothing");
    assert_eq!(w.ports().ensure(&AllocateRequest::new("api", "b")).unwrap().allocation.port, 3001);
}

#[test]
fn failed_operations_never_write() {
    let w = World::new();
    let missing = w.ports().allocate(&AllocateRequest::new("web", "a")).unwrap_err();
    assert_eq!(missing.code(), "ENOENT");
    // The core's words fit every front end; the CLI and Node add their own hint.
    assert_eq!(missing.to_string(), "no port registry at /repo/.atlas/worktrees/ports.json");
    w.ports().init(false).unwrap();
    let before = w.fs.get(REG).unwrap();
    let writes = w.fs.write_count();
    let errors = [
        w.ports().allocate(&AllocateRequest::new("nope", "a")).unwrap_err(),
        w.ports().allocate(&AllocateRequest::new("", "a")).unwrap_err(),
        w.ports().allocate(&AllocateRequest::new("web", "bad\u{7}name")).unwrap_err(),
        w.ports().ensure(&AllocateRequest::new("nope", "a")).unwrap_err(),
        w.ports().release(0, None).unwrap_err(),
        w.ports().release_worktree("").unwrap_err(),
    ];
    let codes: Vec<_> = errors.iter().map(|e| e.code()).collect();
    assert_eq!(
        codes,
        [
            "ERR_UNKNOWN_SERVICE",
            "ERR_INVALID_ARGUMENT",
            "ERR_INVALID_ARGUMENT",
            "ERR_UNKNOWN_SERVICE",
            "ERR_INVALID_PORT",
            "ERR_INVALID_ARGUMENT"
        ]
    );
    assert!(w.ports().release(8080, None).unwrap().is_empty(), "releasing a free port is a no, not an error");
    assert_eq!(w.fs.write_count(), writes);
    assert_eq!(w.fs.get(REG).unwrap(), before);
}

#[test]
fn a_corrupt_registry_is_reported_and_left_alone() {
    let w = World::new();
    w.fs.insert(REG, "{\"ranges\": {\"web\": {\"start\": 8080, \"end\": 8099}},\n \"allocations\": [\n");
    let err = w.ports().allocate(&AllocateRequest::new("web", "a")).unwrap_err();
    assert_eq!(err.code(), "ERR_CORRUPT_REGISTRY");
    assert!(err.to_string().contains(REG) && err.to_string().contains("line 3 column 0"), "{err}");
    assert_eq!(w.fs.write_count(), 0);
    w.fs.insert(REG, vec![0xff, 0xfe]);
    assert!(w.ports().list(None).unwrap_err().to_string().contains("not UTF-8"));
}

#[test]
fn unknown_fields_survive_allocate_and_release() {
    let w = World::new();
    w.fs.insert(
        REG,
        r#"{"owner": {"team": "web"},
            "ranges": {"web": {"start": 8080, "end": 8099, "description": "d", "health_path": "/up"}},
            "allocations": [{"port": 8080, "worktree": "a", "service": "web", "ticket": 42}],
            "metadata": {"version": "1.0.0", "last_updated": "", "total_allocations": 1, "mirror": "s3"},
            "trailer": null}"#,
    );
    let b = w.ports().allocate(&AllocateRequest::new("web", "b")).unwrap();
    assert_eq!(b.port, 8081);
    assert_eq!(w.ports().release(8081, None).unwrap().len(), 1);
    let text = String::from_utf8(w.fs.get(REG).unwrap()).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["owner"]["team"], "web");
    assert_eq!(v["ranges"]["web"]["health_path"], "/up");
    assert_eq!(v["allocations"][0]["ticket"], 42);
    assert_eq!(v["metadata"]["mirror"], "s3");
    assert!(v.as_object().unwrap().contains_key("trailer"));
    assert_eq!(v["metadata"]["total_allocations"], 1);
}

#[test]
fn check_available_distinguishes_allocated_busy_and_free() {
    let w = World::new();
    w.ports().init(false).unwrap();
    w.ports().allocate(&AllocateRequest::new("web", "a")).unwrap();
    w.probe.set_busy(8081, true);
    assert!(matches!(w.ports().check_available(8080).unwrap(), Availability::Allocated(v) if v[0].worktree == "a"));
    assert_eq!(w.ports().check_available(8081).unwrap(), Availability::InUse);
    assert_eq!(w.ports().check_available(8082).unwrap(), Availability::Available);
    assert_eq!(w.ports().allocate(&AllocateRequest::new("web", "b")).unwrap().port, 8082, "busy port skipped");
    assert_eq!(w.ports().find_next("web").unwrap().port, Some(8083));
    assert_eq!(w.ports().list(Some("b")).unwrap().len(), 1);
}

#[test]
fn exhausting_a_range_fails_cleanly() {
    let w = World::new();
    w.ports().init(false).unwrap();
    for i in 0..10 {
        w.ports().allocate(&AllocateRequest::new("debug", &format!("w{i}"))).unwrap();
    }
    let err = w.ports().allocate(&AllocateRequest::new("debug", "w10")).unwrap_err();
    assert_eq!(err.code(), "ERR_RANGE_EXHAUSTED");
    assert_eq!(w.ports().find_next("debug").unwrap().port, None);
    assert_eq!(w.ports().load().unwrap().allocations.len(), 10);
}

#[test]
fn ensure_of_a_held_port_neither_locks_nor_writes() {
    let w = World::new();
    w.ports().init(false).unwrap();
    let port = w.ports().ensure(&AllocateRequest::new("web", "a")).unwrap().allocation.port;
    let writes = w.fs.write_count();
    // Another writer holds the lock: the held port is still answered at once.
    let _held = atlas_ports_core::FileSystem::lock(&w.fs, std::path::Path::new(REG)).unwrap();
    let again = w.ports().ensure(&AllocateRequest::new("web", "a")).unwrap();
    assert_eq!((again.allocation.port, again.created), (port, false));
    assert_eq!(w.fs.write_count(), writes, "nothing written");
    // A port not yet held needs the lock.
    assert_eq!(w.ports().ensure(&AllocateRequest::new("web", "b")).unwrap_err().code(), "ERR_LOCK_TIMEOUT");
}

#[test]
fn an_allocation_is_appended_to_the_files_text_which_is_otherwise_kept() {
    let w = World::new();
    let text = "{\"ranges\": {\"web\": {\"start\": 8080, \"end\": 8089}},\n\"allocations\": [\n    {\"port\": 8080, \"worktree\": \"a\", \"service\": \"web\", \"n\": 1.50}\n  ],\n\"metadata\": {\"last_updated\": \"\", \"total_allocations\": 1}}\n";
    w.fs.insert(REG, text);
    w.ports().allocate(&AllocateRequest::new("web", "b")).unwrap();
    let after = String::from_utf8(w.fs.get(REG).unwrap()).unwrap();
    let (head, tail) = text.split_once("\n  ],").unwrap();
    assert!(after.starts_with(head), "the text before the new entry is kept:\n{after}");
    assert!(after.contains("\"worktree\": \"b\""));
    assert!(
        after.ends_with(
            "\n  ],\n\"metadata\": {\"last_updated\": \"2025-12-31T10:00:00Z\", \"total_allocations\": 2}}\n"
        ),
        "{after} (was {tail})"
    );
    assert_eq!(w.ports().load().unwrap().allocations.len(), 2);
}
