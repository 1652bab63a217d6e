//! `cargo bench -p atlas-ports-cli --bench phases`: where the time of one `allocate` goes, in
//! process, on registries of 1,000 to 50,000 allocations, through the real store and filesystem:
//!
//! - `read+parse`: the lock-free snapshot (read the file, parse and validate it);
//! - `locked append`: the write path of an allocation (lock, read the text again and compare it
//!   with the snapshot's, reuse the parse, find the port, splice the entry into the text, write a
//!   flushed temporary, rename, sync the folder);
//! - `floor`: the bare write + `fdatasync` + rename + folder `fsync` of the same bytes;
//! - `rewrite`: what serialising the whole registry again would cost on top (the old path).
//!
//! Medians of `BENCH_RUNS` runs (default 11), the floor measured in turns with the rest.

#[path = "registry.rs"]
mod registry;

use atlas_ports_core::{AllocateRequest, Change, RegistryStore};
use atlas_ports_native::OsFs;
use registry::{median, registry_text, write_floor};
use std::time::{Duration, Instant};

fn main() {
    let runs: usize = std::env::var("BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(11);
    let tmp = tempfile::tempdir().unwrap();
    let fs = OsFs::default();
    println!("one allocate's phases, in process; median of {runs} runs (ms)\n");
    println!(
        "{:>12} {:>8} {:>11} {:>14} {:>8} {:>14} {:>9}",
        "allocations", "file", "read+parse", "locked append", "floor", "append/floor", "rewrite"
    );
    for count in [1_000usize, 10_000, 50_000] {
        let path = tmp.path().join("ports.json");
        let text = registry_text(count);
        let mut phases: [Vec<Duration>; 4] = Default::default();
        for run in 0..runs {
            std::fs::write(&path, &text).unwrap();
            let store = RegistryStore::new(&fs, &path);
            let t = Instant::now();
            let snapshot = store.snapshot().unwrap();
            phases[0].push(t.elapsed());
            let t = Instant::now();
            let req = AllocateRequest::new("bulk", "bench");
            store
                .update_from(Some(snapshot), "2026-01-01T00:00:00Z", |reg| {
                    reg.allocate(&req, "2026-01-01T00:00:00Z", "b@h", &mut |_| true)?;
                    Ok(((), Change::Appended))
                })
                .unwrap();
            phases[1].push(t.elapsed());
            let written = std::fs::read(&path).unwrap();
            assert!(written.len() > text.len() && written.starts_with(&text.as_bytes()[..1000]));
            let floor = || write_floor(tmp.path(), &written);
            if run % 2 == 0 {
                phases[2].push(floor());
            }
            let reg = store.load().unwrap();
            let t = Instant::now();
            let mut out = Vec::with_capacity(written.len());
            reg.write_json(&mut out).unwrap();
            phases[3].push(t.elapsed());
            if run % 2 == 1 {
                phases[2].push(floor());
            }
        }
        let m: Vec<f64> = phases.into_iter().map(|v| median(v).as_secs_f64() * 1e3).collect();
        println!(
            "{count:>12} {:>6.1}MB {:>11.2} {:>14.2} {:>8.2} {:>13.2}x {:>9.2}",
            text.len() as f64 / 1e6,
            m[0],
            m[1],
            m[2],
            m[1] / m[2],
            m[3]
        );
    }
}
