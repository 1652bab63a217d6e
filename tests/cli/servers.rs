//! Servers that end with their worktree, with real processes in real git repositories: `start`
//! runs the declared commands and records them, `stop`, `down` and `prune` stop what is
//! provably the worktree's, and nothing else is ever signalled.

use crate::support::servers::Server;
use crate::support::*;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// An HTTP server for `{port}`: python's, bound to 127.0.0.1.
const HTTP: &str = "python3 -m http.server {port} --bind 127.0.0.1";

fn git(cwd: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@t"])
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A repository whose committed atlas-ports.toml is `project`, with a registry whose `web` and
/// `api` ranges are free here. Returns the repository and the first port of `web`.
fn project_repo(project: &str) -> (Repo, u16) {
    let repo = Repo::new();
    let base = free_block(8);
    std::fs::write(repo.main.join("atlas-ports.toml"), project).unwrap();
    std::fs::write(repo.main.join(".gitignore"), ".atlas/\n.env.ports\n").unwrap();
    git(&repo.main, &["add", "."]);
    git(&repo.main, &["commit", "-q", "-m", "project file"]);
    repo.write_registry(&[("web", base, base + 3), ("api", base + 4, base + 7)]);
    (repo, base)
}

/// Whether a process runs (a zombie, ended but not yet reaped by its parent, does not).
fn running(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat.rsplit_once(')').is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

fn listening(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_ok()
}

/// Waits up to 10 s for `done`.
fn eventually(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn json(run: Run) -> serde_json::Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout))
}

/// The worktree's servers file (there is one per worktree).
fn servers_file(repo: &Repo) -> PathBuf {
    let dir = repo.main.join(".atlas/worktrees/servers");
    let files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files[0].clone()
}

/// A process of this test's, listening on `port` from `cwd`: python3, so its name and folder
/// are real.
fn listener_in(port: u16, cwd: &Path) -> Server {
    crate::support::servers::http_server(port, cwd)
}

#[test]
fn start_runs_the_command_once_and_stop_ends_it() {
    let (repo, base) = project_repo(&format!("[services.web]\ncommand = \"{HTTP}\"\nready = \"/\"\n[services.api]\n"));
    let started = repo.run(&["start"]).success().stdout;
    assert!(started.contains(&format!("web          http://localhost:{base}")), "{started}");
    assert!(started.contains("started (pid ") && started.contains("ready: HTTP 200 from GET /"), "{started}");
    assert!(listening(base));
    assert!(repo.main.join(".env.ports").is_file(), "start ensures the ports and env file as up does");

    let record: serde_json::Value = serde_json::from_slice(&std::fs::read(servers_file(&repo)).unwrap()).unwrap();
    let pid = record["servers"][0]["pid"].as_u64().unwrap() as u32;
    assert!(running(pid));
    assert!(record["servers"][0]["start_time"].as_u64().unwrap() > 0);

    let again = json(repo.run(&["start", "--format", "json"]).success());
    assert_eq!(again["services"][0]["state"], "already_running");
    assert_eq!(again["services"][0]["pid"].as_u64(), Some(pid as u64), "no second copy");

    let status = json(repo.run(&["status", "--all", "--format", "json"]).success());
    let web = &status["ranges"][0]["allocations"][0];
    assert_eq!(web["allocation"]["service"], "web");
    assert!(web["pid"].is_u64(), "{web}");
    assert_eq!(web["started_by_atlas_ports"], true, "{web}");

    let logs = repo.run(&["logs"]).success().stdout;
    assert!(logs.contains(&format!("Serving HTTP on 127.0.0.1 port {base}")), "{logs}");

    let stopped = json(repo.run(&["stop", "--format", "json"]).success());
    let pids: Vec<u64> = stopped["stopped"].as_array().unwrap().iter().map(|p| p["pid"].as_u64().unwrap()).collect();
    assert!(pids.contains(&(pid as u64)), "{stopped}");
    assert!(stopped["stopped"].as_array().unwrap().iter().all(|p| p["ended"] == true && p["proof"] == "started"));
    assert!(!running(pid));
    assert!(!listening(base), "the port is free after stop");
    assert!(!servers_file_exists(&repo), "nothing left to find: the record is gone");
    assert_eq!(repo.registry_json()["allocations"].as_array().unwrap().len(), 2, "stop keeps the ports");
}

