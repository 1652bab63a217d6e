//! Getting ports to the tools: `env` for Compose and shells, `run` for servers, completions.

use crate::support::*;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A repo whose worktree `w` holds web, api and database ports.
fn repo_with_three_services() -> (Repo, BTreeMap<String, u16>) {
    let repo = Repo::new();
    repo.init();
    let mut expected = BTreeMap::new();
    for (service, name) in [("web", "PORT_WEB"), ("api", "PORT_API"), ("database", "PORT_DATABASE")] {
        let port = repo.run(&["ensure", "--service", service, "--worktree", "w", "-q"]).success().stdout;
        expected.insert(name.to_owned(), port.trim().parse().unwrap());
    }
    // Another worktree's ports must not leak in.
    repo.run(&["ensure", "--service", "web", "--worktree", "other", "-q"]).success();
    (repo, expected)
}

#[test]
fn env_dotenv_and_json_parse_back_to_the_worktrees_ports() {
    let _ports = default_ranges();
    let (repo, expected) = repo_with_three_services();
    let dotenv = repo.run(&["env", "--worktree", "w"]).success().stdout;
    let parsed: BTreeMap<String, u16> = dotenv
        .lines()
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap();
            (k.to_owned(), v.parse().unwrap())
        })
        .collect();
    assert_eq!(parsed, expected);
    assert_eq!(dotenv.lines().count(), 3);

    let json: BTreeMap<String, u16> =
        serde_json::from_str(&repo.run(&["env", "--worktree", "w", "--format", "json"]).success().stdout).unwrap();
    assert_eq!(json, expected);
}

#[test]
fn env_sh_is_safe_to_eval_with_a_hostile_worktree_name() {
    let _ports = default_ranges();
    let repo = Repo::new();
    repo.init();
    let canary = repo.tmp.path().join("pwned");
    for hostile in [
        format!("x$(touch {})", canary.display()),
        format!("x`touch {}`", canary.display()),
        format!("it's'; touch {}; '", canary.display()),
        "x\"; touch pwned; \"".to_owned(),
    ] {
        let port = repo.run(&["ensure", "--service", "web", "--worktree", &hostile, "-q"]).success().stdout;
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "eval \"$('{}' env --format sh --worktree \"$W\")\" && printf '%s|%s' \"$ATLAS_PORTS_WORKTREE\" \"$PORT_WEB\"",
                bin()
            ))
            .env("W", &hostile)
            .current_dir(&repo.main)
            .output()
            .unwrap();
        let run = Run::from(out).success();
        assert_eq!(run.stdout, format!("{hostile}|{}", port.trim()), "the name comes through literally");
        assert!(!canary.exists(), "{hostile:?} ran a command");
        assert!(!repo.main.join("pwned").exists(), "{hostile:?} ran a command");
    }
}

