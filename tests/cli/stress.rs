//! Trying hard to break the reliability guarantees with real processes: SIGKILL in the middle of allocating and
//! releasing, hundreds of times; and 100 workers mixing every kind of operation at once.
//! Each test prints its figures (run with --nocapture to see them).

use crate::support::*;
use std::collections::{BTreeMap, BTreeSet};
use std::process::Stdio;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The two tests load the machine: one at a time.
static HEAVY: Mutex<()> = Mutex::new(());

/// A registry with a `svc` range of `n` free ports and `filler` extra allocations of another
/// service, so that every write takes long enough for a kill to land in the middle of it.
fn big_registry(repo: &Repo, n: u16, filler: u16) -> (u16, u16) {
    let start = free_block(n);
    let allocations: Vec<serde_json::Value> = (0..filler)
        .map(|i| {
            serde_json::json!({"port": 40000 + i, "worktree": format!("filler-{i}"), "service": "filler",
            "allocated_at": "2025-12-31T10:00:00Z", "allocated_by": "x@y", "description": "make the file bigger"})
        })
        .collect();
    let reg = serde_json::json!({
        "ranges": {"svc": {"start": start, "end": start + n - 1}, "filler": {"start": 40000, "end": 40000 + filler}},
        "allocations": allocations,
        "metadata": {"version": "1.0.0", "last_updated": "", "total_allocations": filler, "schema_version": 1}
    });
    std::fs::create_dir_all(repo.registry().parent().unwrap()).unwrap();
    std::fs::write(repo.registry(), serde_json::to_string_pretty(&reg).unwrap()).unwrap();
    (start, start + n - 1)
}

/// `worktree → port` of the `svc` allocations, after checking that the registry is valid
/// (the program itself must load it) and holds no port twice.
fn svc_allocations(repo: &Repo) -> BTreeMap<String, u16> {
    let run = repo.run(&["list", "--all", "--format", "json"]).success();
    let all: Vec<serde_json::Value> = serde_json::from_str(&run.stdout).unwrap();
    let ports: Vec<u64> = all.iter().map(|a| a["port"].as_u64().unwrap()).collect();
    assert_eq!(ports.iter().collect::<BTreeSet<_>>().len(), ports.len(), "a port is held twice");
    all.iter()
        .filter(|a| a["service"] == "svc")
        .map(|a| (a["worktree"].as_str().unwrap().to_owned(), a["port"].as_u64().unwrap() as u16))
        .collect()
}

fn temporaries(repo: &Repo) -> usize {
    std::fs::read_dir(repo.registry().parent().unwrap())
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().ends_with(".tmp"))
        .count()
}

/// A small deterministic generator: the test must be repeatable.
struct Rng(u64);
impl Rng {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below
    }
}

#[test]
fn sigkill_at_any_instant_leaves_a_valid_registry_and_loses_nothing_reported() {
    let _heavy = HEAVY.lock().unwrap_or_else(|p| p.into_inner());
    let repo = Repo::new();
    big_registry(&repo, 200, 1500);
    // How long one write takes, so that kills spread over the whole operation.
    let t = Instant::now();
    repo.run(&["allocate", "--service", "svc", "--worktree", "warm-up", "-q"]).success();
    let span = t.elapsed().as_micros() as u64 * 12 / 10;

    let mut expected = svc_allocations(&repo);
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let (mut kills, mut completed, mut temp_left_by_kill, mut in_flight_applied) = (0, 0, 0, 0);
    for i in 0..300 {
        let release = !expected.is_empty() && rng.next(2) == 0;
        let (args, target) = if release {
            let (w, p) = expected.iter().nth(rng.next(expected.len() as u64) as usize).unwrap();
            (vec!["release".to_owned(), p.to_string(), "--worktree".into(), w.clone()], w.clone())
        } else {
            let w = format!("k{i}");
            (["allocate", "--service", "svc", "--worktree", &w, "-q"].map(String::from).to_vec(), w)
        };
        let mut child =
            command_in(&repo.main).args(&args).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
        std::thread::sleep(Duration::from_micros(rng.next(span)));
        let _ = child.kill(); // SIGKILL
        let out = child.wait_with_output().unwrap();
        let before_check = temporaries(&repo);
        let now = svc_allocations(&repo);
        match out.status.code() {
            Some(0) => {
                completed += 1;
                if release {
                    expected.remove(&target);
                } else {
                    expected.insert(target, String::from_utf8(out.stdout).unwrap().trim().parse().unwrap());
                }
                assert_eq!(now, expected, "iteration {i}: a reported success is not in the registry");
            }
            None => {
                kills += 1;
                temp_left_by_kill += usize::from(before_check > 0);
                // The one in flight may or may not have landed; nothing else may differ.
                let mut with = expected.clone();
                if release {
                    with.remove(&target);
                } else if let Some(&p) = now.get(&target) {
                    with.insert(target.clone(), p);
                }
                assert!(
                    now == expected || now == with,
                    "iteration {i}: the registry lost or gained more than the op in flight"
                );
                if now != expected {
                    in_flight_applied += 1;
                }
                expected = now;
            }
            Some(code) => panic!("iteration {i}: exited {code} without being killed"),
        }
    }
    // The next write removes what killed writers left behind.
    repo.run(&["allocate", "--service", "svc", "--worktree", "final", "-q"]).success();
    assert_eq!(temporaries(&repo), 0, "temporary files pile up");
    assert!(kills >= 100, "only {kills} of 300 processes were killed: the kills do not test anything");
    println!(
        "crash test: 300 runs, {kills} SIGKILLed ({temp_left_by_kill} while a temporary file existed, \
         {in_flight_applied} after their write had landed), {completed} completed; registry valid and exact after every one"
    );
}

