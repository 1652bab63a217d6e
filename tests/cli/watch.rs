//! `status --watch` driven through tmux as a person would use it: the report appears, is not
//! redrawn while nothing changes, shows a server that starts within a few seconds, and Ctrl+C
//! ends it with exit status 0.

use crate::support::tmux::Session;
use crate::support::*;
use std::time::{Duration, Instant};

#[test]
fn status_watch_redraws_on_change_and_stops_on_ctrl_c() {
    let repo = Repo::new();
    let port = free_block(2);
    repo.write_registry(&[("web", port, port + 1)]);
    repo.run(&["allocate", "--service", "web", "-q"]).success();
    let exit_file = repo.tmp.path().join("exit");
    let stty_file = repo.tmp.path().join("stty");
    let script = format!(
        "cd '{}' && '{}' status --watch --interval 0.5; echo EXIT=$? > '{}'; stty -a > '{}'; sleep 30",
        repo.main.display(),
        bin(),
        exit_file.display(),
        stty_file.display()
    );
    let session = Session::start("watch", &script);
    let first = session.wait_for("Status: not_running", Duration::from_secs(10));
    assert!(first.contains(&format!("{port} → repo (web)")) && first.contains("Ctrl+C or q to stop"), "{first}");
    // Nothing changes: nothing is redrawn (the footer's time would move).
    std::thread::sleep(Duration::from_millis(1600));
    assert_eq!(session.screen(), first, "redrawn although nothing changed");
    // A server starts on the port: the row turns healthy within 3 s, without any key pressed.
    let _server = servers::http_server(port, &repo.main);
    let started = Instant::now();
    let live = session.wait_for("Status: healthy", Duration::from_secs(3));
    assert!(!live.contains("not_running"), "{live}");
    eprintln!("healthy on screen {:?} after the server listened", started.elapsed());
    // Ctrl+C ends the watch, with exit status 0.
    session.keys("C-c");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !exit_file.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(std::fs::read_to_string(&exit_file).expect("the watch ended").trim(), "EXIT=0");
    // The terminal's settings are back: Ctrl+C signals, lines are edited, keys echo.
    std::thread::sleep(Duration::from_millis(300));
    let stty = std::fs::read_to_string(&stty_file).unwrap();
    let flags: Vec<&str> = stty.split_whitespace().collect();
    for flag in ["isig", "icanon", "echo"] {
        assert!(flags.contains(&flag), "{flag} not restored: {stty}");
    }
}

#[test]
fn status_watch_refuses_a_bad_interval_and_health_checks() {
    let repo = Repo::new();
    let run = repo.run(&["status", "--watch", "--interval", "0"]).code(2);
    assert!(run.stderr.contains("invalid --interval \"0\": expected seconds from 0.1 to 3600"), "{}", run.stderr);
    let run = repo.run(&["status", "--watch", "--health-check"]).code(2);
    assert!(run.stderr.contains("cannot be used with"), "{}", run.stderr);
    let run = repo.run(&["status", "--interval", "5"]).code(2);
    assert!(run.stderr.contains("--watch"), "{}", run.stderr);
}
