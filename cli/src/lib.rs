//! The `atlas-ports` command-line program: argument parsing, one module per subcommand, and
//! output. The work is done by `atlas-ports-core` over the host of `atlas-ports-native`.

mod args;
mod commands;
#[cfg(feature = "mcp")]
mod mcp;
mod output;
mod scripts;

use std::ffi::OsString;
use std::path::Path;

/// How `run` starts its command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Launch {
    /// The command replaces this process (exec where the system has it): for the program
    /// itself, and for the npm package's bin, whose process exists only to run it.
    ReplaceProcess,
    /// The command runs as a child and this process goes on: for a host that called the CLI
    /// as a function (`runCli` from a Node script).
    Child,
}

/// Runs the program on `args` (the first being the program name) and returns its exit status:
/// 0 success, 1 the answer is "no", 2 error.
pub fn run(args: Vec<OsString>) -> i32 {
    run_with(args, Launch::ReplaceProcess, None)
}

/// [`run`], with the way `run` starts its command chosen by the caller, and the command that
/// runs this program again (for the background proxy and service files; `None`: this
/// process's executable). The Node addon passes Node and the npm bin's script.
pub fn run_with(args: Vec<OsString>, launch: Launch, this: Option<atlas_ports_native::SelfCommand>) -> i32 {
    let program = args
        .first()
        .and_then(|p| Path::new(p).file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let parsed = if scripts::is_script_form(&program, &args) {
        scripts::parse(&program, &args)
    } else {
        <args::Cli as clap::Parser>::try_parse_from(&args)
    };
    let cli = match parsed {
        Ok(c) => c,
        Err(e) => {
            if e.use_stderr() {
                // Every diagnostic of this program starts `atlas-ports: error: …`, usage ones too.
                output::note(&format!("atlas-ports: {}", e.render().to_string().trim_end()));
            } else {
                let _ = e.print();
            }
            // `--json` is what other tools call it: say what ours is.
            if e.kind() == clap::error::ErrorKind::UnknownArgument && args.iter().any(|a| a == "--json") {
                output::note("tip: for JSON, pass '--format json'");
            }
            return e.exit_code();
        }
    };
    let result = atlas_ports_native::Workspace::from_process().and_then(|ws| {
        if let Some(reference) = ws.ignored_reference_registry(cli.registry.as_deref()) {
            output::note(&format!(
                "atlas-ports: note: {} is not read: .atlas/worktrees/ports.json is the registry (merge or remove the other)",
                ws.display(&reference)
            ));
        }
        commands::execute(cli, &ws, launch, this)
    });
    match result {
        Ok(exit) => exit.code(),
        Err(e) => {
            output::note(&format!("atlas-ports: error: {e}{}", hint(&e)));
            2
        }
    }
}

/// What to do about an error, in this program's words (the core's messages name no flag).
pub(crate) fn hint(e: &atlas_ports_core::Error) -> &'static str {
    use atlas_ports_core::Error;
    match e {
        Error::RegistryMissing { .. } => "; create one with `atlas-ports init`",
        Error::RegistryExists { .. } => "; pass --force to replace it with the defaults",
        Error::NotInWorktree { .. } => "; pass --worktree NAME",
        Error::PortTaken { .. } => {
            "; choose another port with --port, $ATLAS_PORTS_PROXY_PORT or [proxy] port in atlas-ports.toml (0: any free port)"
        }
        Error::ProjectFileMissing { .. } => {
            "; declare the services in atlas-ports.toml at the repository's root (see `atlas-ports up --help`)"
        }
        _ => "",
    }
}
