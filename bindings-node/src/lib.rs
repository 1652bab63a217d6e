//! The Node.js addon of atlas-ports: `require('atlas-ports')`. A thin adapter: every rule lives
//! in `atlas-ports-core`, every system call in `atlas-ports-native`.

// napi-derive registers the exports only outside cfg(test), which `clippy --all-targets` also
// checks: there every export would look unused.
#![cfg_attr(test, allow(dead_code))]

#[macro_use]
extern crate napi_derive;

mod api;
mod error;
mod options;
mod task;
mod types;
