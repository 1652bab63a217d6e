//! Properties of the core over any valid registry and any sequence of operations (proptest):
//! no port is ever held twice, every allocation stays inside its service's range, release undoes
//! allocate, unknown fields survive, and serialise → parse is the identity.

#![cfg(not(target_arch = "wasm32"))]

use atlas_ports_core::memory::{FixedClock, FixedIdentity, MemoryFs, ScriptedProbe};
use atlas_ports_core::{AllocateRequest, Host, Ports, Registry, Timestamp};
use proptest::prelude::*;
use serde_json::{Value, json};
use std::collections::BTreeSet;

const PATH: &str = "ports.json";

/// A valid registry: 1–4 ranges (possibly overlapping) in a small port space so that they
/// fill up, allocations on distinct ports inside their ranges, and unknown members everywhere.
fn registry() -> impl Strategy<Value = String> {
    let range = (1000u16..1060, 0u16..12);
    (prop::collection::vec(range, 1..5), prop::collection::vec((any::<prop::sample::Index>(), 0u16..12, 0usize..4), 0..15))
        .prop_map(|(ranges, allocs)| {
            let names = ["web", "api", "db", "web-staging"];
            let mut r = serde_json::Map::new();
            for (i, (start, len)) in ranges.iter().enumerate() {
                r.insert(names[i].into(), json!({"start": start, "end": start + len, "note": format!("range {i}")}));
            }
            let mut taken = BTreeSet::new();
            let mut allocations = Vec::new();
            for (pick, offset, w) in allocs {
                let (i, (start, len)) = pick.get(&ranges.iter().enumerate().collect::<Vec<_>>()).to_owned();
                let port = start + offset % (len + 1);
                if taken.insert(port) {
                    allocations.push(json!({"port": port, "worktree": format!("w{w}"), "service": names[i], "ticket": port}));
                }
            }
            let doc = json!({"x-owner": {"team": "p"}, "ranges": r, "allocations": allocations, "metadata": {"version": "1.0.0", "mirror": [1]}});
            serde_json::to_string_pretty(&doc).unwrap()
        })
}

#[derive(Debug, Clone)]
enum Op {
    Allocate { service: usize, worktree: u8, busy: Vec<u16> },
    Ensure { service: usize, worktree: u8 },
    Release { pick: prop::sample::Index, by_worktree: bool },
    ReleaseWorktree { worktree: u8 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0usize..5, 0u8..4, prop::collection::vec(1000u16..1075, 0..6))
            .prop_map(|(service, worktree, busy)| Op::Allocate { service, worktree, busy }),
        (0usize..5, 0u8..4).prop_map(|(service, worktree)| Op::Ensure { service, worktree }),
        (any::<prop::sample::Index>(), any::<bool>()).prop_map(|(pick, by_worktree)| Op::Release { pick, by_worktree }),
        (0u8..4).prop_map(|worktree| Op::ReleaseWorktree { worktree }),
    ]
}

fn check_invariants(text: &str, original: &Value) {
    let reg = Registry::from_json(text).expect("every write parses");
    // Serialise → parse is the identity.
    assert_eq!(Registry::from_json(&reg.to_json()).unwrap(), reg);
    let ports: Vec<u16> = reg.allocations.iter().map(|a| a.port).collect();
    assert_eq!(ports.iter().collect::<BTreeSet<_>>().len(), ports.len(), "a port is held twice: {ports:?}");
    for a in &reg.allocations {
        assert!(reg.ranges[a.service.as_str()].contains(a.port), "{} outside the {} range", a.port, a.service);
    }
    let v: Value = serde_json::from_str(text).unwrap();
    assert_eq!(v["x-owner"], original["x-owner"]);
    assert_eq!(v["metadata"]["mirror"], original["metadata"]["mirror"]);
    for (name, range) in original["ranges"].as_object().unwrap() {
        assert_eq!(v["ranges"][name]["note"], range["note"]);
    }
    for a in v["allocations"].as_array().unwrap() {
        // Allocations that came with the file keep their unknown member; ours have none.
        if let Some(t) = a.get("ticket") {
            assert_eq!(t, &a["port"]);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn any_operation_sequence_keeps_the_invariants(text in registry(), ops in prop::collection::vec(op(), 1..25)) {
        let original: Value = serde_json::from_str(&text).unwrap();
        let fs = MemoryFs::new();
        fs.insert(PATH, text.as_str());
        let clock = FixedClock(Timestamp(1_767_175_200));
        let who = FixedIdentity("prop@test".into());
        let services = ["web", "api", "db", "web-staging", "unknown"];
        for op in ops {
            let busy: Vec<u16> = match &op { Op::Allocate { busy, .. } => busy.clone(), _ => vec![] };
            let probe = ScriptedProbe::with_busy(busy.iter().copied());
            let ports = Ports::new(Host { fs: &fs, probe: &probe, clock: &clock, identity: &who }, PATH);
            let before = ports.load().unwrap();
            match op {
                Op::Allocate { service, worktree, busy } => {
                    let w = format!("w{worktree}");
                    let req = AllocateRequest::new(services[service], &w);
                    if let Ok(a) = ports.allocate(&req) {
                        prop_assert!(!busy.contains(&a.port), "a busy port was handed out");
                        prop_assert!(before.allocations.iter().all(|b| b.port != a.port));
                    }
                }
                Op::Ensure { service, worktree } => {
                    let w = format!("w{worktree}");
                    let req = AllocateRequest::new(services[service], &w);
                    if let Ok(e) = ports.ensure(&req) {
                        let held = before.held_by(services[service], &w).map(|a| a.port);
                        prop_assert_eq!(held.is_none(), e.created);
                        if let Some(p) = held { prop_assert_eq!(p, e.allocation.port); }
                    }
                }
                Op::Release { pick, by_worktree } => {
                    if !before.allocations.is_empty() {
                        let a = pick.get(&before.allocations);
                        let removed = ports.release(a.port, by_worktree.then_some(a.worktree.as_str())).unwrap();
                        prop_assert_eq!(removed.len(), 1);
                    }
                }
                Op::ReleaseWorktree { worktree } => {
                    let w = format!("w{worktree}");
                    let removed = ports.release_worktree(&w).unwrap();
                    prop_assert_eq!(removed.len(), before.allocations_of(&w).count());
                }
            }
            check_invariants(&String::from_utf8(fs.get(PATH).unwrap()).unwrap(), &original);
        }
    }

    #[test]
    fn release_undoes_allocate(text in registry(), service in 0usize..4, worktree in 0u8..4) {
        let fs = MemoryFs::new();
        fs.insert(PATH, text.as_str());
        let (probe, clock, who) = (ScriptedProbe::default(), FixedClock(Timestamp(0)), FixedIdentity("p@t".into()));
        let ports = Ports::new(Host { fs: &fs, probe: &probe, clock: &clock, identity: &who }, PATH);
        let before = ports.load().unwrap();
        let w = format!("new{worktree}");
        let services = ["web", "api", "db", "web-staging"];
        if let Ok(a) = ports.allocate(&AllocateRequest { description: "d", ..AllocateRequest::new(services[service], &w) }) {
            ports.release(a.port, Some(&w)).unwrap();
            let after = ports.load().unwrap();
            prop_assert_eq!(after.allocations, before.allocations);
            prop_assert_eq!(after.ranges, before.ranges);
        }
    }
}