#[test]
fn a_hundred_workers_mixing_every_operation_lose_nothing() {
    let _heavy = HEAVY.lock().unwrap_or_else(|p| p.into_inner());
    let repo = Repo::new();
    big_registry(&repo, 800, 0);
    let deadline = Instant::now() + Duration::from_secs(5);
    let results: Vec<_> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..100u64)
            .map(|id| {
                let repo = &repo;
                s.spawn(move || {
                    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (id + 1).wrapping_mul(0x2545_f491_4f6c_dd1d));
                    let mut mine: BTreeMap<String, u16> = BTreeMap::new();
                    let (mut ops, mut slowest, mut n) = (0u32, Duration::ZERO, 0u32);
                    while Instant::now() < deadline {
                        let started = Instant::now();
                        match rng.next(10) {
                            0..=2 => {
                                let w = format!("t{id}-{n}");
                                n += 1;
                                let out = repo.run(&["allocate", "--service", "svc", "--worktree", &w, "-q"]).success();
                                mine.insert(w, out.stdout.trim().parse().unwrap());
                            }
                            3..=4 => {
                                let w = format!("t{id}-e");
                                let out = repo.run(&["ensure", "--service", "svc", "--worktree", &w, "-q"]).success();
                                let port: u16 = out.stdout.trim().parse().unwrap();
                                assert_eq!(*mine.entry(w).or_insert(port), port, "ensure moved a held port");
                            }
                            5..=7 if !mine.is_empty() => {
                                let (w, p) = mine
                                    .iter()
                                    .nth(rng.next(mine.len() as u64) as usize)
                                    .map(|(w, p)| (w.clone(), *p))
                                    .unwrap();
                                repo.run(&["release", &p.to_string(), "--worktree", &w]).success();
                                mine.remove(&w);
                            }
                            _ => {
                                repo.run(&["status", "--worktree", &format!("t{id}-e"), "--format", "json"]).success();
                            }
                        }
                        ops += 1;
                        slowest = slowest.max(started.elapsed());
                    }
                    (mine, ops, slowest)
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let mut expected = BTreeMap::new();
    let (mut ops, mut slowest) = (0, Duration::ZERO);
    for (mine, n, slow) in results {
        expected.extend(mine);
        ops += n;
        slowest = slowest.max(slow);
    }
    let now = svc_allocations(&repo);
    assert_eq!(now, expected, "lost or phantom allocations after {ops} operations");
    let reg = repo.registry_json();
    assert_eq!(reg["metadata"]["total_allocations"].as_u64().unwrap() as usize, now.len());
    assert_eq!(temporaries(&repo), 0);
    println!(
        "load test: 100 workers, {ops} operations in 5 s (allocate, ensure, release, status), {} allocations held at the end, \
         none lost or phantom, no lock timeout, slowest operation {slowest:?}",
        now.len()
    );
}