fn servers_file_exists(repo: &Repo) -> bool {
    std::fs::read_dir(repo.main.join(".atlas/worktrees/servers"))
        .map(|d| d.flatten().any(|e| e.path().extension().is_some_and(|x| x == "json")))
        .unwrap_or(false)
}

#[test]
fn up_start_then_down_stops_the_server_and_releases_its_port() {
    let (repo, base) = project_repo(&format!("[services.web]\ncommand = \"{HTTP}\"\n"));
    let up = repo.run(&["up", "--start"]).success().stdout;
    assert!(up.contains("started (pid "), "{up}");
    assert!(listening(base));
    let down = repo.run(&["down"]).success().stdout;
    assert!(down.contains("Worktree 'repo': stopped "), "{down}");
    assert!(down.contains(&format!("released {base} (web)")), "{down}");
    assert!(!listening(base), "the port is free after down");
    assert!(repo.registry_json()["allocations"].as_array().unwrap().is_empty());
}

#[test]
fn a_self_daemonized_server_of_a_removed_worktree_is_stopped_by_prune() {
    let (repo, _) = project_repo("[services.web]\n");
    let wt = repo.add_worktree("wt-escape");
    run_in(&wt, &["up"]).success();
    let port = json(run_in(&wt, &["list", "--format", "json"]).success())[0]["port"].as_u64().unwrap() as u16;
    // Forks, leaves the session with setsid, forks again and listens from inside the worktree:
    // its parent is gone and no process group atlas-ports knows holds it.
    let pid_file = repo.tmp.path().join("escaped.pid");
    let script = "import os, socket, sys, time\n\
if os.fork(): os._exit(0)\n\
os.setsid()\n\
if os.fork(): os._exit(0)\n\
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n\
s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen()\n\
open(sys.argv[2] + '.tmp', 'w').write(str(os.getpid())); os.rename(sys.argv[2] + '.tmp', sys.argv[2])\n\
while True: time.sleep(1)\n";
    let status = Command::new("python3")
        .args(["-c", script, &port.to_string(), pid_file.to_str().unwrap()])
        .current_dir(&wt)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    eventually("the escaped server listens", || pid_file.exists() && listening(port));
    let pid: u32 = std::fs::read_to_string(&pid_file).unwrap().parse().unwrap();
    git(&repo.main, &["worktree", "remove", "--force", wt.to_str().unwrap()]);
    assert!(!wt.exists());
    assert!(running(pid) && listening(port), "removing the worktree left its server running");

    let before = repo.registry_bytes();
    let dry = repo.run(&["prune", "--dry-run"]).success().stdout;
    assert!(dry.contains("Worktree 'wt-escape': would stop 1 process"), "{dry}");
    assert!(dry.contains(&format!("pid {pid}")) && dry.contains(&format!("listening on {port} from inside")), "{dry}");
    assert!(dry.contains(&format!("{port} → wt-escape (web)")), "{dry}");
    assert!(running(pid), "a dry run signals nothing");
    assert_eq!(repo.registry_bytes(), before);

    let pruned = json(repo.run(&["prune", "--format", "json"]).success());
    assert_eq!(pruned["servers"][0]["stopped"][0]["pid"].as_u64(), Some(pid as u64), "{pruned}");
    assert_eq!(pruned["servers"][0]["stopped"][0]["proof"], "runs_inside");
    assert_eq!(pruned["released"][0]["port"].as_u64(), Some(port as u64), "{pruned}");
    eventually("the escaped server is gone", || !running(pid));
    assert!(!listening(port));
}

