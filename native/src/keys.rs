//! Stopping a long-running command (`status --watch`) from the keyboard: Ctrl+C, `q` or Ctrl+D
//! at the terminal.
//!
//! On Unix this uses no signal handler. A handler would chain to the host's: under the npm bin,
//! Node's own SIGINT handler re-raises the signal, which the chained handler catches again,
//! forever. Instead, while the command runs, the terminal stops turning Ctrl+C into SIGINT
//! (`ISIG` off, and no echo or line buffering), and the keys are read as bytes; the terminal's
//! settings are put back when [`Keys`] is dropped. When standard input is not a terminal,
//! nothing changes and a SIGINT ends the process as it always does. On Windows, Ctrl+C is
//! caught with `signal-hook`.

use std::io;

/// Keys that ask a command to stop, listened to while this lives.
#[derive(Debug)]
pub struct Keys {
    #[cfg(unix)]
    saved: Option<rustix::termios::Termios>,
    #[cfg(not(unix))]
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

#[cfg(unix)]
impl Keys {
    /// Starts listening.
    pub fn listen() -> io::Result<Keys> {
        use rustix::termios::{LocalModes, OptionalActions, SpecialCodeIndex, isatty, tcgetattr, tcsetattr};
        let stdin = rustix::stdio::stdin();
        if !isatty(stdin) {
            return Ok(Keys { saved: None });
        }
        let saved = tcgetattr(stdin)?;
        let mut keys = saved.clone();
        keys.local_modes.remove(LocalModes::ISIG | LocalModes::ICANON | LocalModes::ECHO);
        keys.special_codes[SpecialCodeIndex::VMIN] = 0;
        keys.special_codes[SpecialCodeIndex::VTIME] = 0;
        tcsetattr(stdin, OptionalActions::Now, &keys)?;
        Ok(Keys { saved: Some(saved) })
    }

    /// Whether Ctrl+C, `q` or Ctrl+D was pressed since the last look (never blocks).
    pub fn stop_requested(&mut self) -> bool {
        if self.saved.is_none() {
            return false;
        }
        let mut buf = [0u8; 64];
        let mut asked = false;
        while let Ok(n) = rustix::io::read(rustix::stdio::stdin(), &mut buf) {
            if n == 0 {
                break;
            }
            asked |= buf[..n].iter().any(|b| matches!(b, 0x03 | 0x04 | b'q' | b'Q'));
        }
        asked
    }
}

#[cfg(unix)]
impl Drop for Keys {
    fn drop(&mut self) {
        if let Some(saved) = &self.saved {
            let _ = rustix::termios::tcsetattr(rustix::stdio::stdin(), rustix::termios::OptionalActions::Now, saved);
        }
    }
}

#[cfg(not(unix))]
impl Keys {
    /// Starts listening.
    pub fn listen() -> io::Result<Keys> {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        #[cfg(windows)]
        signal_hook::flag::register(signal_hook::consts::SIGINT, std::sync::Arc::clone(&stop))?;
        Ok(Keys { stop })
    }

    /// Whether Ctrl+C was pressed.
    pub fn stop_requested(&mut self) -> bool {
        self.stop.load(std::sync::atomic::Ordering::SeqCst)
    }
}
