//! Reading a registry that another program may be rewriting in place. Ours never do (every
//! write is a new file renamed over the old), but an editor saving, `cat copy > ports.json` or
//! `jq … > ports.json` writes into the file we read, and no lock of ours keeps them out. A read
//! that overlaps such a write is torn: the start of one version and the rest of another, which
//! can even parse (two layouts of one length), holding ports twice.
//!
//! The store compares the file's fingerprint before and after a read, which catches a write that
//! begins during it. A write that began just before the read, and is still copying when the read
//! starts, left its times unchanged by then (the kernel stamps them as a write starts). So a file
//! whose last change was a write into it (its modification and change times are one: a rename,
//! as ours are made, or a change of mode, stamps the change time alone) less than [`SETTLING`]
//! before the read is confirmed by reading it again: the read is kept only when the second one
//! is the same, byte for byte.

use super::target::{open_regular, read_rest};
use std::fs::{File, Metadata};
use std::io::{self, Read, Seek};
use std::path::Path;
use std::time::{Duration, SystemTime};

/// How long after its last change a file may still be being written, by our reckoning: far more
/// than writing a 128 MiB registry takes, even on a busy machine.
pub const SETTLING: Duration = Duration::from_secs(1);

/// How many times a file that never reads the same twice is read before giving up.
const TRIES: usize = 4;

/// The file's content, from a read no in-place writer overlapped (as far as times can tell).
/// An error of kind `InvalidData` when it never held still.
pub fn read_steady(path: &Path) -> io::Result<Vec<u8>> {
    for _ in 0..TRIES {
        let started = SystemTime::now();
        let (mut file, meta) = open_regular(path)?;
        let bytes = read_rest(&file, meta.len())?;
        if !written_within(&meta, started, SETTLING) {
            return Ok(bytes);
        }
        if reads_the_same(&mut file, &meta, &bytes)? {
            return Ok(bytes);
        }
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "another program kept rewriting it in place while it was read ({TRIES} tries); try again once it is saved"
        ),
    ))
}

/// Whether the file's last change was a write into it (where the platform tells: on Unix, its
/// modification and change times are equal), less than `settling` before `started` (or after
/// it: clocks and file times can disagree).
fn written_within(meta: &Metadata, started: SystemTime, settling: Duration) -> bool {
    let (Ok(modified), Ok(changed)) = (meta.modified(), changed(meta)) else { return true };
    let recent = started.duration_since(modified).map_or(true, |age| age < settling);
    recent && (modified == changed || cfg!(not(unix)))
}

#[cfg(unix)]
fn changed(meta: &Metadata) -> io::Result<SystemTime> {
    use std::os::unix::fs::MetadataExt;
    let since_epoch = Duration::new(meta.ctime().max(0) as u64, meta.ctime_nsec().clamp(0, 999_999_999) as u32);
    Ok(SystemTime::UNIX_EPOCH + since_epoch)
}

#[cfg(not(unix))]
fn changed(meta: &Metadata) -> io::Result<SystemTime> {
    meta.modified()
}

/// Reads the open file again from the start, in chunks, and says whether it is still exactly
/// `bytes` with the same times: no second copy of a large registry is made.
fn reads_the_same(file: &mut File, before: &Metadata, bytes: &[u8]) -> io::Result<bool> {
    file.rewind()?;
    let mut chunk = vec![0u8; 256 << 10];
    let mut offset = 0;
    loop {
        let n = file.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        if bytes.get(offset..offset + n) != Some(&chunk[..n]) {
            return Ok(false);
        }
        offset += n;
    }
    let after = file.metadata()?;
    Ok(offset == bytes.len()
        && after.modified().ok() == before.modified().ok()
        && changed(&after).ok() == changed(before).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn a_file_written_long_ago_or_renamed_is_read_once_and_a_fresh_write_is_confirmed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ports.json");
        fs::write(&path, "{}").unwrap();
        let meta = fs::metadata(&path).unwrap();
        let now = SystemTime::now();
        assert!(written_within(&meta, now, SETTLING), "just written in place");
        assert!(!written_within(&meta, now + Duration::from_secs(5), SETTLING), "five seconds later");
        assert_eq!(read_steady(&path).unwrap(), b"{}", "a fresh file that reads the same twice is read");
        #[cfg(unix)]
        {
            // Written a moment ago, then its times stamped apart, as a rename or a change of
            // mode does: the write is over.
            let earlier = fs::File::options().write(true).open(&path).unwrap();
            earlier.set_modified(now - Duration::from_millis(5)).unwrap();
            let meta = fs::metadata(&path).unwrap();
            assert!(!written_within(&meta, now, SETTLING), "the last change was not a write into it");
        }
    }
}
