//! The `atlas-ports` command line: subcommands, their flags and their help texts.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Appended to every `--help`.
pub const EXIT_STATUS: &str = "\
Exit status:
  0  success
  1  the answer is \"no\": the port was not allocated (release), is not available (check),
     or the range has no free port (next)
  2  error: bad input, missing or corrupt registry, lock timeout";

const ABOUT: &str = "Per-worktree port allocation for repositories checked out in many git worktrees.

The registry is found from --registry, then $ATLAS_PORTS_REGISTRY, then
.atlas/worktrees/ports.json in the main worktree of the git repository around the current
folder. The worktree defaults to the current git worktree's folder name.

The seed scripts' flag forms work too, with only the program name replaced:
  atlas-ports --service web --worktree review-GH-42 [--description D] [--quiet]
  atlas-ports --release 8080 [--worktree W]
  atlas-ports --find-next web
(and the same flags when the program is called port_allocate).";

#[derive(Debug, Parser)]
#[command(name = "atlas-ports", version, about = ABOUT, after_help = EXIT_STATUS, disable_help_subcommand = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the registry with the default service ranges
    #[command(after_help = concat!("Example:\n  atlas-ports init\n\n", "Exit status: 0 created, 2 exists (without --force) or cannot be written"))]
    Init(InitArgs),

    /// Allocate the next free port of a service's range to a worktree
    #[command(after_help = concat!(
        "Examples:\n  atlas-ports allocate --service web --worktree review-GH-42 --description \"Frontend dev server\"\n",
        "  PORT=$(atlas-ports allocate --service api --quiet)\n\n",
        "Exit status: 0 allocated, 2 unknown service, range exhausted, missing registry or bad input"
    ))]
    Allocate(AllocateArgs),

    /// Return the worktree's port for a service, allocating one only if it has none
    #[command(after_help = concat!(
        "Example (an npm script that starts on the same port every time):\n",
        "  \"dev\": \"next dev -p $(atlas-ports ensure --service web --quiet)\"\n\n",
        "Exit status: 0 held or allocated, 2 as for allocate"
    ))]
    Ensure(AllocateArgs),

    /// Release a port, or every port of a worktree
    #[command(after_help = concat!(
        "Examples:\n  atlas-ports release 8080\n  atlas-ports release 8080 --worktree feature-search\n",
        "  atlas-ports release --worktree feature-search --all\n\n",
        "Exit status: 0 released, 1 nothing was allocated, 2 error"
    ))]
    Release(ReleaseArgs),

    /// Show the port that allocate would hand out now, without allocating
    #[command(
        after_help = "Example:\n  atlas-ports next web\n\nExit status: 0 found, 1 the range has no free port, 2 error"
    )]
    Next(NextArgs),

    /// Tell whether a port is free in the registry and on this machine
    #[command(
        after_help = "Example:\n  atlas-ports check 8080\n\nExit status: 0 available, 1 allocated or in use, 2 error"
    )]
    Check(CheckArgs),

    /// List allocations of a worktree (default: the current one) or of all worktrees
    #[command(
        after_help = "Examples:\n  atlas-ports list\n  atlas-ports list --worktree review-GH-42 --format json\n  atlas-ports list --all\n\nExit status: 0, or 2 on error"
    )]
    List(ListArgs),
}

/// Where the registry is.
#[derive(Debug, Args, Default, Clone)]
pub struct RegistryArg {
    /// Registry file [default: $ATLAS_PORTS_REGISTRY, else .atlas/worktrees/ports.json in the main worktree]
    #[arg(long, value_name = "PATH")]
    pub registry: Option<PathBuf>,
}

/// How data is printed.
#[derive(Debug, Args, Clone, Copy, Default)]
pub struct FormatArg {
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Format {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Replace an existing registry with the defaults (its allocations are lost)
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub registry: RegistryArg,
    #[command(flatten)]
    pub format: FormatArg,
}

#[derive(Debug, Args, Clone)]
pub struct AllocateArgs {
    /// Service type: a key of the registry's ranges (web, database, testing, debug, api, cache, …)
    #[arg(long, short, value_name = "SERVICE")]
    pub service: String,
    /// Worktree id [default: the current git worktree's folder name]
    #[arg(long, short, value_name = "WORKTREE")]
    pub worktree: Option<String>,
    /// Human-readable description of the service
    #[arg(long, short, value_name = "TEXT", default_value = "")]
    pub description: String,
    /// Print the port number alone (for `$(…)`)
    #[arg(long, short)]
    pub quiet: bool,
    #[command(flatten)]
    pub registry: RegistryArg,
    #[command(flatten)]
    pub format: FormatArg,
}

#[derive(Debug, Args, Clone)]
pub struct ReleaseArgs {
    /// Port to release
    #[arg(value_parser = parse_port, allow_hyphen_values = true, required_unless_present = "all")]
    pub port: Option<u16>,
    /// Release only this worktree's allocation of the port (resolves duplicate entries)
    #[arg(long, short, value_name = "WORKTREE")]
    pub worktree: Option<String>,
    /// Release every port of --worktree
    #[arg(long, requires = "worktree", conflicts_with = "port")]
    pub all: bool,
    #[command(flatten)]
    pub registry: RegistryArg,
    #[command(flatten)]
    pub format: FormatArg,
}

#[derive(Debug, Args, Clone)]
pub struct NextArgs {
    /// Service type
    pub service: String,
    #[command(flatten)]
    pub registry: RegistryArg,
    #[command(flatten)]
    pub format: FormatArg,
}

#[derive(Debug, Args, Clone)]
pub struct CheckArgs {
    /// Port to check
    #[arg(value_parser = parse_port, allow_hyphen_values = true)]
    pub port: u16,
    #[command(flatten)]
    pub registry: RegistryArg,
    #[command(flatten)]
    pub format: FormatArg,
}

#[derive(Debug, Args, Clone)]
pub struct ListArgs {
    /// Worktree id [default: the current git worktree's folder name]
    #[arg(long, short, value_name = "WORKTREE")]
    pub worktree: Option<String>,
    /// List every worktree's allocations
    #[arg(long, conflicts_with = "worktree")]
    pub all: bool,
    #[command(flatten)]
    pub registry: RegistryArg,
    #[command(flatten)]
    pub format: FormatArg,
}

/// Port arguments follow the core's rule and message.
pub fn parse_port(text: &str) -> Result<u16, String> {
    atlas_ports_core::validate::parse_port(text).map_err(|e| e.to_string())
}