#[test]
fn a_foreign_listener_on_the_worktrees_port_is_reported_never_signalled() {
    let (repo, base) = project_repo("[services.web]\n[services.api]\n");
    repo.run(&["up"]).success();
    let outside = repo.tmp.path().join("elsewhere");
    std::fs::create_dir(&outside).unwrap();
    let foreign = listener_in(base, &outside);
    let pid = foreign.pid();

    let stopped = json(repo.run(&["stop", "--format", "json"]).success());
    assert!(stopped["stopped"].as_array().unwrap().is_empty(), "{stopped}");
    let alone = &stopped["left_alone"][0];
    assert_eq!(alone["pid"].as_u64(), Some(pid as u64));
    assert_eq!(alone["port"].as_u64(), Some(base as u64));
    assert_eq!(alone["cwd"], outside.canonicalize().unwrap().to_str().unwrap());
    assert!(alone["user"].is_string());
    assert!(alone["reason"].as_str().unwrap().contains("outside"), "{alone}");
    let status = json(repo.run(&["status", "--worktree", "repo", "--format", "json"]).success());
    let web = status["allocations"].as_array().unwrap().iter().find(|s| s["allocation"]["service"] == "web").unwrap();
    assert_eq!(web["pid"].as_u64(), Some(pid as u64), "{status}");
    assert_eq!(web["started_by_atlas_ports"], false, "{web}");
    let text = repo.run(&["stop"]).success().stdout;
    assert!(text.contains("Left alone (not provably this worktree's):"), "{text}");
    assert!(text.contains(&format!("port {base} (web): pid {pid} python3")), "{text}");

    let down = repo.run(&["down"]).success().stdout;
    assert!(down.contains(&format!("pid {pid}")), "down reports it too: {down}");
    std::thread::sleep(Duration::from_millis(300));
    assert!(running(pid) && listening(base), "never signalled");
}

#[test]
fn a_foreign_listener_on_a_removed_worktrees_port_survives_prune() {
    let (repo, _) = project_repo("[services.web]\n");
    let wt = repo.add_worktree("wt-gone");
    run_in(&wt, &["up"]).success();
    let port = json(run_in(&wt, &["list", "--format", "json"]).success())[0]["port"].as_u64().unwrap() as u16;
    git(&repo.main, &["worktree", "remove", "--force", wt.to_str().unwrap()]);
    let outside = repo.tmp.path().join("elsewhere");
    std::fs::create_dir(&outside).unwrap();
    let foreign = listener_in(port, &outside);

    let dry = repo.run(&["prune", "--dry-run"]).success().stdout;
    assert!(dry.contains(&format!("pid {}", foreign.pid())) && dry.contains("Left alone"), "{dry}");
    assert!(dry.contains("Nothing to prune"), "its port is not free: {dry}");
    let pruned = repo.run(&["prune"]).success().stdout;
    assert!(pruned.contains("Left alone"), "{pruned}");
    std::thread::sleep(Duration::from_millis(300));
    assert!(running(foreign.pid()) && listening(port), "never signalled");
}

#[test]
fn a_recorded_pid_with_another_start_time_is_never_signalled() {
    let (repo, base) = project_repo(&format!("[services.web]\ncommand = \"{HTTP}\"\n"));
    repo.run(&["start"]).success();
    let file = servers_file(&repo);
    let recorded = std::fs::read_to_string(&file).unwrap();
    repo.run(&["stop"]).success();
    assert!(!listening(base));
    // The server is gone; an unrelated process of ours now has a PID the record names (as if
    // the PID had been reused), while the record keeps the old start time.
    let mut unrelated = Command::new("sleep").arg("60").spawn().unwrap();
    let mut record: serde_json::Value = serde_json::from_str(&recorded).unwrap();
    record["servers"][0]["pid"] = unrelated.id().into();
    std::fs::write(&file, serde_json::to_string_pretty(&record).unwrap()).unwrap();

    let stopped = json(repo.run(&["stop", "--format", "json", "--grace", "1s"]).success());
    assert!(stopped["stopped"].as_array().unwrap().is_empty(), "{stopped}");
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(unrelated.try_wait().unwrap(), None, "the unrelated process was signalled");
    assert!(running(unrelated.id()));
    let start = json(repo.run(&["start", "--format", "json"]).success());
    assert_eq!(start["services"][0]["state"], "started", "a stale record does not count as running");
    repo.run(&["stop"]).success();
    assert_eq!(unrelated.try_wait().unwrap(), None);
    unrelated.kill().unwrap();
    unrelated.wait().unwrap();
}

