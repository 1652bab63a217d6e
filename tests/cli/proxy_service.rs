//! The named-URL proxy as a background service: `proxy start|stop|status|service`, its stable
//! port, its state file, and the URL_ variables handed out while it runs. Real detached
//! processes on free ports (never 1355 itself), real HTTP servers behind named URLs, and a
//! process group killed as a closing terminal would.

use crate::support::servers::{http_server, wait_listening};
use crate::support::*;
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Stops the registry's proxy when the test ends, however it ends.
struct StopOnDrop(PathBuf);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        let _ = run_in(&self.0, &["proxy", "stop", "--grace", "1s"]);
    }
}

fn json(run: &Run) -> Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", run.stdout))
}

/// A repository with a `web` range of its own and a linked worktree `pr-42` holding its first
/// port; returns the repository, the worktree and the port.
fn repo_with_web() -> (Repo, PathBuf, u16) {
    let repo = Repo::new();
    let base = free_block(10);
    repo.write_registry(&[("web", base, base + 9)]);
    let wt = repo.add_worktree("pr-42");
    let run = run_in(&wt, &["allocate", "--service", "web", "--quiet"]).success();
    let port: u16 = run.stdout.trim().parse().unwrap();
    (repo, wt, port)
}

/// `proxy start` in `cwd` with these extra arguments, as JSON.
fn start(cwd: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["proxy", "start", "--format", "json"];
    args.extend_from_slice(extra);
    json(&run_in(cwd, &args).success())
}

/// `GET path` with `Host: host` to 127.0.0.1:`port`: the status code and the body.
fn get(port: u16, host: &str, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    s.read_to_string(&mut response).unwrap();
    let status = response.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, response.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned())
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|s| !matches!(s.rsplit(')').next().unwrap().trim_start().chars().next(), Some('Z' | 'X')))
}

