//! `cargo bench -p atlas-ports-cli --bench allocate`: median wall time of whole `atlas-ports`
//! commands (process start included) on registries of 100, 1,000, 10,000 and 50,000
//! allocations, against baselines in Python run interleaved in the same loop, so that machine
//! noise hits both: `allocate` against the reference design's algorithm
//! (`reference_allocate.py`), `ensure` of a held port, `list` and `status --all` against the same
//! lookups done the way the reference scripts do them (`reference_ops.py`).
//!
//! For `allocate`, the machine's floor for the same bytes is measured in process in the same
//! loop: a bare write + `fdatasync` + rename + folder `fsync` of a file of the registry's size.
//! Set `BENCH_RUNS` to change the number of runs per case (default 21), `BENCH_SIZES` to measure
//! some sizes only (`BENCH_SIZES=1000,50000`), and `ATLAS_PORTS_BENCH_BIN` to measure another
//! build of `atlas-ports` (a release archive's, say).

#[path = "registry.rs"]
mod registry;

use registry::{median, put_back, registry_text, write_floor};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn main() {
    let runs: usize = std::env::var("BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(21);
    let bin = &registry::binary();
    let here = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/bench/");
    let (py_allocate, py_ops) = (format!("{here}reference_allocate.py"), format!("{here}reference_ops.py"));
    let tmp = tempfile::tempdir().unwrap();
    let registry = tmp.path().join("ports.json");
    let reg = registry.to_str().unwrap();

    println!("whole commands, median of {runs} runs (wall time; python run interleaved)");
    println!("binary: {bin}\n");
    println!(
        "{:<16} {:>7} {:>8} {:>11} {:>11} {:>7} {:>10} {:>10}",
        "command", "allocs", "file", "atlas-ports", "python", "ratio", "floor", "ours/floor"
    );
    let start = median((0..runs).map(|_| time(Command::new(bin).arg("--version"))).collect());
    let sizes: Vec<usize> = match std::env::var("BENCH_SIZES") {
        Ok(v) => v.split(',').map(|n| n.trim().parse().expect("BENCH_SIZES: numbers separated by commas")).collect(),
        Err(_) => vec![100, 1_000, 10_000, 50_000],
    };
    for count in sizes {
        let template = registry_text(count);
        let file = size(template.len());
        // allocate: writes, so the file is put back before every run, as our commands leave it.
        // "allocate, edited": the same, on a file another program wrote in place a moment
        // before (an editor's save), which is read twice to be sure the write was over.
        let (mut ours, mut edited, mut theirs, mut floor) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let allocate = || {
            let mut c = Command::new(bin);
            c.args(["allocate", "--service", "bulk", "--worktree", "bench", "-q"]).args(["--registry", reg]);
            c
        };
        for _ in 0..runs {
            put_back(&registry, template.as_bytes());
            ours.push(time(&mut allocate()));
            check(&registry, count + 1);
            std::fs::write(&registry, &template).unwrap();
            edited.push(time(&mut allocate()));
            check(&registry, count + 1);
            put_back(&registry, template.as_bytes());
            theirs.push(time(Command::new("python3").args([&py_allocate, reg, "bulk", "bench"])));
            check(&registry, count + 1);
            floor.push(write_floor(tmp.path(), template.as_bytes()));
        }
        let (o, t, f) = (median(ours), median(theirs), median(floor));
        row("allocate", count, &file, o, t, Some(f));
        row("allocate, edited", count, &file, median(edited), t, Some(f));
        // The read side: the file stays as it is.
        put_back(&registry, template.as_bytes());
        let held = format!("wt-{}", count / 2);
        let cases: [(&str, Vec<&str>, Vec<&str>); 3] = [
            (
                "ensure (held)",
                vec!["ensure", "--service", "bulk", "--worktree", &held, "-q"],
                vec!["ensure", reg, "bulk", &held],
            ),
            ("list", vec!["list", "--worktree", &held], vec!["list", reg, &held]),
            ("status --all", vec!["status", "--all"], vec!["status", reg]),
        ];
        for (name, args, py) in cases {
            let (mut ours, mut theirs) = (Vec::new(), Vec::new());
            for _ in 0..runs {
                ours.push(time(Command::new(bin).args(&args).args(["--registry", reg])));
                theirs.push(time(Command::new("python3").arg(&py_ops).args(&py)));
            }
            row(name, count, &file, median(ours), median(theirs), None);
        }
        check(&registry, count);
    }
    println!("\nprocess start (atlas-ports --version): {:.2} ms", ms(start));
}

fn row(name: &str, count: usize, file: &str, ours: Duration, theirs: Duration, floor: Option<Duration>) {
    let ratio = theirs.as_secs_f64() / ours.as_secs_f64();
    let (floor, over) = match floor {
        Some(f) => (format!("{:.2} ms", ms(f)), format!("{:.1}x", ours.as_secs_f64() / f.as_secs_f64())),
        None => (String::new(), String::new()),
    };
    println!(
        "{name:<16} {count:>7} {file:>8} {:>8.2} ms {:>8.2} ms {ratio:>6.1}x {floor:>10} {over:>10}",
        ms(ours),
        ms(theirs)
    );
}

fn time(cmd: &mut Command) -> Duration {
    let started = Instant::now();
    let out = cmd.output().expect("benchmark command runs");
    let took = started.elapsed();
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
    took
}

/// Both programs must have left the registry with this many allocations, and valid.
fn check(registry: &Path, expected: usize) {
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(registry).unwrap()).unwrap();
    assert_eq!(v["allocations"].as_array().unwrap().len(), expected);
}

fn size(bytes: usize) -> String {
    if bytes < 1_000_000 { format!("{} KB", bytes.div_ceil(1000)) } else { format!("{:.1} MB", bytes as f64 / 1e6) }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