#[test]
fn killing_start_while_it_waits_leaves_a_record_that_stop_uses() {
    // Ready only after a while: the server waits 3 s before it serves.
    let slow = format!("sleep 3; exec {HTTP}");
    let (repo, base) = project_repo(&format!("[services.web]\ncommand = \"{slow}\"\n"));
    let mut start = command_in(&repo.main).args(["start"]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let dir = repo.main.join(".atlas/worktrees/servers");
    eventually("start records the server", || servers_file_exists(&repo));
    start.kill().unwrap(); // SIGKILL, in the middle of the wait
    start.wait().unwrap();
    let record: serde_json::Value = serde_json::from_slice(&std::fs::read(servers_file(&repo)).unwrap()).unwrap();
    let pid = record["servers"][0]["pid"].as_u64().unwrap() as u32;
    assert!(running(pid), "the server outlives atlas-ports");
    assert!(!listening(base), "still starting");
    // A second start finds it starting: it waits for it rather than starting another copy.
    let again = json(repo.run(&["start", "--format", "json"]).success());
    assert_eq!(again["services"][0]["state"], "already_running", "{again}");
    assert_eq!(again["services"][0]["pid"].as_u64(), Some(pid as u64));
    assert!(listening(base), "start returned once it was ready");

    let stopped = repo.run(&["stop"]).success().stdout;
    assert!(stopped.contains("started by atlas-ports; ended by SIGTERM"), "{stopped}");
    assert!(!running(pid));
    assert!(!listening(base));
    assert!(std::fs::read_dir(&dir).unwrap().flatten().all(|e| e.path().extension().is_none_or(|x| x != "json")));
}

#[test]
fn a_command_that_ends_at_once_is_reported_with_its_log() {
    let (repo, _) = project_repo("[services.web]\ncommand = \"echo about to fail; exit 3\"\n");
    let run = repo.run(&["start", "--timeout", "10s"]).code(1);
    assert!(run.stdout.contains("exited: the command ended (exit status: 3) before it was ready"), "{}", run.stdout);
    assert!(repo.run(&["logs", "--service", "web"]).success().stdout.contains("about to fail"));
    assert!(!servers_file_exists(&repo), "an ended command is not kept as running");
}

#[test]
fn bad_commands_are_refused_before_anything_starts() {
    let (repo, _) = project_repo("[services.web]\ncommand = \"serve {port:db}\"\n");
    let run = repo.run(&["start"]).code(2);
    assert!(
        run.stderr.contains("line 2: [services.web] command: {port:db} names a service that is not declared"),
        "{}",
        run.stderr
    );
    let (repo, _) = project_repo("[services.web]\n");
    let run = repo.run(&["start"]).code(2);
    assert!(run.stderr.contains("declares no command to start"), "{}", run.stderr);
    let (repo, _) = project_repo("[services.web]\ncommand = \"true\"\ncwd = \"missing\"\n");
    let run = repo.run(&["start"]).code(2);
    assert!(run.stderr.contains("working folder"), "{}", run.stderr);
}

#[test]
fn another_users_server_inside_the_worktree_is_never_signalled() {
    if !is_root() {
        eprintln!("skipped: starting another user's process needs root");
        return;
    }
    let (repo, base) = project_repo("[services.web]\n");
    repo.run(&["up"]).success();
    for dir in repo.main.ancestors().take_while(|d| *d != std::env::temp_dir()) {
        std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    }
    // The system's python: a python3 found through root's PATH may sit where nobody can't run it.
    let python = ["/usr/bin/python3", "/usr/local/bin/python3"].into_iter().find(|p| Path::new(p).exists());
    let mut theirs = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            python.expect("a system python3"),
            "-m",
            "http.server",
        ])
        .args([&base.to_string(), "--bind", "127.0.0.1"])
        .current_dir(&repo.main)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    eventually("their server listens", || listening(base));
    let stopped = json(repo.run(&["stop", "--format", "json", "--grace", "1s"]).success());
    assert!(stopped["stopped"].as_array().unwrap().is_empty(), "{stopped}");
    let reason = stopped["left_alone"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("another user"), "{reason}");
    repo.run(&["down"]).success();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(theirs.try_wait().unwrap(), None, "another user's server was signalled");
    theirs.kill().unwrap();
    theirs.wait().unwrap();
}

