//! The setup scripts on a freshly booted machine, where unattended upgrades hold apt's locks:
//! `scripts/apt-install.sh` (which setup.sh and setup-cross.sh install through) waits for them,
//! bounded by ATLAS_PORTS_APT_WAIT, and then says which lock and for how long.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Holds apt's package-list lock (as apt does, with an fcntl lock) until killed.
fn hold_apt_lock() -> std::process::Child {
    let mut holder = Command::new("python3")
        .args([
            "-c",
            "import fcntl, sys, time\nf = open('/var/lib/apt/lists/lock', 'a')\nfcntl.lockf(f, fcntl.LOCK_EX)\nprint('held', flush=True)\ntime.sleep(120)",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 is installed");
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(holder.stdout.as_mut().unwrap()), &mut line).unwrap();
    assert_eq!(line.trim(), "held");
    holder
}

#[test]
fn apt_install_waits_for_a_held_lock_then_names_it() {
    if !crate::support::is_root() || Command::new("apt-get").arg("--version").output().is_err() {
        eprintln!("skipped: needs apt-get and root (Debian CI machines have both)");
        return;
    }
    let mut holder = hold_apt_lock();
    let started = Instant::now();
    let out = Command::new("bash")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/apt-install.sh"))
        .arg("hostname")
        .env("ATLAS_PORTS_APT_WAIT", "6")
        .output()
        .unwrap();
    let took = started.elapsed();
    holder.kill().unwrap();
    holder.wait().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the lock was held throughout: {stderr}");
    // The bound is counted in bash's SECONDS, whole seconds since the shell started: the 6th
    // tick can come 5.0x s after the start, never sooner.
    assert!(took >= Duration::from_secs(5), "it waited out its bound: {took:?}; stderr: {stderr}");
    assert!(took < Duration::from_secs(40), "and no more: {took:?}; stderr: {stderr}");
    assert!(stderr.contains("holds the lock; waiting"), "{stderr}");
    assert!(stderr.contains("held its lock for 6 s (ATLAS_PORTS_APT_WAIT)"), "{stderr}");
}
