//! `cargo bench -p atlas-ports-cli --bench allocate`: median wall time of one
//! `atlas-ports allocate` end to end (process start, lock, read, probe, write, flushed rename)
//! on registries of 100 and 50,000 allocations, against the reference design's algorithm in Python
//! (`reference_allocate.py`) run in the same loop, interleaved, so that machine noise hits both.
//! Beside them, the machine's floor for the same bytes, in process: a bare write + `fdatasync` +
//! rename, and the same followed by the folder's `fsync` that makes the rename durable (what
//! that durability costs). Set `BENCH_RUNS` to change the number of runs per case.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn main() {
    let runs: usize = std::env::var("BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(21);
    let bin = env!("CARGO_BIN_EXE_atlas-ports");
    let python = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/bench/reference_allocate.py");
    let tmp = tempfile::tempdir().unwrap();
    let registry = tmp.path().join("ports.json");
    let reg = registry.to_str().unwrap();

    println!("atlas-ports allocate, end to end; median of {runs} runs (wall time)\n");
    println!("{:>12}  {:>10}  {:>12}  {:>12}  {:>8}", "allocations", "file", "atlas-ports", "python", "ratio");
    let floor = median((0..runs).map(|_| time(Command::new(bin).arg("--version"))).collect());
    for count in [100usize, 50_000] {
        let template = registry_text(count);
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        let (mut bare, mut durable) = (Vec::new(), Vec::new());
        for run in 0..runs {
            // In turns, so that neither always runs on a cache the other warmed.
            for durable_now in if run % 2 == 0 { [false, true] } else { [true, false] } {
                let took = write_floor(tmp.path(), template.as_bytes(), durable_now);
                if durable_now { durable.push(took) } else { bare.push(took) }
            }
            std::fs::write(&registry, &template).unwrap();
            ours.push(time(Command::new(bin).args([
                "allocate",
                "--service",
                "bulk",
                "--worktree",
                "bench",
                "--quiet",
                "--registry",
                reg,
            ])));
            check(&registry, count);
            std::fs::write(&registry, &template).unwrap();
            theirs.push(time(Command::new("python3").args([python, reg, "bulk", "bench"])));
            check(&registry, count);
        }
        let (o, t) = (median(ours), median(theirs));
        let (b, d) = (median(bare), median(durable));
        println!(
            "{count:>12}  {:>10}  {:>9.2} ms  {:>9.2} ms  {:>7.1}x   write floor {:.2} ms, with folder fsync {:.2} ms (+{:.2} ms)",
            size(template.len()),
            ms(o),
            ms(t),
            t.as_secs_f64() / o.as_secs_f64(),
            ms(b),
            ms(d),
            ms(d.saturating_sub(b))
        );
    }
    println!("\nprocess start floor (atlas-ports --version): {:.2} ms", ms(floor));
}

/// A registry with `count` allocations filling ports 10000… of a range large enough to leave
/// the next port free, so that allocate scans past all of them.
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

/// The bare cost of replacing a file of these bytes: write, `fdatasync`, rename, and, when
/// `durable`, the folder's `fsync`.
fn write_floor(dir: &Path, bytes: &[u8], durable: bool) -> Duration {
    use std::io::Write;
    let (tmp, target) = (dir.join(".floor.tmp"), dir.join("floor.json"));
    let started = Instant::now();
    let mut f = std::fs::File::create(&tmp).unwrap();
    f.write_all(bytes).unwrap();
    f.sync_data().unwrap();
    std::fs::rename(&tmp, &target).unwrap();
    if durable {
        std::fs::File::open(dir).unwrap().sync_all().unwrap();
    }
    started.elapsed()
}

fn time(cmd: &mut Command) -> Duration {
    let started = Instant::now();
    let out = cmd.output().expect("benchmark command runs");
    let took = started.elapsed();
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
    took
}

/// Both programs must really have allocated one more port.
fn check(registry: &Path, before: usize) {
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(registry).unwrap()).unwrap();
    assert_eq!(v["allocations"].as_array().unwrap().len(), before + 1);
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn size(bytes: usize) -> String {
    if bytes < 1_000_000 { format!("{} KB", bytes.div_ceil(1000)) } else { format!("{:.1} MB", bytes as f64 / 1e6) }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
