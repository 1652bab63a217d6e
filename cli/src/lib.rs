//! The `atlas-ports` command-line program, and the native layer it shares with the Node addon.

mod args;
mod commands;
pub mod context;
pub mod native;
mod output;
mod seed;

use std::ffi::OsString;
use std::path::Path;

/// Runs the program on `args` (the first being the program name) and returns its exit status:
/// 0 success, 1 the answer is "no", 2 error.
pub fn run(args: Vec<OsString>) -> i32 {
    let program = args
        .first()
        .and_then(|p| Path::new(p).file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let first = args.get(1).and_then(|a| a.to_str());
    let parsed = if seed::is_seed_form(&program, first) {
        seed::parse(&program, &args)
    } else {
        <args::Cli as clap::Parser>::try_parse_from(&args).map(|cli| cli.command)
    };
    let command = match parsed {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return e.exit_code();
        }
    };
    let result = context::Context::from_process().and_then(|ctx| commands::execute(command, &ctx));
    match result {
        Ok(exit) => exit.code(),
        Err(e) => {
            output::note(&format!("atlas-ports: error: {e}"));
            2
        }
    }
}