fn wait_until(what: &str, within: Duration, f: impl Fn() -> bool) {
    let deadline = Instant::now() + within;
    while !f() {
        assert!(Instant::now() < deadline, "{what} within {within:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn state_file(repo: &Repo) -> PathBuf {
    repo.registry().with_file_name("proxy.json")
}

#[test]
fn start_twice_is_one_proxy_status_says_so_and_stop_ends_it() {
    let (repo, _wt, _) = repo_with_web();
    let _stop = StopOnDrop(repo.main.clone());
    let port = free_block(1);
    let first = start(&repo.main, &["--port", &port.to_string()]);
    assert_eq!(first["state"], "started", "{first}");
    assert_eq!(first["port"], port);
    let pid = first["pid"].as_u64().unwrap() as u32;
    assert!(alive(pid));
    let record: Value = serde_json::from_slice(&std::fs::read(state_file(&repo)).unwrap()).unwrap();
    assert_eq!(record["pid"], pid);
    assert_eq!(record["registry"], repo.registry().display().to_string());
    assert!(record["start_time"].as_u64().unwrap() > 0);

    let second = run_in(&repo.main, &["proxy", "start", "--port", &port.to_string()]).success();
    assert!(
        second.stdout.contains(&format!("already running at http://127.0.0.1:{port}/ (pid {pid})")),
        "{}",
        second.stdout
    );

    let status = json(&run_in(&repo.main, &["proxy", "status", "--format", "json"]).success());
    assert_eq!(status["running"], true);
    assert_eq!(status["pid"], pid);
    assert_eq!(status["services"][0]["url"], format!("http://web.pr-42.localhost:{port}/"));
    let text = run_in(&repo.main, &["proxy", "status"]).success().stdout;
    assert!(text.contains(&format!("running at http://127.0.0.1:{port}/ (pid {pid}, up ")), "{text}");
    assert!(text.contains("proxy.log"), "{text}");

    let stopped = json(&run_in(&repo.main, &["proxy", "stop", "--format", "json"]).success());
    assert_eq!(stopped["state"], "stopped", "{stopped}");
    wait_until("the proxy ends", Duration::from_secs(5), || !alive(pid));
    assert!(!state_file(&repo).exists(), "the record is removed");
    let status = run_in(&repo.main, &["proxy", "status", "--format", "json"]).code(1);
    assert_eq!(json(&status)["running"], false);
    let again = run_in(&repo.main, &["proxy", "stop"]).success();
    assert_eq!(again.stdout, "atlas-ports proxy: not running\n");
}

/// Started from a linked worktree, the proxy works in the registry's folder: removing that
/// worktree (`git worktree remove`) leaves it serving the others, holding nothing of it.
#[test]
fn a_proxy_started_in_a_worktree_outlives_its_removal() {
    let (repo, wt, web) = repo_with_web();
    let _stop = StopOnDrop(repo.main.clone());
    let other = repo.add_worktree("pr-7");
    let other_port: u16 =
        run_in(&other, &["allocate", "--service", "web", "--quiet"]).success().stdout.trim().parse().unwrap();
    std::fs::write(other.join("index.html"), "pr-7's page\n").unwrap();
    let _server = http_server(other_port, &other);
    let port = free_block(1);
    let started = start(&wt, &["--port", &port.to_string()]);
    let pid = started["pid"].as_u64().unwrap() as u32;
    let cwd = std::fs::read_link(format!("/proc/{pid}/cwd")).unwrap();
    assert_eq!(cwd, std::fs::canonicalize(repo.registry().parent().unwrap()).unwrap());
    let out =
        Command::new("git").args(["worktree", "remove", "--force"]).arg(&wt).current_dir(&repo.main).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!wt.exists());
    assert!(alive(pid));
    let (status, body) = get(port, &format!("web.pr-7.localhost:{port}"), "/index.html");
    assert_eq!((status, body.trim()), (200, "pr-7's page"), "web {web}");
}

#[test]
fn concurrent_starts_make_one_proxy() {
    let (repo, _wt, _) = repo_with_web();
    let _stop = StopOnDrop(repo.main.clone());
    let port = free_block(1).to_string();
    let children: Vec<_> = (0..4)
        .map(|_| {
            command_in(&repo.main)
                .args(["proxy", "start", "--format", "json", "--port", &port])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let answers: Vec<Value> = children
        .into_iter()
        .map(|c| {
            let run: Run = c.wait_with_output().unwrap().into();
            json(&run.success())
        })
        .collect();
    let pids: std::collections::HashSet<u64> = answers.iter().map(|a| a["pid"].as_u64().unwrap()).collect();
    assert_eq!(pids.len(), 1, "one proxy: {answers:?}");
    assert_eq!(answers.iter().filter(|a| a["state"] == "started").count(), 1, "{answers:?}");
}

#[test]
fn a_record_naming_a_foreign_process_signals_nothing() {
    let (repo, _wt, _) = repo_with_web();
    let mut sleep = Command::new("sleep").arg("60").spawn().unwrap();
    let record = serde_json::json!({
        "pid": sleep.id(), "start_time": 1, "port": free_block(1), "registry": repo.registry().display().to_string(),
        "started_at": "2026-01-01T00:00:00Z", "version": "0"
    });
    std::fs::write(state_file(&repo), record.to_string()).unwrap();
    run_in(&repo.main, &["proxy", "status"]).code(1);
    let stopped = run_in(&repo.main, &["proxy", "stop"]).success();
    assert!(
        stopped.stdout.contains(&format!(
            "its record named pid {} but process {} is now another program (sleep)",
            sleep.id(),
            sleep.id()
        )),
        "{}",
        stopped.stdout
    );
    assert!(stopped.stdout.contains("nothing was signalled"), "{}", stopped.stdout);
    std::thread::sleep(Duration::from_millis(200));
    assert!(sleep.try_wait().unwrap().is_none(), "the foreign process is still alive");
    assert!(!state_file(&repo).exists(), "the stale record is removed");
    sleep.kill().unwrap();
    sleep.wait().unwrap();
}

#[test]
fn the_proxy_survives_its_terminal_and_a_restart_keeps_the_names() {
    let (repo, wt, web) = repo_with_web();
    let _stop = StopOnDrop(repo.main.clone());
    std::fs::write(wt.join("hello.txt"), "hello from pr-42").unwrap();
    let _server = http_server(web, &wt);
    let port = free_block(1);
    let host = format!("web.pr-42.localhost:{port}");
    // A terminal: a session of its own whose shell started the proxy, then is closed.
    let line = format!("'{}' proxy start --port {port}; sleep 60", bin());
    let mut terminal = Command::new("setsid")
        .args(["sh", "-c", &line])
        .current_dir(&repo.main)
        .env_remove("ATLAS_PORTS_REGISTRY")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    wait_until("the proxy records itself", Duration::from_secs(15), || {
        state_file(&repo).exists() && TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    let group = terminal.id().to_string();
    Command::new("kill").args(["-HUP", "--", &format!("-{group}")]).status().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let _ = Command::new("kill").args(["-KILL", "--", &format!("-{group}")]).status();
    terminal.wait().unwrap();
    assert_eq!(get(port, &host, "/hello.txt"), (200, "hello from pr-42".to_owned()));

    let first = json(&run_in(&repo.main, &["proxy", "stop", "--format", "json"]).success());
    assert_eq!(first["state"], "stopped");
    wait_until("the port is free", Duration::from_secs(5), || TcpStream::connect(("127.0.0.1", port)).is_err());
    let again = start(&repo.main, &["--port", &port.to_string()]);
    assert_eq!(again["state"], "started");
    assert_ne!(again["pid"], first["pid"]);
    assert_eq!(get(port, &host, "/hello.txt"), (200, "hello from pr-42".to_owned()));
}

#[test]
fn a_port_held_by_another_program_is_refused_naming_it() {
    let (repo, wt, _) = repo_with_web();
    let port = free_block(1);
    let server = http_server(port, &wt);
    let run = run_in(&repo.main, &["proxy", "start", "--port", &port.to_string()]).code(2);
    assert!(
        run.stderr.contains(&format!("port {port} on 127.0.0.1 is taken by pid {} (python", server.pid())),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("choose another port with --port"), "{}", run.stderr);
    assert!(!state_file(&repo).exists() && !repo.registry().with_file_name("proxy.log").exists(), "nothing written");
}

#[test]
fn the_port_comes_from_the_flag_then_the_environment_then_atlas_ports_toml() {
    let (repo, _wt, _) = repo_with_web();
    let _stop = StopOnDrop(repo.main.clone());
    let base = free_block(3);
    std::fs::write(repo.main.join("atlas-ports.toml"), format!("[proxy]\nport = {base}\n")).unwrap();
    let from_toml = start(&repo.main, &[]);
    assert_eq!(from_toml["port"], base);
    run_in(&repo.main, &["proxy", "stop"]).success();
    let env = command_in(&repo.main)
        .env("ATLAS_PORTS_PROXY_PORT", (base + 1).to_string())
        .args(["proxy", "start", "--format", "json"])
        .output()
        .unwrap();
    let env: Run = env.into();
    assert_eq!(json(&env.success())["port"], base + 1);
    run_in(&repo.main, &["proxy", "stop"]).success();
    let unit = command_in(&repo.main)
        .env("ATLAS_PORTS_PROXY_PORT", (base + 1).to_string())
        .args(["proxy", "service", "systemd", "--port", &(base + 2).to_string()])
        .output()
        .unwrap();
    let unit: Run = unit.into();
    assert!(unit.success().stdout.contains(&format!("\"--port\" \"{}\"", base + 2)));
    std::fs::write(repo.main.join("atlas-ports.toml"), "[proxy]\nport = 70000\n").unwrap();
    let bad = run_in(&repo.main, &["proxy", "start"]).code(2);
    assert!(bad.stderr.contains("atlas-ports.toml, line 2: [proxy] port 70000 is not a port number"), "{}", bad.stderr);
}

#[test]
fn a_corrupt_state_file_is_not_running_with_a_warning() {
    let (repo, wt, _) = repo_with_web();
    let _stop = StopOnDrop(repo.main.clone());
    std::fs::write(state_file(&repo), "{\"pid\": 12, oops").unwrap();
    let status = run_in(&repo.main, &["proxy", "status"]).code(1);
    assert!(status.stderr.contains("warning: ignoring the proxy state file"), "{}", status.stderr);
    let env = run_in(&wt, &["env"]).success();
    assert!(!env.stdout.contains("URL_"), "{}", env.stdout);
    assert!(env.stderr.contains("taken as not running"), "{}", env.stderr);
    let port = free_block(1);
    assert_eq!(start(&repo.main, &["--port", &port.to_string()])["state"], "started");
}

#[test]
fn env_run_and_up_hand_out_the_named_url_while_the_proxy_runs() {
    let (repo, wt, web) = repo_with_web();
    let _stop = StopOnDrop(repo.main.clone());
    std::fs::write(wt.join("atlas-ports.toml"), "[services.web]\n").unwrap();
    let before_env = run_in(&wt, &["env"]).success().stdout;
    assert_eq!(before_env, format!("PORT_WEB={web}\n"));
    let before_up = run_in(&wt, &["up", "--format", "json"]).success().stdout;
    assert!(!before_up.contains("url"), "{before_up}");

    let port = free_block(1);
    start(&repo.main, &["--port", &port.to_string()]);
    let url = format!("http://web.pr-42.localhost:{port}");
    assert_eq!(run_in(&wt, &["env"]).success().stdout, format!("PORT_WEB={web}\nURL_WEB={url}\n"));
    let sh = run_in(&wt, &["env", "--format", "sh"]).success().stdout;
    assert!(sh.ends_with(&format!("export URL_WEB='{url}'\n")), "{sh}");
    let env_json = json(&run_in(&wt, &["env", "--format", "json"]).success());
    assert_eq!(env_json["URL_WEB"], url.as_str());
    let ran = run_in(&wt, &["run", "--quiet", "--service", "web", "--", "sh", "-c", "echo \"$URL_WEB\""]).success();
    assert_eq!(ran.stdout, format!("{url}\n"));
    let up = json(&run_in(&wt, &["up", "--format", "json"]).success());
    assert_eq!(up["services"][0]["url"], url.as_str());
    let env_file = std::fs::read_to_string(wt.join(".env.ports")).unwrap();
    assert!(env_file.ends_with(&format!("PORT_WEB={web}\nURL_WEB={url}\n")), "{env_file}");

    run_in(&repo.main, &["proxy", "stop"]).success();
    assert_eq!(run_in(&wt, &["env"]).success().stdout, before_env);
    let ran = run_in(&wt, &["run", "--quiet", "--service", "web", "--", "sh", "-c", "echo \"${URL_WEB-unset}\""]);
    assert_eq!(ran.success().stdout, "unset\n");
    assert_eq!(run_in(&wt, &["up", "--format", "json"]).success().stdout, before_up);
    assert!(!std::fs::read_to_string(wt.join(".env.ports")).unwrap().contains("URL_"));
}

#[test]
fn service_files_quote_paths_with_spaces_for_systemd_and_launchd() {
    let repo = Repo::new();
    let folder = repo.tmp.path().join("my \"regs\" 100%");
    std::fs::create_dir_all(&folder).unwrap();
    let registry = folder.join("ports.json");
    let registry_arg = registry.to_str().unwrap();
    let home = repo.tmp.path().join("home dir");
    std::fs::create_dir_all(&home).unwrap();
    let run = |args: &[&str]| -> Run {
        command_in(&repo.main)
            .env("HOME", &home)
            .env_remove("XDG_CONFIG_HOME")
            .args(["--registry", registry_arg, "proxy", "service"])
            .args(args)
            .output()
            .unwrap()
            .into()
    };
    let unit = run(&["systemd", "--port", "4321", "--install"]).success();
    let path = home.join(".config/systemd/user/atlas-ports-proxy.service");
    assert!(unit.stdout.contains("systemctl --user enable --now atlas-ports-proxy.service"), "{}", unit.stdout);
    let text = std::fs::read_to_string(&path).unwrap();
    // systemd's own parser, where the machine has it.
    // (`--user` needs a user manager running; the unit's syntax is the same in system mode.)
    if let Ok(out) = Command::new("systemd-analyze").arg("verify").arg(&path).output() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success() && !stderr.contains("quoting"), "{stderr}\n{text}");
    }
    // And parsed by its rules here: each argument in double quotes, \\ and \" escaped, %% and $$.
    let exec = text.lines().find_map(|l| l.strip_prefix("ExecStart=")).unwrap();
    let mut args = Vec::new();
    let mut chars = exec.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '"' {
            continue;
        }
        let mut arg = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => arg.push(chars.next().unwrap()),
                '%' | '$' => {
                    assert_eq!(chars.next(), Some(c), "{exec}");
                    arg.push(c)
                }
                '"' => break,
                c => arg.push(c),
            }
        }
        args.push(arg);
    }
    // The program as the OS names it: target/ may be a link (CI keeps it in a cache folder).
    let exe = std::fs::canonicalize(bin()).unwrap();
    assert_eq!(args, [exe.to_str().unwrap(), "dashboard", "--port", "4321", "--registry", registry_arg], "{exec}");
    assert!(text.contains("Restart=on-failure"));

    let plist = run(&["launchd", "--port", "4321"]).success().stdout;
    let parse =
        "import plistlib,sys,json; print(json.dumps(plistlib.loads(sys.stdin.buffer.read())['ProgramArguments']))";
    let mut py =
        Command::new("python3").args(["-c", parse]).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    py.stdin.take().unwrap().write_all(plist.as_bytes()).unwrap();
    let out = py.wait_with_output().unwrap();
    assert!(out.status.success(), "plistlib parses it:\n{plist}");
    let program: Vec<String> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(program, [exe.to_str().unwrap(), "dashboard", "--port", "4321", "--registry", registry_arg]);
}

#[test]
fn a_foreground_dashboard_records_itself_and_its_urls_end_with_it() {
    let (repo, wt, _) = repo_with_web();
    let port = free_block(1);
    let mut child = command_in(&repo.main)
        .args(["dashboard", "--port", &port.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    wait_listening(port, "the dashboard");
    wait_until("the record", Duration::from_secs(5), || state_file(&repo).exists());
    let env = run_in(&wt, &["env"]).success().stdout;
    assert!(env.contains(&format!("URL_WEB=http://web.pr-42.localhost:{port}\n")), "{env}");
    Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    child.wait().unwrap();
    // Ended by a signal, its record stays: a record of a process that is gone hands out nothing.
    assert_eq!(run_in(&wt, &["env"]).success().stdout.lines().filter(|l| l.starts_with("URL_")).count(), 0);
    run_in(&repo.main, &["proxy", "status"]).code(1);
}
