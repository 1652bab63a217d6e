//! End-to-end tests of the `atlas-ports` program: the real binary, in real git repositories,
//! with real listeners and servers. One test binary, a module per area.

mod commands;
mod concurrency;
mod health;
#[cfg(unix)]
mod hostile;
mod probe;
mod prune;
mod registry;
mod scripts;
mod stress;
mod support;
mod tools;
