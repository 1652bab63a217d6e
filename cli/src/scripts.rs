//! The command lines of the reference design's scripts (`python scripts/port_allocate.py …` and
//! `port_status.py …`), accepted with only the program name replaced and translated into the
//! subcommands that do the same work.

use crate::args::{
    AllocateArgs, Cli, Command, ConflictsArgs, NextArgs, OutputFormat, ReleaseArgs, StatusArgs, parse_port,
};
use clap::{ArgGroup, Parser, ValueEnum};
use std::ffi::OsString;
use std::path::PathBuf;

/// The output formats the scripts know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ScriptFormat {
    Text,
    Json,
}

impl From<ScriptFormat> for OutputFormat {
    fn from(f: ScriptFormat) -> Self {
        match f {
            ScriptFormat::Text => OutputFormat::Text,
            ScriptFormat::Json => OutputFormat::Json,
        }
    }
}

/// `port_allocate.py` flags.
#[derive(Debug, Parser)]
#[command(
    name = "port_allocate",
    version,
    about = "Allocate, release or preview ports (the flags of the reference design's port_allocate.py)",
    after_help = crate::args::EXIT_STATUS,
    group(ArgGroup::new("action").required(true).args(["service", "release", "find_next"]))
)]
struct AllocateScript {
    /// Service type (web, database, testing, debug, api, cache)
    #[arg(long, value_name = "SERVICE_TYPE")]
    service: Option<String>,
    /// Name of the worktree [default: the current git worktree's folder name]
    #[arg(long, value_name = "WORKTREE_NAME")]
    worktree: Option<String>,
    /// Optional description of the service
    #[arg(long, value_name = "DESC", default_value = "")]
    description: String,
    /// Print the port number alone
    #[arg(long)]
    quiet: bool,
    /// Port number to release
    #[arg(long, value_name = "PORT_NUMBER", value_parser = parse_port, allow_hyphen_values = true)]
    release: Option<u16>,
    /// Find the next available port of a service range without allocating it
    #[arg(long, value_name = "SERVICE_TYPE")]
    find_next: Option<String>,
    /// Registry file
    #[arg(long, value_name = "PATH")]
    registry: Option<PathBuf>,
    /// Output format
    #[arg(long, value_enum)]
    format: Option<ScriptFormat>,
}

/// `port_status.py` flags.
#[derive(Debug, Parser)]
#[command(
    name = "port_status",
    version,
    about = "Port status, conflicts and health checks (the flags of the reference design's port_status.py)",
    after_help = crate::args::EXIT_STATUS,
    group(ArgGroup::new("action").required(true).multiple(true).args(["all", "worktree", "check_conflicts", "health_check"]))
)]
struct StatusScript {
    /// Status of every allocated port
    #[arg(long, conflicts_with = "worktree")]
    all: bool,
    /// Status of one worktree's ports
    #[arg(long, value_name = "WORKTREE_NAME")]
    worktree: Option<String>,
    /// Report conflicts
    #[arg(long, conflicts_with_all = ["all", "health_check"])]
    check_conflicts: bool,
    /// Probe every port and store the results
    #[arg(long)]
    health_check: bool,
    /// With --health-check: more detail
    #[arg(long)]
    verbose: bool,
    /// Registry file
    #[arg(long, value_name = "PATH")]
    registry: Option<PathBuf>,
    /// Output format
    #[arg(long, value_enum)]
    format: Option<ScriptFormat>,
}

/// Flags only `port_allocate.py` has: they pick its parser on `atlas-ports` itself.
const ALLOCATE_FLAGS: &[&str] = &["--service", "--release", "--find-next", "--description", "--quiet"];

/// Flags that take a value and may stand before a subcommand.
const GLOBAL_FLAGS: &[&str] = &["--registry", "--format"];

/// Whether these arguments (the first being the program name) are a script's flag form rather than a
/// subcommand: the program is called like a script, or the first argument that is not a global
/// flag (`--registry PATH`, `--format F`) is another flag.
pub fn is_script_form(program: &str, args: &[OsString]) -> bool {
    if is_script_program(program) {
        return true;
    }
    let mut rest = args.iter().skip(1).map(|a| a.to_string_lossy());
    while let Some(arg) = rest.next() {
        if GLOBAL_FLAGS.contains(&arg.as_ref()) {
            rest.next();
        } else if GLOBAL_FLAGS.iter().any(|f| arg.starts_with(&format!("{f}="))) {
            continue;
        } else {
            return arg.starts_with('-') && !matches!(arg.as_ref(), "-h" | "--help" | "-V" | "--version");
        }
    }
    false
}

fn is_script_program(program: &str) -> bool {
    matches!(program, "port_allocate" | "port_allocate.py" | "port_status" | "port_status.py")
}

/// Parses a script's flags into the equivalent subcommand: `port_status` flags when the program
/// is called so, or when no flag of `port_allocate` is present.
pub fn parse(program: &str, args: &[OsString]) -> Result<Cli, clap::Error> {
    let allocate = match program {
        "port_allocate" | "port_allocate.py" => true,
        "port_status" | "port_status.py" => false,
        _ => args.iter().skip(1).any(|a| {
            let a = a.to_string_lossy();
            ALLOCATE_FLAGS.iter().any(|f| a == *f || a.starts_with(&format!("{f}=")))
        }),
    };
    if allocate { parse_allocate(args) } else { parse_status(args) }
}

fn parse_status(args: &[OsString]) -> Result<Cli, clap::Error> {
    let script = StatusScript::try_parse_from(args)?;
    let command = if script.check_conflicts {
        Command::Conflicts(ConflictsArgs {})
    } else {
        Command::Status(StatusArgs {
            all: script.all,
            worktree: script.worktree,
            health_check: script.health_check,
            verbose: script.verbose,
            reference: true,
            ..StatusArgs::default()
        })
    };
    Ok(Cli { registry: script.registry, format: script.format.map(Into::into), command })
}

fn parse_allocate(args: &[OsString]) -> Result<Cli, clap::Error> {
    let script = AllocateScript::try_parse_from(args)?;
    let command = if let Some(port) = script.release {
        Command::Release(ReleaseArgs { port: Some(port), worktree: script.worktree, all: false })
    } else if let Some(service) = script.find_next {
        Command::Next(NextArgs { service })
    } else {
        Command::Allocate(AllocateArgs {
            service: script.service.expect("clap requires one action"),
            worktree: script.worktree,
            description: script.description,
            quiet: script.quiet,
        })
    };
    Ok(Cli { registry: script.registry, format: script.format.map(Into::into), command })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    #[test]
    fn global_flags_before_a_subcommand_are_not_a_script_form() {
        assert!(!is_script_form("atlas-ports", &args(&["atlas-ports", "--registry", "x.json", "list"])));
        assert!(!is_script_form("atlas-ports", &args(&["atlas-ports", "--format=json", "list"])));
        assert!(!is_script_form("atlas-ports", &args(&["atlas-ports", "--help"])));
        assert!(is_script_form("atlas-ports", &args(&["atlas-ports", "--registry", "x.json", "--all"])));
        assert!(is_script_form("atlas-ports", &args(&["atlas-ports", "--service", "web"])));
        assert!(is_script_form("port_status", &args(&["port_status", "list"])));
    }
}