#[test]
fn the_compose_recipe_resolves_every_port() {
    let _ports = default_ranges();
    let (repo, expected) = repo_with_three_services();
    let env_file = repo.tmp.path().join("ports.env");
    std::fs::write(&env_file, repo.run(&["env", "--worktree", "w"]).success().stdout).unwrap();
    let compose = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/compose.yml");
    let config = |env: Option<&std::path::Path>| {
        let mut c = Command::new("docker-compose");
        if let Some(f) = env {
            c.arg("--env-file").arg(f);
        }
        let out = c
            .args(["-f", compose, "config"])
            .current_dir(repo.tmp.path())
            .env_remove("PORT_WEB")
            .env_remove("PORT_API")
            .env_remove("PORT_DATABASE")
            .output()
            .expect("docker-compose is installed (scripts/setup.sh installs Debian's package)");
        (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (resolved, warnings) = config(Some(&env_file));
    assert!(!warnings.contains("is not set"), "{warnings}");
    for (name, port) in &expected {
        assert!(resolved.contains(&format!("published: {port}")), "{name}={port} not in:\n{resolved}");
    }
    // Without the env file the same compose file does not resolve: the check above has teeth.
    let (_, warnings) = config(None);
    assert!(warnings.contains("The PORT_WEB variable is not set"), "{warnings}");
}

#[test]
fn run_starts_a_real_server_on_the_injected_port() {
    let repo = Repo::new();
    let start = free_block(5);
    repo.write_registry(&[("web", start, start + 4)]);
    let mut server = command_in(&repo.main)
        .args(["run", "--service", "web", "--worktree", "w", "--", "python3", "-m", "http.server", "{port}"])
        .args(["--bind", "127.0.0.1"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let port = start;
    let deadline = Instant::now() + Duration::from_secs(15);
    let response = loop {
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            s.write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n").unwrap();
            let mut r = String::new();
            s.read_to_string(&mut r).unwrap();
            break r;
        }
        assert!(Instant::now() < deadline, "the server never listened on {port}");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(response.starts_with("HTTP/1.0 200"), "{response}");
    let allocation = &repo.registry_json()["allocations"][0];
    assert_eq!(allocation["port"], port);
    server.kill().unwrap();
    server.wait().unwrap();
    // A second run of the same service reuses the port (ensure).
    let again = repo.run(&["run", "--service", "web", "--worktree", "w", "--", "sh", "-c", "echo $PORT"]).success();
    assert_eq!(again.stdout, format!("{port}\n"));
}

#[test]
fn run_substitutes_placeholders_and_exports_every_service() {
    let repo = Repo::new();
    let start = free_block(4);
    repo.write_registry(&[("web", start, start + 1), ("api", start + 2, start + 3)]);
    let run = repo
        .run(&[
            "run",
            "--service",
            "web",
            "--service",
            "api",
            "--worktree",
            "w",
            "--",
            "sh",
            "-c",
            "echo \"$1 $2 $PORT $PORT_WEB $PORT_API $ATLAS_PORTS_WORKTREE\"",
            "sh",
            "--web={port}",
            "{port:api}",
        ])
        .success();
    assert_eq!(run.stdout, format!("--web={start} {} {start} {start} {} w\n", start + 2, start + 2));
    assert!(run.stderr.contains(&format!("PORT={start}")), "{}", run.stderr);
    let quiet = repo.run(&["run", "-q", "--service", "web", "--worktree", "w", "--", "true"]).success();
    assert_eq!(quiet.stderr, "");
    let unknown = repo.run(&["run", "--service", "web", "--worktree", "w", "--", "echo", "{port:db}"]).code(2);
    assert!(unknown.stderr.contains("{port:db} names a service not given with --service"), "{}", unknown.stderr);
}

#[test]
fn run_passes_exit_statuses_through() {
    let repo = Repo::new();
    let start = free_block(1);
    repo.write_registry(&[("web", start, start)]);
    for code in [0, 1, 7, 42] {
        repo.run(&["run", "-q", "--service", "web", "--worktree", "w", "--", "sh", "-c", &format!("exit {code}")])
            .code(code);
    }
    repo.run(&["run", "-q", "--service", "web", "--worktree", "w", "--", "no-such-command-atlas"]).code(127);
    let not_executable = repo.tmp.path().join("plain.txt");
    std::fs::write(&not_executable, "not a program").unwrap();
    repo.run(&["run", "-q", "--service", "web", "--worktree", "w", "--", not_executable.to_str().unwrap()]).code(126);
    // A port that cannot be ensured is an error of ours, before anything runs.
    repo.run(&["run", "--service", "nope", "--worktree", "w", "--", "true"]).code(2);
}

#[test]
fn run_delivers_signals_to_the_command() {
    let repo = Repo::new();
    let start = free_block(1);
    repo.write_registry(&[("web", start, start)]);
    for (signal, code) in [("TERM", 42), ("INT", 43)] {
        let script = format!(
            "import signal, sys, time\n\
             signal.signal(signal.SIG{signal}, lambda *a: sys.exit({code}))\n\
             print('ready', flush=True)\n\
             time.sleep(30)\n\
             sys.exit(99)"
        );
        let mut child = command_in(&repo.main)
            .args(["run", "-q", "--service", "web", "--worktree", "w", "--", "python3", "-c", &script])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
        assert_eq!(line, "ready\n");
        let kill = Command::new("kill").arg(format!("-{signal}")).arg(child.id().to_string()).status().unwrap();
        assert!(kill.success());
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(code), "SIG{signal} reached the command's handler and its status came back");
    }
}

#[test]
fn completions_for_bash_zsh_and_fish() {
    let tmp = tempfile::tempdir().unwrap();
    let bash = run_in(tmp.path(), &["completions", "bash"]).success().stdout;
    assert!(bash.contains("complete -F _atlas__ports") && bash.contains("allocate"), "{bash}");
    let script = tmp.path().join("c.bash");
    std::fs::write(&script, &bash).unwrap();
    let syntax = Command::new("bash").arg("-n").arg(&script).status().unwrap();
    assert!(syntax.success(), "the bash completion script parses");
    let zsh = run_in(tmp.path(), &["completions", "zsh"]).success().stdout;
    assert!(zsh.starts_with("#compdef atlas-ports"), "{zsh}");
    let fish = run_in(tmp.path(), &["completions", "fish"]).success().stdout;
    assert!(fish.contains("complete -c atlas-ports"), "{fish}");
    run_in(tmp.path(), &["completions", "tcsh"]).code(2);
}