#[test]
fn a_server_that_ignores_sigterm_gets_sigkill_after_the_grace_period() {
    let stubborn = "import signal, http.server, sys; signal.signal(signal.SIGTERM, signal.SIG_IGN); \
http.server.test(HandlerClass=http.server.SimpleHTTPRequestHandler, port=int(sys.argv[1]), bind='127.0.0.1')";
    let (repo, base) =
        project_repo(&format!("[services.web]\ncommand = '''exec python3 -c \"{stubborn}\" {{port}}'''\n"));
    repo.run(&["start"]).success();
    assert!(listening(base));
    let begun = Instant::now();
    let stopped = repo.run(&["stop", "--grace", "1s"]).success().stdout;
    assert!(begun.elapsed() >= Duration::from_secs(1), "the grace period was given");
    assert!(stopped.contains("ended by SIGKILL"), "{stopped}");
    assert!(!listening(base));
}

#[test]
fn logs_rotate_past_their_bound_and_follow_shows_new_output() {
    let (repo, base) = project_repo(&format!("[services.web]\ncommand = \"{HTTP}\"\n"));
    let log = repo.main.join(".atlas/worktrees/logs/repo/web.log");
    std::fs::create_dir_all(log.parent().unwrap()).unwrap();
    std::fs::write(&log, vec![b'x'; 5 * 1024 * 1024]).unwrap();
    repo.run(&["start"]).success();
    assert_eq!(std::fs::metadata(log.with_extension("log.1")).unwrap().len(), 5 * 1024 * 1024, "the old log moved");
    assert!(std::fs::metadata(&log).unwrap().len() < 4096, "a new log began");

    let mut follow =
        command_in(&repo.main).args(["logs", "--service", "web", "--follow"]).stdout(Stdio::piped()).spawn().unwrap();
    let mut out = follow.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = std::io::Read::read(&mut out, &mut buf) {
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&buf[..n]);
            if String::from_utf8_lossy(&seen).contains("GET /followed-path") {
                break;
            }
        }
        String::from_utf8_lossy(&seen).into_owned()
    });
    std::thread::sleep(Duration::from_millis(500));
    let mut s = TcpStream::connect(("127.0.0.1", base)).unwrap();
    std::io::Write::write_all(&mut s, b"GET /followed-path HTTP/1.0\r\n\r\n").unwrap();
    let mut answer = String::new();
    let _ = std::io::Read::read_to_string(&mut s, &mut answer);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !reader.is_finished() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    follow.kill().unwrap();
    follow.wait().unwrap();
    let seen = reader.join().unwrap();
    assert!(seen.contains("GET /followed-path"), "{seen}");
    repo.run(&["stop"]).success();
}

#[test]
fn a_working_folder_that_leads_out_through_a_link_is_refused() {
    let (repo, _) = project_repo("[services.web]\ncommand = \"true\"\ncwd = \"out\"\n");
    std::os::unix::fs::symlink(repo.tmp.path(), repo.main.join("out")).unwrap();
    let run = repo.run(&["start"]).code(2);
    assert!(run.stderr.contains("leads out of the worktree"), "{}", run.stderr);
    assert!(!servers_file_exists(&repo), "nothing started");
}
