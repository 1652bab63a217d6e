#![no_main]
//! `cargo +nightly fuzz run registry` (from core/): registry parsing, then a script of
//! operations and reports over whatever parsed. See exercise.rs for the invariants.

#[path = "../exercise.rs"]
mod exercise;

libfuzzer_sys::fuzz_target!(|data: &[u8]| exercise::run(data));
