//! Writing results: data on stdout, diagnostics on stderr. A closed pipe (`atlas-ports list |
//! head -1`) ends the output quietly instead of panicking.

use atlas_ports_core::{Error, Result};
use serde::Serialize;
use std::io::{self, Write};

/// Writes text to stdout, with control characters from the registry made visible.
pub fn text(s: &str) -> Result<()> {
    let s = atlas_ports_core::printable(s);
    let mut out = io::stdout().lock();
    match out.write_all(s.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            Err(Error::System { action: "write to standard output", source: e })
        }
        _ => Ok(()),
    }
}

/// Writes a value as pretty JSON with a final newline.
pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<()> {
    let mut s = serde_json::to_string_pretty(value).expect("output serialises to JSON");
    s.push('\n');
    text(&s)
}

/// Writes a note to stderr (never data), with control characters made visible.
pub fn note(s: &str) {
    let _ = writeln!(io::stderr(), "{}", atlas_ports_core::printable(s));
}
