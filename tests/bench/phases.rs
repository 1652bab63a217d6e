//! `cargo bench -p atlas-ports-cli --bench phases`: where the time of one `allocate` goes, phase
//! by phase, in process, on registries of 1,000 to 50,000 allocations: read the file, parse it,
//! find the port, serialise, and write (flushed temporary, rename, folder sync). Medians of
//! `BENCH_RUNS` runs (default 11).

use atlas_ports_core::{AllocateRequest, Registry};
use std::io::Write;
use std::time::{Duration, Instant};

fn main() {
    let runs: usize = std::env::var("BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(11);
    let tmp = tempfile::tempdir().unwrap();
    println!("one allocate, phase by phase; median of {runs} runs (ms)\n");
    println!(
        "{:>12} {:>9} {:>8} {:>8} {:>8} {:>10} {:>8}",
        "allocations", "file", "read", "parse", "find", "serialise", "write"
    );
    for count in [1_000usize, 10_000, 50_000] {
        let path = tmp.path().join("ports.json");
        std::fs::write(&path, registry_text(count)).unwrap();
        let mut phases: [Vec<Duration>; 5] = Default::default();
        let mut len = 0;
        for _ in 0..runs {
            let t = Instant::now();
            let bytes = std::fs::read(&path).unwrap();
            phases[0].push(t.elapsed());
            len = bytes.len();
            let t = Instant::now();
            let mut reg = Registry::from_json(std::str::from_utf8(&bytes).unwrap()).unwrap();
            phases[1].push(t.elapsed());
            let t = Instant::now();
            let req = AllocateRequest {
                service: "bulk",
                worktree: "bench",
                description: "",
                worktree_path: None,
                preferred: None,
                exclude: &[],
                git: None,
            };
            reg.allocate(&req, "2025-12-31T10:00:00Z", "bench@host", &mut |_| true).unwrap();
            phases[2].push(t.elapsed());
            let t = Instant::now();
            let mut out = Vec::with_capacity(bytes.len() + 4096);
            reg.write_json(&mut out).unwrap();
            phases[3].push(t.elapsed());
            let t = Instant::now();
            let tmp_file = tmp.path().join(".ports.json.tmp");
            let mut f = std::fs::File::create(&tmp_file).unwrap();
            f.write_all(&out).unwrap();
            f.sync_data().unwrap();
            std::fs::rename(&tmp_file, tmp.path().join("out.json")).unwrap();
            std::fs::File::open(tmp.path()).unwrap().sync_all().unwrap();
            phases[4].push(t.elapsed());
        }
        let m: Vec<f64> = phases.into_iter().map(|v| median(v).as_secs_f64() * 1e3).collect();
        println!(
            "{count:>12} {:>7.1}MB {:>8.2} {:>8.2} {:>8.2} {:>10.2} {:>8.2}",
            len as f64 / 1e6,
            m[0],
            m[1],
            m[2],
            m[3],
            m[4]
        );
    }
}

fn registry_text(count: usize) -> String {
    let allocations: Vec<_> = (0..count)
        .map(|i| {
            serde_json::json!({
                "port": 10_000 + i, "worktree": format!("wt-{i}"), "service": "bulk",
                "allocated_at": "2025-12-31T10:00:00Z", "allocated_by": "bench@host",
                "description": "benchmark filler", "process_id": null, "health_status": "unknown"
            })
        })
        .collect();
    serde_json::to_string_pretty(&serde_json::json!({
        "ranges": {"bulk": {"start": 10_000, "end": 10_000 + count + 999, "description": "bench"}},
        "allocations": allocations,
        "metadata": {"version": "1.0.0", "last_updated": "", "total_allocations": count, "schema_version": 1}
    }))
    .unwrap()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}
