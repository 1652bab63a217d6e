//! Another program rewriting a large registry in place (an editor saving, `cat copy >
//! ports.json`, `jq … > ports.json`) while ours read and write it. No lock of ours keeps such a
//! writer out, so what must hold is: no process of ours is killed by it (a mapped file cut short
//! is SIGBUS), and what ours write is exactly what they checked plus their change, never text
//! changed after the check.

use crate::support::*;
use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom, Write};
use std::net::TcpStream;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The allocations of the registries rewritten in place.
const COUNT: usize = 20_000;

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
/// never changes), every third time truncated first, as a shell's `>` does. Before each save it
/// looks at the file it opened: one of another length was written by one of our commands (an
/// allocation makes it longer; ours are renamed into place whole, never written into), and must
/// be a state of the file plus our allocations. It looks through the handle it writes through,
/// never the path again: one of ours renamed into place between the two would be written over,
/// its tail left behind, by the rewriter itself. Returns how many rewrites it made and what was
/// wrong with the files ours wrote.
fn rewriter(path: &Path, layouts: [String; 2], pause: Duration, stop: &AtomicBool) -> (usize, Vec<String>) {
    let (mut n, mut wrong, mut seen) = (0, Vec::new(), None);
    while !stop.load(Ordering::SeqCst) {
        if let Ok(mut f) = OpenOptions::new().read(true).write(true).open(path) {
            let meta = f.metadata().ok();
            let same_length = meta.as_ref().is_some_and(|m| m.len() == layouts[0].len() as u64);
            let ours = meta.map(|m| (m.len(), m.modified().ok())).filter(|_| !same_length);
            if ours.is_some() && ours != seen {
                let mut bytes = Vec::new();
                let _ = f.read_to_end(&mut bytes);
                if let Some(problem) = unsound(&bytes, COUNT) {
                    wrong.push(problem);
                }
                seen = ours;
            }
            // A same-length write only fits a file of the layouts' length: once an allocation
            // made it longer, a save truncates first, as an editor would (else the tail is left
            // over).
            if n % 3 == 2 || !same_length {
                let _ = f.set_len(0);
            }
            let _ = f.seek(SeekFrom::Start(0)).and_then(|_| f.write_all(layouts[n % 2].as_bytes()));
        }
        n += 1;
        std::thread::sleep(pause);
    }
    (n, wrong)
}

/// What is wrong with registry text one of our commands wrote: not JSON, or not exactly the
/// 20,000 allocations of a state of the file plus the ones our commands added (`new-…`), which
/// is what writing from memory another program changed after the check produced (5,017
/// allocations for 5,001). A port held twice is not in itself wrong here: a foreign writer
/// stalled in the middle of its write leaves the file, for that while, holding ports twice,
/// and a read then is a faithful read of that file (docs/reliability.md).
fn unsound(bytes: &[u8], count: usize) -> Option<String> {
    let json: serde_json::Value = match serde_json::from_slice(bytes) {
        Ok(json) => json,
        Err(e) => return Some(format!("not JSON: {e}")),
    };
    let allocations = json["allocations"].as_array()?;
    let ours = allocations.iter().filter(|a| a["worktree"].as_str().is_some_and(|w| w.starts_with("new-"))).count();
    (allocations.len() != count + ours)
        .then(|| format!("{} allocations, {ours} of them ours, from a registry of {count}", allocations.len()))
}

/// The program's own strict reading (a key named twice is corrupt) accepts the file, and it is a
/// state of the file plus our allocations.
fn assert_sound(path: &Path) {
    let run = command_in(path.parent().unwrap())
        .args(["list", "--all", "--format", "json", "--registry", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(run.status.success(), "the registry is sound: {}", String::from_utf8_lossy(&run.stderr));
    assert_eq!(unsound(&std::fs::read(path).unwrap(), COUNT), None);
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
    let count = COUNT;
    let layouts = [registry(count, 0), registry(count, count / 2)];
    assert_eq!(layouts[0].len(), layouts[1].len());
    let reg = path.to_str().unwrap();
    let (mut allocated, mut refused, mut rewrites) = (0, 0, 0);
    for round in 0..12 {
        std::fs::write(&path, &layouts[round % 2]).unwrap();
        let stop = AtomicBool::new(false);
        let (path_ref, stop_ref, layouts) = (&path, &stop, &layouts);
        std::thread::scope(|s| {
            // Back to back in even rounds (most reads are torn), with pauses in odd ones.
            let pause = Duration::from_millis(if round % 2 == 0 { 0 } else { 3 });
            let writer = s.spawn(move || rewriter(path_ref, layouts.clone(), pause, stop_ref));
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
            let (n, wrong) = writer.join().unwrap();
            assert_eq!(wrong, Vec::<String>::new(), "every registry our commands wrote is sound");
            rewrites += n;
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
    let count = COUNT;
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
        let writer = s.spawn(|| rewriter(&path, layouts.clone(), Duration::ZERO, &stop).0);
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
