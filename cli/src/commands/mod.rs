//! One function per subcommand. Each returns the exit status of a successful run; errors bubble
//! up to [`crate::run`], which prints them and exits 2.

mod allocate;
mod completions;
mod conflicts;
mod env;
mod init;
mod prune;
mod query;
mod release;
mod run;
mod status;

use crate::args::Command;
use crate::context::Context;
use atlas_ports_core::Result;

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: done, or the answer is "yes".
    Success,
    /// 1: the answer is "no".
    No,
    /// A status passed through from a command that `run` started.
    Code(i32),
}

impl Exit {
    /// The process exit status.
    pub fn code(self) -> i32 {
        match self {
            Exit::Success => 0,
            Exit::No => 1,
            Exit::Code(c) => c,
        }
    }
}

/// Runs a parsed command.
pub fn execute(command: Command, ctx: &Context) -> Result<Exit> {
    match command {
        Command::Init(a) => init::run(ctx, a),
        Command::Allocate(a) => allocate::allocate(ctx, a),
        Command::Ensure(a) => allocate::ensure(ctx, a),
        Command::Release(a) => release::run(ctx, a),
        Command::Next(a) => query::next(ctx, a),
        Command::Check(a) => query::check(ctx, a),
        Command::List(a) => query::list(ctx, a),
        Command::Env(a) => env::run(ctx, a),
        Command::Status(a) => status::run(ctx, a),
        Command::Conflicts(a) => conflicts::run(ctx, a),
        Command::Run(a) => run::run(ctx, a),
        Command::Prune(a) => prune::run(ctx, a),
        Command::Completions(a) => completions::run(a),
    }
}
