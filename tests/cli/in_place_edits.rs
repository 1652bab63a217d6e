//! Another program rewriting a large registry in place (an editor saving, `cat copy >
//! ports.json`, `jq … > ports.json`) while ours read and write it. No lock of ours keeps such a
//! writer out, so what must hold is: no process of ours is killed by it (a mapped file cut short
//! is SIGBUS), and what ours write is exactly what they checked, so the registry is never left
//! mixed or holding a port twice.

use crate::support::*;
use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A registry of `count` allocations of `bulk`, listed from the `rotate`-th on. Every entry has
/// the same length, so two rotations are files of one length with a shifted layout: a read torn
/// between them is text that may still parse.
fn registry(count: usize, rotate: usize) -> String {
    let allocations: Vec<_> = (0..count)
        .map(|i| (i + rotate) % count)
        .map(|i| {
            serde_json::json!({
                "port": 10_000 + i, "worktree": format!("wt-{i:05}"), "service": "bulk",
                "allocated_at": "2025-12-31T10:00:00Z", "allocated_by": "bench@host",
                "description": "filler", "process_id": null, "health_status": "unknown"
            })
        })
        .collect();
    serde_json::to_string_pretty(&serde_json::json!({
        "ranges": {"bulk": {"start": 10_000, "end": 10_000 + count + 999, "description": "bulk"}},
        "allocations": allocations,
        "metadata": {"version": "1.0.0", "last_updated": "", "total_allocations": count, "schema_version": 1}
    }))
    .unwrap()
}

/// Rewrites `path` in place until `stop`, alternating two layouts of one length, as an editor
/// saving again and again would (`pause` between saves): mostly over the old bytes (the length
/// never changes), every third time truncated first, as a shell's `>` does. Returns how many
/// rewrites it made.
fn rewriter(path: &Path, layouts: [String; 2], pause: Duration, stop: &AtomicBool) -> usize {
    let mut n = 0;
    while !stop.load(Ordering::SeqCst) {
        let truncate = n % 3 == 2;
        if let Ok(mut f) = OpenOptions::new().write(true).truncate(truncate).open(path) {
            let _ = f.write_all(layouts[n % 2].as_bytes());
        }
        n += 1;
        std::thread::sleep(pause);
    }
    n
}

/// The program's own strict reading (a key named twice, a port held twice are corrupt) accepts
/// the file, and no port is held twice.
fn assert_sound(path: &Path) {
    let run = command_in(path.parent().unwrap())
        .args(["list", "--all", "--format", "json", "--registry", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(run.status.success(), "the registry is sound: {}", String::from_utf8_lossy(&run.stderr));
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let ports: Vec<u64> = json["allocations"].as_array().unwrap().iter().map(|a| a["port"].as_u64().unwrap()).collect();
    let mut unique = ports.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), ports.len(), "no port is held twice");
}

/// Whether `status` is a death by signal; names it.
fn killed(status: std::process::ExitStatus) -> Option<i32> {
    status.signal()
}

/// 12 rounds: in each, 8 `allocate` processes and a reader run while another program rewrites
/// the 20,000-allocation registry (5.4 MB) in place; then the rewriter stops and the registry
/// must be sound. Not one process may die of a signal; each either allocated (exit 0) or said
/// the registry was corrupt or changing (exit 2, ERR_CORRUPT_REGISTRY), never anything else.
#[test]
fn allocations_during_in_place_rewrites_never_crash_or_leave_a_mixed_registry() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ports.json");
    let count = 20_000;
    let layouts = [registry(count, 0), registry(count, count / 2)];
    assert_eq!(layouts[0].len(), layouts[1].len());
    let reg = path.to_str().unwrap();
    let (mut allocated, mut refused, mut rewrites) = (0, 0, 0);
    for round in 0..12 {
        std::fs::write(&path, &layouts[round % 2]).unwrap();
        let stop = AtomicBool::new(false);
        std::thread::scope(|s| {
            let writer = s.spawn(|| rewriter(&path, layouts.clone(), Duration::from_millis(3), &stop));
            let children: Vec<Child> = (0..8)
                .map(|k| {
                    let mut c = command_in(dir.path());
                    match k {
                        7 => c.args(["list", "--all", "--format", "json"]),
                        _ => c.args(["allocate", "--service", "bulk", "--worktree", &format!("new-{round}-{k}"), "-q"]),
                    };
                    c.args(["--registry", reg]).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap()
                })
                .collect();
            for child in children {
                let out = child.wait_with_output().unwrap();
                let stderr = String::from_utf8_lossy(&out.stderr);
                assert_eq!(killed(out.status), None, "killed by a signal; stderr: {stderr}");
                match out.status.code() {
                    Some(0) => allocated += 1,
                    Some(2) if stderr.contains("ERR_CORRUPT_REGISTRY") || stderr.contains("corrupt") => refused += 1,
                    code => panic!("exit {code:?}: {stderr}"),
                }
            }
            stop.store(true, Ordering::SeqCst);
            rewrites += writer.join().unwrap();
        });
        assert_sound(&path);
    }
    eprintln!("{allocated} commands succeeded, {refused} refused a changing registry, {rewrites} rewrites in place");
    assert!(allocated > 0, "some commands got a stable read");
}

/// One HTTP/1.1 request; the status, or `None` when the server is gone.
fn status_of(port: u16, host: &str) -> Option<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes()).ok()?;
    let mut answer = String::new();
    s.read_to_string(&mut answer).ok()?;
    answer.get(9..12)?.parse().ok()
}

/// The dashboard reads the registry on every named-URL request. A user saving the registry in
/// place, again and again, must never kill it: it answers throughout and is alive after.
#[test]
fn the_dashboard_survives_a_registry_rewritten_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ports.json");
    let count = 20_000;
    let layouts = [registry(count, 0), registry(count, count / 2)];
    std::fs::write(&path, &layouts[0]).unwrap();
    let port = free_block(1);
    let mut dashboard = command_in(dir.path())
        .args(["dashboard", "--port", &port.to_string(), "--registry", path.to_str().unwrap()])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while status_of(port, &format!("127.0.0.1:{port}")).is_none() {
        assert!(started.elapsed() < Duration::from_secs(10), "the dashboard listens");
        std::thread::sleep(Duration::from_millis(50));
    }
    let stop = AtomicBool::new(false);
    let answered = AtomicUsize::new(0);
    std::thread::scope(|s| {
        // Back to back: the hardest case for a reader.
        let writer = s.spawn(|| rewriter(&path, layouts.clone(), Duration::ZERO, &stop));
        for i in 0..150 {
            // A named URL: the registry is read to route it (404, 502 or 503 all mean it lived).
            let host = format!("bulk.wt-{:05}.localhost:{port}", i * 7);
            if status_of(port, &host).is_some() {
                answered.fetch_add(1, Ordering::SeqCst);
            }
            if let Some(status) = dashboard.try_wait().unwrap() {
                stop.store(true, Ordering::SeqCst);
                panic!("the dashboard died during the rewrites: {status:?} (signal {:?})", status.signal());
            }
        }
        stop.store(true, Ordering::SeqCst);
        writer.join().unwrap();
    });
    assert_eq!(answered.load(Ordering::SeqCst), 150, "every request was answered");
    assert_eq!(dashboard.try_wait().unwrap(), None, "alive after the rewrites");
    assert_eq!(status_of(port, &format!("bulk.wt-00007.localhost:{port}")), Some(502), "routes by the registry");
    dashboard.kill().unwrap();
    dashboard.wait().unwrap();
}
