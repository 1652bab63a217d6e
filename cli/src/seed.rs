//! The seed scripts' command lines (`python scripts/port_allocate.py …` and `port_status.py …`),
//! accepted with only the program name replaced, and translated into the subcommands that do the
//! same work.

use crate::args::{
    AllocateArgs, Command, ConflictsArgs, FormatArg, NextArgs, RegistryArg, ReleaseArgs, StatusArgs, parse_port,
};
use clap::{ArgGroup, Parser};

/// `port_allocate.py` flags.
#[derive(Debug, Parser)]
#[command(
    name = "port_allocate",
    version,
    about = "Allocate, release or preview ports (the seed's port_allocate.py flags)",
    after_help = crate::args::EXIT_STATUS,
    group(ArgGroup::new("action").required(true).args(["service", "release", "find_next"]))
)]
struct SeedAllocate {
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
    #[command(flatten)]
    registry: RegistryArg,
    #[command(flatten)]
    format: FormatArg,
}

/// `port_status.py` flags.
#[derive(Debug, Parser)]
#[command(
    name = "port_status",
    version,
    about = "Port status, conflicts and health checks (the seed's port_status.py flags)",
    after_help = crate::args::EXIT_STATUS,
    group(ArgGroup::new("action").required(true).multiple(true).args(["all", "worktree", "check_conflicts", "health_check"]))
)]
struct SeedStatus {
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
    #[command(flatten)]
    registry: RegistryArg,
    #[command(flatten)]
    format: FormatArg,
}

/// Flags only `port_allocate.py` has: they pick its parser on `atlas-ports` itself.
const ALLOCATE_FLAGS: &[&str] = &["--service", "--release", "--find-next", "--description", "--quiet"];

/// Whether these arguments are the seed's flag form rather than a subcommand.
pub fn is_seed_form(program: &str, first: Option<&str>) -> bool {
    is_seed_program(program)
        || first.is_some_and(|a| a.starts_with('-') && !matches!(a, "-h" | "--help" | "-V" | "--version"))
}

fn is_seed_program(program: &str) -> bool {
    matches!(program, "port_allocate" | "port_allocate.py" | "port_status" | "port_status.py")
}

/// Parses the seed's flags into the equivalent subcommand: `port_status` flags when the program
/// is called so, or when no flag of `port_allocate` is present.
pub fn parse(program: &str, args: &[std::ffi::OsString]) -> Result<Command, clap::Error> {
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

fn parse_status(args: &[std::ffi::OsString]) -> Result<Command, clap::Error> {
    let seed = SeedStatus::try_parse_from(args)?;
    let (registry, format) = (seed.registry, seed.format);
    Ok(if seed.check_conflicts {
        Command::Conflicts(ConflictsArgs { registry, format })
    } else {
        Command::Status(StatusArgs {
            all: seed.all,
            worktree: seed.worktree,
            health_check: seed.health_check,
            verbose: seed.verbose,
            registry,
            format,
        })
    })
}

fn parse_allocate(args: &[std::ffi::OsString]) -> Result<Command, clap::Error> {
    let seed = SeedAllocate::try_parse_from(args)?;
    let (registry, format) = (seed.registry, seed.format);
    Ok(if let Some(port) = seed.release {
        Command::Release(ReleaseArgs { port: Some(port), worktree: seed.worktree, all: false, registry, format })
    } else if let Some(service) = seed.find_next {
        Command::Next(NextArgs { service, registry, format })
    } else {
        Command::Allocate(AllocateArgs {
            service: seed.service.expect("clap requires one action"),
            worktree: seed.worktree,
            description: seed.description,
            quiet: seed.quiet,
            registry,
            format,
        })
    })
}
