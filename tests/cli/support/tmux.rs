//! A terminal for the tests that drive long-running commands as a person would: a detached
//! tmux session, what its screen shows, and keys typed into it.

use std::process::Command;
use std::time::{Duration, Instant};

/// A tmux session, killed when dropped.
pub struct Session(String);

fn tmux(args: &[&str]) -> String {
    let out = Command::new("tmux").args(args).env("TERM", "xterm-256color").output().expect("tmux is installed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

impl Session {
    /// Runs the shell `script` in a new 160×50 session named after `what` and this process.
    pub fn start(what: &str, script: &str) -> Session {
        let name = format!("atlas-{what}-{}", std::process::id());
        tmux(&["new-session", "-d", "-s", &name, "-x", "160", "-y", "50", script]);
        Session(name)
    }

    /// The screen's text now.
    pub fn screen(&self) -> String {
        tmux(&["capture-pane", "-p", "-t", &self.0])
    }

    /// Types keys (tmux names: `q`, `C-c`).
    pub fn keys(&self, keys: &str) {
        tmux(&["send-keys", "-t", &self.0, keys]);
    }

    /// Waits until the screen shows `what`; answers the screen.
    pub fn wait_for(&self, what: &str, within: Duration) -> String {
        let started = Instant::now();
        loop {
            let now = self.screen();
            if now.contains(what) {
                return now;
            }
            assert!(started.elapsed() < within, "{what:?} not on screen within {within:?}:\n{now}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        tmux(&["kill-session", "-t", &self.0]);
    }
}
