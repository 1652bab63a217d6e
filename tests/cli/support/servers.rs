//! Real servers for the probe tests, started on given ports and stopped on drop.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A server process, stopped (SIGINT, then SIGKILL) when dropped.
pub struct Server {
    child: Child,
}

impl Server {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg("-INT").arg(self.child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until something accepts connections on the port.
pub fn wait_listening(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{what} never listened on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn start(mut cmd: Command, port: u16, what: &str) -> Server {
    let child = cmd.stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap_or_else(|e| panic!("start {what}: {e}"));
    let server = Server { child };
    wait_listening(port, what);
    server
}

/// `python3 -m http.server`, working in `cwd`.
pub fn http_server(port: u16, cwd: &Path) -> Server {
    let mut cmd = Command::new("python3");
    cmd.args(["-m", "http.server", &port.to_string(), "--bind", "127.0.0.1"]).current_dir(cwd);
    start(cmd, port, "python3 -m http.server")
}

/// A real `redis-server` without persistence, working in `cwd`.
pub fn redis(port: u16, cwd: &Path) -> Server {
    let mut cmd = Command::new("redis-server");
    cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]).current_dir(cwd);
    start(cmd, port, "redis-server (scripts/setup.sh installs it)")
}

/// A real PostgreSQL server with its data folder under `parent` (the server works in its data
/// folder). As root it runs as the `postgres` user, which the Debian package creates.
pub fn postgres(port: u16, parent: &Path) -> Server {
    let bin = postgres_bin();
    let data = parent.join("pgdata");
    std::fs::create_dir_all(&data).unwrap();
    let as_root = is_root();
    if as_root {
        // The server's user must reach its data folder.
        for dir in parent.ancestors().take_while(|d| d.starts_with(std::env::temp_dir()) && *d != std::env::temp_dir())
        {
            chmod(dir, 0o755);
        }
        let ok = Command::new("chown").arg("-R").arg("postgres:postgres").arg(&data).status().unwrap();
        assert!(ok.success());
    }
    let as_postgres = |program: PathBuf| {
        let mut c = if as_root {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=postgres", "--regid=postgres", "--init-groups"]).arg(program);
            c
        } else {
            Command::new(program)
        };
        c.current_dir(parent);
        c
    };
    let init = as_postgres(bin.join("initdb"))
        .arg("-D")
        .arg(&data)
        .args(["-A", "trust", "-U", "postgres", "--no-sync"])
        .stdout(Stdio::null())
        .output()
        .unwrap();
    assert!(init.status.success(), "initdb: {}", String::from_utf8_lossy(&init.stderr));
    let mut cmd = as_postgres(bin.join("postgres"));
    cmd.arg("-D").arg(&data).args(["-p", &port.to_string(), "-k"]).arg(&data);
    cmd.args(["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"]);
    start(cmd, port, "postgres")
}

fn postgres_bin() -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is installed (scripts/setup.sh installs Debian's postgresql)")
        .map(|e| e.unwrap().path().join("bin"))
        .filter(|p| p.join("postgres").is_file())
        .collect();
    versions.sort();
    versions.pop().expect("a PostgreSQL server binary under /usr/lib/postgresql/*/bin")
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false)
}

fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A listener in this test process (a foreign one for any worktree) that answers every
/// connection with a line that is not HTTP, then closes.
pub fn not_http(port: u16) -> std::thread::JoinHandle<()> {
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
    std::thread::spawn(move || {
        for mut s in listener.incoming().flatten() {
            let _ = s.write_all(b"SSH-2.0-OpenSSH_9.2\r\n");
        }
    })
}
