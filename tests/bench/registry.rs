//! What the allocate and phases benchmarks share: the registry they measure on, and the
//! machine's floor for durably replacing a file.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

/// A registry with `count` allocations filling ports 10000… of a range large enough to leave
/// the next port free, so that allocate scans past all of them.
pub fn registry_text(count: usize) -> String {
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

/// The bare cost of durably replacing a file of these bytes in `dir`: write, `fdatasync`,
/// rename, and the folder's `fsync`.
pub fn write_floor(dir: &Path, bytes: &[u8]) -> Duration {
    let (tmp, target) = (dir.join(".floor.tmp"), dir.join("floor.json"));
    let started = Instant::now();
    let mut f = std::fs::File::create(&tmp).unwrap();
    f.write_all(bytes).unwrap();
    f.sync_data().unwrap();
    std::fs::rename(&tmp, &target).unwrap();
    std::fs::File::open(dir).unwrap().sync_all().unwrap();
    started.elapsed()
}

/// Puts `bytes` at `target` the way atlas-ports' own commands leave a registry: a new file,
/// synced and looked at, renamed over the old one. (A file written in place less than a second
/// before a command is read twice: `native/src/os_fs/steady.rs`.)
#[allow(dead_code)]
pub fn put_back(target: &Path, bytes: &[u8]) {
    let tmp = target.with_extension("put-back.tmp");
    let mut f = std::fs::File::create(&tmp).unwrap();
    f.write_all(bytes).unwrap();
    f.sync_data().unwrap();
    let _ = f.metadata();
    std::fs::rename(&tmp, target).unwrap();
}

/// The `atlas-ports` measured: `ATLAS_PORTS_BENCH_BIN` when set (a release archive's, say),
/// else the one cargo built for the bench.
#[allow(dead_code)]
pub fn binary() -> String {
    std::env::var("ATLAS_PORTS_BENCH_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_atlas-ports").to_owned())
}

pub fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}
