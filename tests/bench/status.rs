//! `cargo bench -p atlas-ports-cli --bench status`: median wall time of
//! `atlas-ports status --health-check` over 200 allocations (50 of them served by live HTTP
//! responders in this process, the rest closed) and of `status --all` over 5,000 allocations,
//! with the process-start floor (`atlas-ports --version`) measured in the same run.
//! `ATLAS_PORTS_BENCH_BIN` measures another build of `atlas-ports`.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::time::{Duration, Instant};

fn main() {
    let runs: usize = std::env::var("BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(11);
    // As in the allocate bench: another build of the CLI when set (scripts/bench.sh).
    let bin = &std::env::var("ATLAS_PORTS_BENCH_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_atlas-ports").to_owned());
    let tmp = tempfile::tempdir().unwrap();
    let registry = tmp.path().join("ports.json");
    let reg = registry.to_str().unwrap();

    // 200 allocations on ports 41000…41199; the first 50 answer HTTP.
    let base = 41_000u16;
    for port in base..base + 50 {
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("bench ports 41000-41049 are free");
        std::thread::spawn(move || {
            for mut s in listener.incoming().flatten() {
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf);
                let _ = s.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n");
            }
        });
    }
    std::fs::write(&registry, registry_text(base, 200)).unwrap();
    let floor = median((0..runs).map(|_| time(Command::new(bin).arg("--version"), &[0])).collect());
    let health = median(
        (0..runs)
            .map(|_| time(Command::new(bin).args(["status", "--health-check", "--registry", reg]), &[1]))
            .collect(),
    );
    std::fs::write(&registry, registry_text(20_000, 5_000)).unwrap();
    let all =
        median((0..runs).map(|_| time(Command::new(bin).args(["status", "--all", "--registry", reg]), &[0])).collect());

    println!("atlas-ports status; median of {runs} runs (wall time)\n");
    println!("  status --health-check, 200 allocations (50 live)  {:>9.1} ms   (target: under 1 s)", ms(health));
    println!("  status --all, 5,000 allocations                   {:>9.1} ms", ms(all));
    println!("  process start floor (--version)                   {:>9.1} ms", ms(floor));
}

fn registry_text(base: u16, count: u16) -> String {
    let allocations: Vec<_> = (0..count)
        .map(|i| serde_json::json!({"port": base + i, "worktree": format!("wt-{i}"), "service": "web", "allocated_at": "2025-12-31T10:00:00Z"}))
        .collect();
    serde_json::to_string_pretty(&serde_json::json!({
        "ranges": {"web": {"start": base, "end": base + count - 1}},
        "allocations": allocations,
        "metadata": {"version": "1.0.0", "last_updated": "", "total_allocations": count, "schema_version": 1}
    }))
    .unwrap()
}

fn time(cmd: &mut Command, ok: &[i32]) -> Duration {
    let started = Instant::now();
    let out = cmd.output().expect("benchmark command runs");
    let took = started.elapsed();
    assert!(out.status.code().is_some_and(|c| ok.contains(&c)), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
    took
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
