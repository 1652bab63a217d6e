//! `atlas-ports completions SHELL`.

use super::Exit;
use crate::args::{Cli, CompletionsArgs};
use crate::output;
use atlas_ports_core::Result;
use clap::CommandFactory;

pub fn run(args: CompletionsArgs) -> Result<Exit> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "atlas-ports", &mut script);
    output::text(&String::from_utf8_lossy(&script))?;
    Ok(Exit::Success)
}
