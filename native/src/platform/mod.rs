//! Everything that differs by operating system, one file per system. Each exports the same
//! items, so the rest of the crate has no `cfg`:
//! - `find_listeners(ports)`: the process listening on each port (Level 2 of the probes); a
//!   listener without a PID where the system's tables can't be read (ownership is then
//!   "unknown", never a false conflict);
//! - `user_of_this_process()`: the user name when `$USER` is unset (services, cron, CI);
//! - `NO_ADDRESS_FAMILY`: the error code of a bind to an address family the host lacks;
//! - `run_in_place(command)`: runs a command as this process (exec where the system has it),
//!   so that signals reach it directly and its exit status is ours;
//! - `make_executable(path)`: lets a file (a git hook) be run;
//! - `replace_file(from, to)`: moves a file over another in one step (retrying while Windows
//!   reports the target in use);
//! - `run_child(command)`: runs a command as a child with this process's standard streams and
//!   answers its exit status (for a host process that must go on, such as Node);
//! - `shell_command(line)`, `spawn_detached(command)`: a declared command line run by the
//!   system's shell, started in a process group (on Unix a session) of its own;
//! - `spawn_daemon(command)`: the background proxy, detached from the terminal or console;
//! - `process_facts(pid)`, `processes_in_group(group)`, `signal_process(pid, start_time, sig)`,
//!   `our_uid()`, `user_name(uid)`: what `stop` needs to prove a process is the one it means
//!   and to signal only that one (Linux; elsewhere nothing is proven, so nothing is signalled).

#[cfg(unix)]
mod unix;

#[cfg(any(target_os = "macos", windows))]
mod portable;

#[cfg(not(target_os = "linux"))]
mod unverified;

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
pub use linux::*;

#[cfg(target_os = "macos")]
mod macos;
#[cfg(target_os = "macos")]
pub use macos::*;

#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub use windows::*;

#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
mod other;
#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
pub use other::*;
