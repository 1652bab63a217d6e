//! The one error type of the core. Every variant has a stable machine code that the bindings
//! map once: the CLI to an exit status and message, Node to `err.code`.

use std::path::PathBuf;

/// Result alias used throughout the core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can make an operation fail. Findings such as conflicts are data, not errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The registry file does not exist.
    #[error("no port registry at {path}")]
    RegistryMissing { path: PathBuf },

    /// `init` found a registry and was not told to overwrite it.
    #[error("a port registry already exists at {path}")]
    RegistryExists { path: PathBuf },

    /// The registry path (or its lock file) is there but cannot serve as one: a folder, a FIFO,
    /// a device, a dangling or untrusted symbolic link, a file past the size bound.
    #[error("cannot use {path} as a port registry: it {reason}")]
    UnusableFile { path: PathBuf, reason: String },

    /// A file of the worktree (the project file, the env file) that cannot serve: its path
    /// leads out of the worktree through a symbolic link, or it is not a regular file of a
    /// sane size.
    #[error("cannot use {path} as the {what}: it {reason}")]
    UnusableWorktreeFile { what: &'static str, path: PathBuf, reason: String },

    /// The registry file is not valid JSON or does not follow the schema.
    #[error("corrupt port registry {path}: {reason}")]
    CorruptRegistry { path: PathBuf, reason: String },

    /// The service is not one of the registry's ranges.
    #[error("unknown service '{service}'; {}", valid_services(valid))]
    UnknownService { service: String, valid: Vec<String> },

    /// Every port of the service's range is allocated or busy, even after the ports of removed
    /// worktrees were reclaimed. `holders` are the worktrees holding ports of the range, each
    /// with its ports, in registry order.
    #[error("{}", exhausted(service, *start, *end, holders, canonical))]
    RangeExhausted {
        service: String,
        start: u16,
        end: u16,
        holders: Vec<(String, Vec<u16>)>,
        /// The canonical ports inside the range, with their service: never allocated.
        canonical: Vec<(u16, String)>,
    },

    /// A port number outside 1–65535 or not a number at all.
    #[error("invalid port '{value}': expected an integer from 1 to 65535")]
    InvalidPort { value: String },

    /// A service name, worktree id, description or range that breaks the input rules.
    #[error("invalid {what} {value:?}: {reason}")]
    InvalidArgument { what: &'static str, value: String, reason: String },

    /// The project file (`atlas-ports.toml`) is missing.
    #[error("no project file at {path}")]
    ProjectFileMissing { path: PathBuf },

    /// The project file is not valid TOML, or declares something it may not.
    #[error("invalid project file {path}, line {line}: {reason}")]
    InvalidProjectFile { path: PathBuf, line: usize, reason: String },

    /// No worktree id was given, and the folder worked in is not inside a git worktree.
    #[error("no worktree given, and {cwd} is not inside a git worktree")]
    NotInWorktree { cwd: PathBuf },

    /// Another process held the registry lock for longer than the bounded wait.
    #[error(
        "timed out after {waited_ms} ms waiting for the registry lock {path}; another atlas-ports process is holding it"
    )]
    LockTimeout { path: PathBuf, waited_ms: u64 },

    /// The filesystem refused an operation.
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The port the named-URL proxy is to listen on is taken; `holder` says by what (a process
    /// with its PID and name, another atlas-ports proxy, or an unknown one).
    #[error("port {port} on 127.0.0.1 is taken by {holder}")]
    PortTaken { port: u16, holder: String },

    /// The system refused something other than a file operation: reading the folder a process
    /// works in, writing to its standard output.
    #[error("cannot {action}: {source}")]
    System {
        action: &'static str,
        #[source]
        source: std::io::Error,
    },
}

/// How many holders an exhausted range's message names before it counts the rest.
const HOLDERS_NAMED: usize = 8;

/// The message of [`Error::RangeExhausted`]: what is full, who holds it, and the ways out.
/// The end of `UnknownService`'s message: the services there are, or that there are none.
fn valid_services(valid: &[String]) -> String {
    if valid.is_empty() {
        "the registry has no service ranges (add one to its \"ranges\")".to_owned()
    } else {
        format!("valid services: {}", valid.join(", "))
    }
}

fn exhausted(
    service: &str,
    start: u16,
    end: u16,
    holders: &[(String, Vec<u16>)],
    canonical: &[(u16, String)],
) -> String {
    let mut text =
        format!("no available port in the '{service}' range ({start}-{end}): every port is allocated or in use");
    if !holders.is_empty() {
        let named: Vec<String> = holders
            .iter()
            .take(HOLDERS_NAMED)
            .map(|(w, ports)| {
                let ports: Vec<String> = ports.iter().map(u16::to_string).collect();
                format!("'{}' ({})", crate::printable(w), ports.join(", "))
            })
            .collect();
        let more = holders.len().saturating_sub(HOLDERS_NAMED);
        let more = if more > 0 { format!(" and {more} more") } else { String::new() };
        text.push_str(&format!("; held by {}{more}", named.join(", ")));
    }
    for (port, of) in canonical {
        text.push_str(&format!("; {port} is the canonical port of '{}'", crate::printable(of)));
    }
    let wider = end.saturating_add(end - start + 1);
    text.push_str(&format!(
        ". `atlas-ports prune` releases the ports of removed worktrees; `atlas-ports ranges set {service} {start}-{wider}` widens the range"
    ));
    text
}

impl Error {
    /// The stable machine code of this error (`ENOENT` for a missing registry, `ERR_…` otherwise).
    pub fn code(&self) -> &'static str {
        match self {
            Error::RegistryMissing { .. } => "ENOENT",
            Error::RegistryExists { .. } => "ERR_REGISTRY_EXISTS",
            Error::CorruptRegistry { .. } => "ERR_CORRUPT_REGISTRY",
            Error::UnusableFile { .. } | Error::UnusableWorktreeFile { .. } => "ERR_UNUSABLE_FILE",
            Error::UnknownService { .. } => "ERR_UNKNOWN_SERVICE",
            Error::RangeExhausted { .. } => "ERR_RANGE_EXHAUSTED",
            Error::InvalidPort { .. } => "ERR_INVALID_PORT",
            Error::InvalidArgument { .. } => "ERR_INVALID_ARGUMENT",
            Error::NotInWorktree { .. } => "ERR_NOT_IN_WORKTREE",
            Error::ProjectFileMissing { .. } => "ERR_NO_PROJECT_FILE",
            Error::InvalidProjectFile { .. } => "ERR_INVALID_PROJECT_FILE",
            Error::LockTimeout { .. } => "ERR_LOCK_TIMEOUT",
            Error::PortTaken { .. } => "ERR_PORT_TAKEN",
            Error::Io { .. } | Error::System { .. } => "ERR_IO",
        }
    }

    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { action, path: path.into(), source }
    }
}
