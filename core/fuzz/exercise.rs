//! What the fuzzer runs on each input, shared with the regression test that replays the saved
//! corpus (core/tests/fuzz_corpus.rs). The first 8 bytes are a script of operations, the rest
//! registry text. Nothing may panic, and after every operation the invariants hold: the file
//! parses back to the same registry, no port handed out is held by another entry, every
//! allocation made lies in its range, and a release undoes its allocation.

use atlas_ports_core::memory::{FixedClock, FixedIdentity, MemoryFs, ScriptedProbe};
use atlas_ports_core::{AllocateRequest, Host, Ports, Registry, Timestamp, conflicts, env_export, report, status};

const PATH: &str = "ports.json";

pub fn run(data: &[u8]) {
    let (script, text) = data.split_at(data.len().min(8));
    let Ok(text) = std::str::from_utf8(text) else { return };
    let Ok(registry) = Registry::from_json(text) else { return };

    // Serialise → parse is the identity, and stable.
    let json = registry.to_json();
    let again = Registry::from_json(&json).expect("what we write must parse");
    assert_eq!(again, registry);
    assert_eq!(again.to_json(), json);
    reports(&registry);

    let fs = MemoryFs::new();
    fs.insert(PATH, text);
    let probe = ScriptedProbe::with_busy(script.iter().map(|&b| 8000 + u16::from(b)));
    let clock = FixedClock(Timestamp(1_767_175_200));
    let who = FixedIdentity("fuzz@host".into());
    let ports = Ports::new(Host { fs: &fs, probe: &probe, clock: &clock, identity: &who }, PATH);
    let services: Vec<String> = registry.ranges.keys().cloned().chain(["nope".to_owned()]).collect();

    for (i, &op) in script.iter().enumerate() {
        let before = ports.load().expect("the registry stays valid");
        let writes = fs.write_count();
        let service = &services[usize::from(op >> 3) % services.len()];
        let worktree = format!("w{}", op % 3);
        let req = AllocateRequest::new(service, &worktree);
        match op % 5 {
            0 | 1 => {
                let result = if op % 5 == 0 { ports.allocate(&req) } else { ports.ensure(&req).map(|e| e.allocation) };
                if let Ok(a) = result {
                    let held_before = before.allocations.iter().any(|b| b.port == a.port);
                    let reused = op % 5 == 1 && before.held_by(service, &worktree).is_some();
                    assert!(reused || !held_before, "port {} handed out while held", a.port);
                    if !reused {
                        assert!(before.ranges[service.as_str()].contains(a.port), "port outside its range");
                        // Release undoes allocate.
                        if i % 2 == 0 {
                            let removed = ports.release(a.port, Some(&worktree)).expect("release");
                            assert_eq!(removed.len(), 1);
                            assert_eq!(ports.load().unwrap().allocations, before.allocations);
                        }
                    }
                }
            }
            2 => {
                let port =
                    before.allocations.get(usize::from(op) % before.allocations.len().max(1)).map_or(1, |a| a.port);
                let removed = ports.release(port, None).expect("release");
                assert!(removed.iter().all(|a| a.port == port));
                assert!(ports.load().unwrap().allocations.iter().all(|a| a.port != port));
            }
            3 => {
                let _ = ports.release_worktree(&worktree);
            }
            _ => {
                let _ = ports.find_next(service);
            }
        }
        let after = ports.load().expect("every write is a valid registry");
        if fs.write_count() != writes {
            assert_eq!(
                after.metadata.total_allocations as usize,
                after.allocations.len(),
                "a write counts what is there"
            );
        } else {
            assert_eq!(after, before, "an operation that wrote nothing changed nothing");
        }
        reports(&after);
    }
}

/// Every report and export renders without panicking.
fn reports(reg: &Registry) {
    let states: Vec<_> =
        reg.allocations.iter().map(|a| atlas_ports_core::AllocationState::as_stored(reg, a.clone())).collect();
    let _ = report::status_all(&status::by_range(reg, states.clone()));
    if let Some(first) = reg.allocations.first() {
        let _ = report::status_worktree(&first.worktree, &states);
    }
    let health = status::HealthReport::new(states);
    let _ = (report::health(&health, true), report::health_block(&health, true));
    let _ = report::conflicts(&conflicts::registry_conflicts(reg));
    if let Ok((vars, _)) = env_export::port_variables(&reg.allocations) {
        let _ = (env_export::dotenv(&vars), env_export::shell(&vars, "w"));
    }
    let _ = report::allocation_lines(&reg.allocations);
}
