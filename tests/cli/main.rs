//! End-to-end tests of the `atlas-ports` program: the real binary, in real git repositories,
//! with real listeners and servers. One test binary, a module per area. The areas that drive
//! Unix tools (signals, `sh`, setpriv, the test servers) build on Unix only, so the rest also
//! runs for Windows.

#[cfg(unix)]
mod checkout;
mod commands;
mod concurrency;
#[cfg(unix)]
mod dashboard;
#[cfg(unix)]
mod fleets;
#[cfg(unix)]
mod health;
#[cfg(unix)]
mod hooks;
#[cfg(unix)]
mod hostile;
#[cfg(unix)]
mod in_place_edits;
#[cfg(unix)]
mod lifecycle;
mod mcp;
#[cfg(unix)]
mod moves;
mod probe;
#[cfg(unix)]
mod project_files;
#[cfg(unix)]
mod proxy;
#[cfg(target_os = "linux")]
mod proxy_service;
#[cfg(unix)]
mod prune;
#[cfg(unix)]
mod ranges;
mod registry;
mod scripts;
#[cfg(target_os = "linux")]
mod servers;
#[cfg(target_os = "linux")]
mod setup_scripts;
#[cfg(unix)]
mod shared_files;
#[cfg(unix)]
mod stress;
mod support;
mod tls;
#[cfg(unix)]
mod tools;
#[cfg(unix)]
mod wait;
#[cfg(unix)]
mod watch;
