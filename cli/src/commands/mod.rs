//! One function per subcommand. Each returns the exit status of a successful run; errors bubble
//! up to [`crate::run`], which prints them and exits 2.

mod allocate;
mod checkout;
mod completions;
mod conflicts;
mod dashboard;
mod env;
mod hooks;
mod init;
mod proxy;
mod prune;
mod query;
mod ranges;
mod release;
mod run;
mod servers;
mod status;
mod trust;
mod up;
mod wait;
mod watch;

use crate::args::{Cli, Command, OutputFormat};
use atlas_ports_core::{Error, Ports, Result};
use atlas_ports_native::Workspace;
use std::path::PathBuf;

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

/// What every command may use: the workspace and the global flags.
#[derive(Debug)]
pub struct Invocation<'w> {
    pub ws: &'w Workspace,
    registry: Option<PathBuf>,
    format: Option<OutputFormat>,
    /// How `run` starts its command.
    pub launch: crate::Launch,
    /// The command that runs this program again, when not this process's executable.
    this: Option<atlas_ports_native::SelfCommand>,
}

impl Invocation<'_> {
    /// The command that runs this program again: for the background proxy and service files.
    pub fn this(&self) -> Result<atlas_ports_native::SelfCommand> {
        match &self.this {
            Some(this) => Ok(this.clone()),
            None => atlas_ports_native::SelfCommand::current_exe(),
        }
    }

    /// The registry operations on `--registry`, else the discovered registry.
    pub fn ports(&self) -> Ports<'_> {
        self.ws.ports(self.registry.as_deref())
    }

    /// `--registry`, when given.
    pub fn registry(&self) -> Option<&std::path::Path> {
        self.registry.as_deref()
    }

    /// Whether `--format json` was asked for (`text` is the default); `dotenv` and `sh` belong
    /// to `env` alone.
    pub fn json(&self) -> Result<bool> {
        match self.format {
            None | Some(OutputFormat::Text) => Ok(false),
            Some(OutputFormat::Json) => Ok(true),
            Some(other) => Err(Error::InvalidArgument {
                what: "--format",
                value: format!("{other:?}").to_lowercase(),
                reason: "only env prints dotenv or sh; this command prints text or json".to_owned(),
            }),
        }
    }

    /// The format `env` prints: `dotenv` unless another was asked for.
    pub fn env_format(&self) -> Result<OutputFormat> {
        match self.format {
            None => Ok(OutputFormat::Dotenv),
            Some(OutputFormat::Text) => Err(Error::InvalidArgument {
                what: "--format",
                value: "text".to_owned(),
                reason: "env prints dotenv, sh or json".to_owned(),
            }),
            Some(f) => Ok(f),
        }
    }
}

/// Says once, on stderr, that an allocation created the discovered registry.
pub fn note_created(inv: &Invocation<'_>, ports: &Ports<'_>) {
    if ports.created_registry() {
        crate::output::note(&format!(
            "atlas-ports: created the port registry {} with the default ranges (edit it to change them)",
            inv.ws.display(ports.registry_path())
        ));
    }
}

/// Says on stderr that `ensure` moved an allocation off a port a foreign process had taken, or
/// kept a busy one it could not judge.
pub fn note_moved(ensured: &atlas_ports_core::Ensured) {
    let a = &ensured.allocation;
    if let Some(from) = ensured.moved_from {
        crate::output::note(&format!(
            "atlas-ports: port {from} of worktree '{}' ({}) is taken by another process; moved to {}",
            a.worktree, a.service, a.port
        ));
    }
    if let Some(warning) = &ensured.warning {
        crate::output::note(&format!("atlas-ports: warning: {warning}"));
    }
    if !ensured.reclaimed.is_empty() {
        crate::output::note(&format!(
            "atlas-ports: the '{}' range was full: released {} of worktrees that are gone",
            a.service,
            atlas_ports_core::report::released_list(&ensured.reclaimed)
        ));
    }
}

/// Runs a parsed command line.
pub fn execute(
    cli: Cli,
    ws: &Workspace,
    launch: crate::Launch,
    this: Option<atlas_ports_native::SelfCommand>,
) -> Result<Exit> {
    let inv = Invocation { ws, registry: cli.registry, format: cli.format, launch, this };
    match cli.command {
        Command::Init(a) => init::run(&inv, a),
        Command::Allocate(a) => allocate::allocate(&inv, a),
        Command::Ensure(a) => allocate::ensure(&inv, a),
        Command::Release(a) => release::run(&inv, a),
        Command::Next(a) => query::next(&inv, a),
        Command::Check(a) => query::check(&inv, a),
        Command::List(a) => query::list(&inv, a),
        Command::Env(a) => env::run(&inv, a),
        Command::Status(a) => status::run(&inv, a),
        Command::Conflicts(_) => conflicts::run(&inv),
        Command::Run(a) => run::run(&inv, a),
        Command::Prune(a) => prune::run(&inv, a),
        Command::Ranges(a) => ranges::run(&inv, a),
        Command::Up(a) if a.start => servers::start(&inv, None, a.timeout),
        Command::Up(_) => up::up(&inv),
        Command::Down(a) => up::down(&inv, a),
        Command::Start(a) => servers::start(&inv, a.service, a.timeout),
        Command::Stop(a) => servers::stop(&inv, a),
        Command::Logs(a) => servers::logs(&inv, a),
        Command::Wait(a) => wait::run(&inv, a),
        Command::Checkout(a) => checkout::run(&inv, a),
        #[cfg(feature = "mcp")]
        Command::Mcp(a) => crate::mcp::run(&inv, a),
        #[cfg(not(feature = "mcp"))]
        Command::Mcp(_) => Err(Error::InvalidArgument {
            what: "command",
            value: "mcp".to_owned(),
            reason: "this build of atlas-ports has no MCP server (built without the `mcp` feature)".to_owned(),
        }),
        Command::Hooks(a) => hooks::run(&inv, a),
        Command::Dashboard(a) => dashboard::run(&inv, a),
        Command::Proxy(a) => proxy::run(&inv, a),
        Command::Trust(a) => trust::run(&inv, a, true),
        Command::Untrust(a) => trust::run(&inv, a, false),
        Command::Completions(a) => completions::run(a),
    }
}
