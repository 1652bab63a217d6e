//! Shared helpers of the end-to-end tests: temporary git repositories, running the real
//! `atlas-ports` binary, and finding free ports.

#[cfg(unix)]
pub mod servers;
#[cfg(unix)]
pub mod tmux;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard};

/// The binary under test, built by Cargo for this test run.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_atlas-ports")
}

/// A temporary git repository with a main worktree at `<tmp>/repo`.
pub struct Repo {
    pub tmp: tempfile::TempDir,
    pub main: PathBuf,
}

impl Repo {
    pub fn new() -> Repo {
        let tmp = tempfile::tempdir().unwrap();
        let main = tmp.path().join("repo");
        std::fs::create_dir(&main).unwrap();
        git(&main, &["init", "-q"]);
        git(&main, &["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "init"]);
        Repo { tmp, main }
    }

    /// Adds a linked worktree `<tmp>/<name>` and returns its folder.
    pub fn add_worktree(&self, name: &str) -> PathBuf {
        let path = self.tmp.path().join(name);
        git(&self.main, &["worktree", "add", "-q", "-b", name, path.to_str().unwrap()]);
        path
    }

    /// Adds a linked worktree at `<tmp>/<relative>` (folders created as needed) on a new branch
    /// `branch`, as agent tools lay them out (`codex/worktrees/1f3c/repo`), and returns its folder.
    pub fn add_worktree_at(&self, relative: &str, branch: &str) -> PathBuf {
        let path = self.tmp.path().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        git(&self.main, &["worktree", "add", "-q", "-b", branch, path.to_str().unwrap()]);
        path
    }

    /// The shared registry in the main worktree.
    pub fn registry(&self) -> PathBuf {
        self.main.join(".atlas/worktrees/ports.json")
    }

    pub fn registry_bytes(&self) -> Vec<u8> {
        std::fs::read(self.registry()).unwrap()
    }

    pub fn registry_json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.registry_bytes()).unwrap()
    }

    /// Runs `atlas-ports` in the main worktree.
    pub fn run(&self, args: &[&str]) -> Run {
        run_in(&self.main, args)
    }

    /// `init`, checked.
    pub fn init(&self) {
        self.run(&["init"]).success();
    }

    /// Writes a registry with the given ranges (`name`, start, end) and no allocations.
    pub fn write_registry(&self, ranges: &[(&str, u16, u16)]) {
        let ranges: serde_json::Map<String, serde_json::Value> = ranges
            .iter()
            .map(|(n, s, e)| (n.to_string(), serde_json::json!({"start": s, "end": e, "description": n})))
            .collect();
        let reg = serde_json::json!({"ranges": ranges, "allocations": [], "metadata": {"version": "1.0.0", "last_updated": "", "total_allocations": 0, "schema_version": 1}});
        std::fs::create_dir_all(self.registry().parent().unwrap()).unwrap();
        std::fs::write(self.registry(), serde_json::to_string_pretty(&reg).unwrap()).unwrap();
    }
}

fn git(cwd: &Path, args: &[&str]) {
    let out = Command::new("git").args(args).current_dir(cwd).output().expect("git is installed");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// The outcome of one run of the binary.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn success(self) -> Run {
        assert_eq!(self.code, 0, "expected success; stderr: {}\nstdout: {}", self.stderr, self.stdout);
        self
    }
    pub fn code(self, code: i32) -> Run {
        assert_eq!(self.code, code, "expected exit {code}; stderr: {}\nstdout: {}", self.stderr, self.stdout);
        self
    }
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().expect("exited normally"),
            stdout: String::from_utf8(o.stdout).unwrap(),
            stderr: String::from_utf8(o.stderr).unwrap(),
        }
    }
}

/// The command for the binary in `cwd`, with an environment free of our variables, and an
/// `ATLAS_PORTS_HOME` of its own (not created): the dashboard makes its local CA there, not in
/// the user's data folder, and `up` writes `NODE_EXTRA_CA_CERTS` only where a test made a CA.
pub fn command_in(cwd: &Path) -> Command {
    let mut c = Command::new(bin());
    c.current_dir(cwd)
        .env_remove("ATLAS_PORTS_REGISTRY")
        .env_remove("ATLAS_PORTS_LOCK_TIMEOUT_MS")
        .env_remove("NODE_EXTRA_CA_CERTS")
        .env("ATLAS_PORTS_HOME", fresh_home());
    c
}

/// A path no test has used, for `ATLAS_PORTS_HOME` (in Cargo's folder for test files).
pub fn fresh_home() -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("home-{}-{n}", std::process::id()))
}

pub fn run_in(cwd: &Path, args: &[&str]) -> Run {
    command_in(cwd).args(args).output().unwrap().into()
}

/// Serialises the tests that allocate from the default ranges: the bind probe of one test
/// could otherwise see another test's probe holding 8080 for a microsecond.
pub fn default_ranges() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    let guard = LOCK.lock().unwrap_or_else(|p| p.into_inner());
    for port in [8080, 8081, 8082, 8083, 5432] {
        assert!(
            atlas_ports_core::Probe::is_free(&atlas_ports_native::SystemProbe, port),
            "port {port} is busy on this machine; the reference design's examples need 8080-8083 and 5432 free"
        );
    }
    guard
}

/// `n` consecutive ports that are free now, below the ephemeral range so that the kernel does
/// not hand them to outgoing connections meanwhile.
pub fn free_block(n: u16) -> u16 {
    static NEXT: Mutex<u16> = Mutex::new(20_000);
    let mut next = NEXT.lock().unwrap();
    let probe = atlas_ports_native::SystemProbe;
    'search: while *next < 32_000 {
        let start = *next;
        for p in start..start + n {
            if !atlas_ports_core::Probe::is_free(&probe, p) {
                *next = p + 1;
                continue 'search;
            }
        }
        *next = start + n;
        return start;
    }
    panic!("no block of {n} free ports between 20000 and 32000");
}

/// Registry text with one range and no allocations.
pub fn registry_with_range(name: &str, start: u16, end: u16) -> String {
    serde_json::to_string_pretty(&serde_json::json!({
        "ranges": { name: {"start": start, "end": end, "description": "test range"} },
        "allocations": [],
        "metadata": {"version": "1.0.0", "last_updated": "", "total_allocations": 0, "schema_version": 1}
    }))
    .unwrap()
}

#[cfg(unix)]
/// Runs the binary as `nobody`: as root, permissions do not stop anything.
pub fn as_nobody(repo: &Repo, args: &[&str]) -> Run {
    for dir in repo.tmp.path().ancestors().take_while(|d| *d != std::env::temp_dir()) {
        std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    }
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", bin()])
        .args(args)
        .current_dir(&repo.main)
        .env_remove("ATLAS_PORTS_REGISTRY")
        .env("ATLAS_PORTS_HOME", fresh_home())
        .output()
        .expect("setpriv (util-linux) is installed");
    out.into()
}

#[cfg(unix)]
pub fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").unwrap().uid() == 0
}
