//! Each started service's output: `<registry folder>/logs/<worktree>/<service>.log`, appended to
//! by the command's stdout and stderr. Bounded: when `start` finds a log past
//! [`ROTATE_AT_BYTES`], it becomes `<service>.log.1` (replacing the previous one) and a new log
//! begins.

use atlas_ports_core::{Error, Result};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The size past which `start` rotates a log.
pub const ROTATE_AT_BYTES: u64 = 4 * 1024 * 1024;

/// The log of `service` in the worktree whose key is `key`.
pub fn path(registry: &Path, key: &str, service: &str) -> PathBuf {
    super::state_dir(registry).join("logs").join(key).join(format!("{}.log", super::file_key(service)))
}

/// Opens the log for appending, after rotating it when it is past the bound, and writes a line
/// saying what starts now.
pub fn open_for(log: &Path, header: &str) -> Result<File> {
    let io = |action: &'static str, e: std::io::Error| Error::Io { action, path: log.to_owned(), source: e };
    if let Some(dir) = log.parent() {
        std::fs::create_dir_all(dir).map_err(|e| io("create the folder of", e))?;
    }
    if std::fs::metadata(log).is_ok_and(|m| m.len() > ROTATE_AT_BYTES) {
        let mut old = log.as_os_str().to_owned();
        old.push(".1");
        std::fs::rename(log, PathBuf::from(old)).map_err(|e| io("rotate", e))?;
    }
    let mut file = OpenOptions::new().create(true).append(true).open(log).map_err(|e| io("open", e))?;
    writeln!(file, "{header}").map_err(|e| io("write", e))?;
    Ok(file)
}

/// Copies the log to `out`; with `follow`, goes on copying what is appended (and a new log after
/// a rotation) until `stop` says to end or `out` is closed.
pub fn copy(log: &Path, out: &mut dyn Write, follow: bool, stop: &dyn Fn() -> bool) -> std::io::Result<()> {
    let mut file = match File::open(log) {
        Ok(f) => Some(f),
        Err(e) if follow && e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    let mut at = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        if let Some(f) = file.as_mut() {
            loop {
                let n = f.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                out.write_all(&buf[..n])?;
                at += n as u64;
            }
            out.flush()?;
        }
        if !follow || stop() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(200));
        // A rotated log is a new, shorter file at the path: start again from its beginning.
        let len = std::fs::metadata(log).map(|m| m.len()).ok();
        if (file.is_none() || len.is_some_and(|l| l < at))
            && let Ok(mut f) = File::open(log)
        {
            f.seek(SeekFrom::Start(0))?;
            file = Some(f);
            at = 0;
        }
    }
}

/// A writer that puts `prefix` before every line and hands the result on (for following
/// several logs in one stream).
#[derive(Debug)]
pub struct LinePrefixer {
    prefix: String,
    at_line_start: bool,
    to: std::sync::mpsc::Sender<Vec<u8>>,
}

impl LinePrefixer {
    pub fn new(prefix: String, to: std::sync::mpsc::Sender<Vec<u8>>) -> LinePrefixer {
        LinePrefixer { prefix, at_line_start: true, to }
    }
}

impl Write for LinePrefixer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut chunk = Vec::with_capacity(buf.len() + self.prefix.len());
        for &b in buf {
            if self.at_line_start {
                chunk.extend_from_slice(self.prefix.as_bytes());
            }
            chunk.push(b);
            self.at_line_start = b == b'\n';
        }
        self.to.send(chunk).map_err(|_| std::io::Error::from(std::io::ErrorKind::BrokenPipe))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The logs of a worktree's services: `(service, path)` of every log in the folders of its
/// servers files' keys and of its name.
pub fn of_worktree(keys: &[String], registry: &Path) -> Vec<(String, PathBuf)> {
    let mut found = Vec::new();
    for key in keys {
        let dir = super::state_dir(registry).join("logs").join(key);
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(service) = name.strip_suffix(".log")
                && !found.iter().any(|(s, _): &(String, PathBuf)| s == service)
            {
                found.push((service.to_owned(), e.path()));
            }
        }
    }
    found
}
