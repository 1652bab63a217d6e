//! The `atlas-ports` command line: subcommands, their flags and their help texts.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Appended to every `--help`.
pub const EXIT_STATUS: &str = "\
Exit status:
  0  success
  1  the answer is \"no\": the port was not allocated (release), is not available (check),
     the range has no free port (next), or the service was not ready in time (wait)
  2  error: bad input, missing or corrupt registry, lock timeout";

const ABOUT: &str = "Per-worktree port allocation for repositories checked out in many git worktrees.

The registry is found from --registry, then $ATLAS_PORTS_REGISTRY, then
.atlas/worktrees/ports.json in the main worktree of the git repository around the current
folder. The worktree defaults to the current git worktree's folder name.

The reference design's port_allocate.py and port_status.py flags work too, with only the
program name replaced:
  atlas-ports --service web --worktree review-GH-42 [--description D] [--quiet]
  atlas-ports --release 8080 [--worktree W]
  atlas-ports --find-next web
  atlas-ports --all | --worktree W [--format json] | --check-conflicts
  atlas-ports --health-check [--worktree W] [--verbose]
(and the same flags when the program is called port_allocate or port_status).";

#[derive(Debug, Parser)]
#[command(name = "atlas-ports", version, about = ABOUT, after_help = EXIT_STATUS, disable_help_subcommand = true)]
pub struct Cli {
    /// Registry file [default: $ATLAS_PORTS_REGISTRY, else .atlas/worktrees/ports.json in the main worktree]
    #[arg(long, global = true, value_name = "PATH")]
    pub registry: Option<PathBuf>,
    /// Output format: text or json (env: dotenv, sh or json)
    #[arg(long, global = true, value_enum, value_name = "FORMAT")]
    pub format: Option<OutputFormat>,
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

    /// Print a worktree's ports as environment variables (PORT_WEB=8080 …)
    #[command(after_help = concat!(
        "Examples:\n  atlas-ports env > .env.ports && docker compose --env-file .env.ports up\n",
        "  eval \"$(atlas-ports env --format sh)\"\n\n",
        "The name is PORT_ and the service upper-cased, every character other than A-Z and 0-9 as _.\n",
        "Exit status: 0, or 2 on error"
    ))]
    Env(EnvArgs),

    /// Show allocations with their live state; --health-check also stores it in the registry
    #[command(after_help = concat!(
        "Examples:\n  atlas-ports status --all\n  atlas-ports status --worktree review-GH-42 --format json\n",
        "  atlas-ports status --health-check --worktree review-GH-42 --verbose\n",
        "  atlas-ports status --watch                  # redraws when anything changes; Ctrl+C stops\n\n",
        "Probes: web, api and testing get an HTTP GET of / (or the range's \"health_path\"), database\n",
        "the PostgreSQL SSL request (a MySQL greeting counts too), cache a Redis PING, others a TCP\n",
        "connect. A range's \"probe\" member (http, database, redis, tcp) overrides the choice.\n",
        "Exit status: 0 (also when --watch is stopped with Ctrl+C); with --health-check, 1 when any\n",
        "checked port is not healthy; 2 on error"
    ))]
    Status(StatusArgs),

    /// Report conflicts: duplicate ports, foreign listeners, idle allocations, broken ranges
    #[command(after_help = concat!(
        "Examples:\n  atlas-ports conflicts\n  atlas-ports conflicts --format json\n\n",
        "Exit status: 0 no conflicts (idle allocations alone are not one), 1 conflicts or registry\n",
        "problems found, 2 on error"
    ))]
    Conflicts(ConflictsArgs),

    /// Ensure ports for services, then run a command with PORT and PORT_<SERVICE> set
    #[command(after_help = concat!(
        "Examples:\n  atlas-ports run --service web -- next dev -p {port}\n",
        "  atlas-ports run --service web --service api -- ./serve --web {port:web} --api {port:api}\n\n",
        "{port} is the first service's port, {port:SERVICE} a named one's. PORT is the first port.\n",
        "On Unix the command replaces atlas-ports (exec), so it receives every signal directly.\n",
        "Exit status: the command's own; 2 if a port could not be ensured; 126 if the command\n",
        "cannot be run, 127 if it is not found"
    ))]
    Run(RunArgs),

    /// Release the ports of worktrees that are gone (folder deleted, unknown to git, port idle)
    #[command(after_help = concat!(
        "Examples:\n  atlas-ports prune --dry-run\n  atlas-ports prune\n\n",
        "An allocation is released only when its worktree's folder is gone, git no longer lists\n",
        "the worktree (by folder or name), and nothing listens on the port. Allocations made under\n",
        "an explicit --worktree name from elsewhere record no folder and are never pruned.\n",
        "Exit status: 0 (also when nothing was stale), 2 on error"
    ))]
    Prune(PruneArgs),

    /// List the registry's service ranges, or add, change or remove one
    #[command(after_help = concat!(
        "Examples:\n  atlas-ports ranges\n  atlas-ports ranges add admin 8100-8119 --description \"Admin UI\"\n",
        "  atlas-ports ranges set web 8080-8119          # widen a full range\n",
        "  atlas-ports ranges remove admin\n\n",
        "A range may not overlap another, nor give a second service the same PORT_<SERVICE>\n",
        "variable. set is refused while one of the service's allocations would fall outside the new\n",
        "range, remove while the service holds allocations. The registry keeps its format; a refused\n",
        "change leaves it byte for byte as it was. A repository can declare its own ranges in\n",
        "atlas-ports.toml instead ([services.admin] range = \"8100-8119\").\n",
        "Exit status: 0 listed or changed, 2 on error (bad range, overlap, unknown service,\n",
        "allocations in the way, missing registry)"
    ))]
    Ranges(RangesArgs),

    /// Ensure a port for every service of atlas-ports.toml and write the worktree's env file
    #[command(after_help = concat!(
        "Example (atlas-ports.toml at the repository root):\n",
        "  [services.web]\n  [services.database]\n  [env]\n  DATABASE_URL = \"postgres://localhost:{port:database}/app\"\n\n",
        "  atlas-ports up && docker compose --env-file .env.ports up -d\n\n",
        "The env file (default .env.ports) gets PORT_<SERVICE> for every service, then the [env]\n",
        "variables; it is written only when it changes. A second run writes nothing.\n",
        "With --start, also starts the declared commands, as `atlas-ports start` does.\n",
        "Exit status: 0, 1 with --start when a service was not ready in time, or 2 on error\n",
        "(no or invalid atlas-ports.toml, a service without a range)"
    ))]
    Up(UpArgs),

    /// Stop this worktree's servers, release its ports and remove the env file `up` wrote
    #[command(after_help = concat!(
        "Example:\n  atlas-ports down\n\n",
        "Servers are stopped as `atlas-ports stop` stops them. An env file that `up` did not write\n",
        "is left alone.\nExit status: 0, or 2 on error"
    ))]
    Down(DownArgs),

    /// Start the commands atlas-ports.toml declares for this worktree, in the background
    #[command(after_help = concat!(
        "Example (atlas-ports.toml):\n",
        "  [services.web]\n  command = \"npm run dev -- --port {port}\"\n  ready = \"/\"\n\n",
        "  atlas-ports start\n  atlas-ports start --service web --timeout 2m\n\n",
        "Ensures the worktree's ports and env file first (as `up`). Each command runs with sh -c\n",
        "(cmd /C on Windows) in a session of its own, with the env file's variables and PORT in its\n",
        "environment and its output appended to a log file beside the registry (`atlas-ports logs`).\n",
        "What was started is recorded before the wait, so `stop` finds it even if this command is\n",
        "killed. A service already running is left alone.\n",
        "Exit status: 0 every service ready, 1 one was not ready in time or its command ended,\n",
        "2 on error"
    ))]
    Start(StartArgs),

    /// Stop this worktree's servers; its ports stay allocated
    #[command(after_help = concat!(
        "Examples:\n  atlas-ports stop\n  atlas-ports stop --service web --grace 10s\n\n",
        "Stops the processes `start` started (only while the recorded PID still has the recorded\n",
        "start time), with their process groups, and the processes listening on this worktree's\n",
        "ports from inside its folder as this user: SIGTERM, --grace (default 5s), then SIGKILL.\n",
        "Any other process on the worktree's ports is never signalled: it is listed with its PID,\n",
        "user and folder.\nExit status: 0, or 2 on error"
    ))]
    Stop(StopArgs),

    /// Show the logs of the servers `start` started in this worktree
    #[command(after_help = concat!(
        "Examples:\n  atlas-ports logs\n  atlas-ports logs --service web --follow\n\n",
        "Exit status: 0, or 2 on error (no log for the service)"
    ))]
    Logs(LogsArgs),

    /// Wait until a worktree's service is ready: its port listens and its protocol answers
    #[command(after_help = concat!(
        "Examples:\n  atlas-ports wait --service web --timeout 60s && open http://localhost:$(atlas-ports ensure -s web -q)\n",
        "  npm run dev & atlas-ports wait -s web && npx playwright test\n\n",
        "The port is the one the worktree holds for the service (a worktree that holds none yet is\n",
        "not ready). Ready means the port listens and the service answers as status --health-check\n",
        "asks it, except that any HTTP status below 500 counts (a 404 at / is a server that is up;\n",
        "a 503 while it warms up is not). It asks every 0.2 s.\n",
        "Exit status: 0 ready, 1 not ready when --timeout passed (the last reason on stderr),\n",
        "2 on error (unknown service, no worktree, unreadable registry, bad --timeout)"
    ))]
    Wait(WaitArgs),

    /// Forward a service's canonical port (`canonical` in atlas-ports.toml) to this worktree
    #[command(after_help = concat!(
        "Examples:\n  atlas-ports checkout web              # http://localhost:3000 now reaches this worktree's web\n",
        "  atlas-ports checkout web --worktree pr-42\n",
        "  atlas-ports checkout --list           # who holds each canonical port\n",
        "  atlas-ports checkout --release        # give back this worktree's canonical ports\n\n",
        "One worktree at a time holds a canonical port: checking it out moves it from the worktree\n",
        "that held it. A running atlas-ports server (the background proxy or `atlas-ports dashboard`)\n",
        "forwards it, as raw TCP, to the port the worktree holds for the service; when none runs,\n",
        "checkout starts the background proxy (`atlas-ports proxy start`) unless --no-start.\n",
        "A process that is not atlas-ports listening on the canonical port is named and left alone,\n",
        "and nothing is recorded.\n",
        "Exit status: 0 forwarding (or released, listed), 1 recorded but nothing forwards it yet\n",
        "(--no-start and no server runs, the proxy could not start, its port taken or else, or the\n",
        "server could not take the canonical port within 3 s, 9 s after starting the proxy), 2 on error\n",
        "(an undeclared service, no canonical port, no port allocated, the canonical port allocated to\n",
        "a worktree, a foreign listener, a bad file)"
    ))]
    Checkout(CheckoutArgs),

    /// Serve the worktree's ports to coding agents over the Model Context Protocol (stdio)
    #[command(after_help = concat!(
        "Examples:\n  atlas-ports mcp                          # what an agent tool starts\n",
        "  atlas-ports mcp --print-config claude    # the .mcp.json to commit\n",
        "  atlas-ports mcp --print-config codex     # for ~/.codex/config.toml\n\n",
        "The server works for the worktree it was started in (or --worktree-path): its tools ensure,\n",
        "list, release and wait for that worktree's ports, read every worktree's status, and never\n",
        "change another worktree's allocations. See docs/agents.md.\n",
        "Exit status: 0 when the client closes the connection, 2 on error"
    ))]
    Mcp(McpArgs),

    /// Install or remove the git hook that runs `up` in every new worktree
    #[command(after_help = concat!(
        "Examples:\n  atlas-ports hooks install\n  atlas-ports hooks uninstall\n\n",
        "install adds a block to the post-checkout hook (core.hooksPath is honoured; an existing hook\n",
        "keeps running) that runs `atlas-ports up` when `git worktree add` checks out a new worktree,\n",
        "and nothing on a branch switch. A failing `up` warns; it never fails the checkout.\n",
        "With husky or lefthook, add this line to their post-checkout hook instead:\n",
        "  atlas-ports hooks run \"$@\"\n",
        "A hook that cannot be read, is binary or not UTF-8, is a symbolic link, is not a shell\n",
        "script or is written by husky, lefthook or pre-commit is left as it is (exit status 2),\n",
        "with the line to add by hand.\n",
        "Exit status: 0, or 2 on error or a hook left as it is"
    ))]
    Hooks(HooksArgs),

    /// Serve a live web page of every worktree's ports, and each service at a name
    #[command(after_help = concat!(
        "Examples:\n  atlas-ports dashboard\n  atlas-ports dashboard --port 4100 --open\n  atlas-ports proxy start        # the same server in the background\n\n",
        "The page (http://127.0.0.1:PORT/) lists every worktree's services with their live state and\n",
        "the conflicts, updated every second, and can release ports, prune and run a health check.\n",
        "The same server routes http://<service>.<worktree>.localhost:PORT/ to that worktree's port\n",
        "(HTTP, streaming and WebSocket). It listens on 127.0.0.1 only. Ctrl+C or q stops it.\n",
        "A service that takes longer than --proxy-timeout to answer gets the browser a 504.\n",
        "Exit status: 0 stopped, 2 the port is taken, a flag is invalid or the registry cannot be read"
    ))]
    Dashboard(DashboardArgs),

    /// Run the named-URL proxy (the dashboard's server) in the background: start, stop, status
    #[command(after_help = concat!(
        "Examples:\n  atlas-ports proxy start\n  atlas-ports proxy status --format json\n  atlas-ports proxy stop\n",
        "  atlas-ports proxy service systemd --install\n\n",
        "The proxy serves http://<service>.<worktree>.localhost:PORT/ (and the dashboard) on a stable\n",
        "port: --port, else $ATLAS_PORTS_PROXY_PORT, else [proxy] port in atlas-ports.toml, else 1355.\n",
        "It records itself in proxy.json beside the registry and logs to proxy.log there. While it\n",
        "runs, env, run and up hand out URL_<SERVICE> beside PORT_<SERVICE>.\n",
        "Exit status: 0 done (start: running, already or now; stop: stopped or not running),\n",
        "1 not running (status) or the proxy did not start (start, with its log's last lines),\n",
        "2 the port is taken (the holder named), bad input or an unusable registry"
    ))]
    Proxy(ProxyArgs),

    /// Trust the local CA behind https named URLs: in the system store and the browsers'
    #[command(after_help = concat!(
        "Examples:\n  atlas-ports trust\n  sudo atlas-ports trust     # the system store too\n",
        "  atlas-ports trust --store nss   # only Chromium's and Firefox's NSS databases\n\n",
        "Creates the local CA when missing ($ATLAS_PORTS_HOME/ca, else the user's data folder) and\n",
        "installs its certificate in Debian/Ubuntu's CA store (as root), the NSS databases of\n",
        "Chromium and Firefox (certutil, from libnss3-tools), the macOS login keychain or the\n",
        "Windows user Root store. One line per store: trusted, already trusted, or skipped and why.\n",
        "Exit status: 0 done (skipped stores included), 1 a store failed, 2 on error (an unusable\n",
        "CA file, a build without TLS)"
    ))]
    Trust(TrustArgs),

    /// Remove the local CA from every store `trust` put it in
    #[command(after_help = concat!(
        "Examples:\n  atlas-ports untrust\n\n",
        "Removes exactly this CA (by its fingerprint) from each store, and says what it removed.\n",
        "The CA's files stay; remove the folder to make a new CA.\n",
        "Exit status: 0 done, 1 a store failed, 2 on error"
    ))]
    Untrust(TrustArgs),

    /// Print a shell completion script
    #[command(after_help = concat!(
        "Examples:\n  atlas-ports completions bash > ~/.local/share/bash-completion/completions/atlas-ports\n",
        "  atlas-ports completions zsh > \"${fpath[1]}/_atlas-ports\"\n",
        "  atlas-ports completions fish > ~/.config/fish/completions/atlas-ports.fish\n\n",
        "Exit status: 0"
    ))]
    Completions(CompletionsArgs),
}

/// How data is printed: `text` or `json`; `env` prints `dotenv` (its default), `sh` or `json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
    /// `NAME=port` lines (env only)
    Dotenv,
    /// `export NAME='port'` lines (env only)
    Sh,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Replace an existing registry with the defaults (its allocations are lost)
    #[arg(long)]
    pub force: bool,
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
}

#[derive(Debug, Args, Clone)]
pub struct NextArgs {
    /// Service type
    pub service: String,
}

#[derive(Debug, Args, Clone)]
pub struct CheckArgs {
    /// Port to check
    #[arg(value_parser = parse_port, allow_hyphen_values = true)]
    pub port: u16,
}

#[derive(Debug, Args, Clone)]
pub struct ListArgs {
    /// Worktree id [default: the current git worktree's folder name]
    #[arg(long, short, value_name = "WORKTREE")]
    pub worktree: Option<String>,
    /// List every worktree's allocations
    #[arg(long, conflicts_with = "worktree")]
    pub all: bool,
}

#[derive(Debug, Args, Clone, Default)]
pub struct StatusArgs {
    /// Every range and allocation (the default)
    #[arg(long, conflicts_with = "worktree")]
    pub all: bool,
    /// One worktree's ports, as a table
    #[arg(long, short, value_name = "WORKTREE")]
    pub worktree: Option<String>,
    /// Probe every port at all levels and store health_status and process_id in the registry
    #[arg(long)]
    pub health_check: bool,
    /// With --health-check: say how ownership of every listener was decided
    #[arg(long, short)]
    pub verbose: bool,
    /// Redraw the report every --interval until Ctrl+C, only when it changed (the terminal
    /// twin of the dashboard; with --format json, one line of JSON per change)
    #[arg(long, conflicts_with = "health_check")]
    pub watch: bool,
    /// With --watch: seconds between looks (0.1 to 3600)
    #[arg(long, value_name = "SECONDS", default_value_t = 2.0, requires = "watch")]
    pub interval: f64,
    /// Print the reports as the reference design's port_status.py does (its flag form sets it)
    #[arg(skip)]
    pub reference: bool,
}

#[derive(Debug, Args, Clone, Default)]
pub struct ConflictsArgs {}

#[derive(Debug, Args, Clone, Default)]
pub struct DashboardArgs {
    /// Port to listen on (127.0.0.1) [default: $ATLAS_PORTS_PROXY_PORT, else [proxy] port in
    /// atlas-ports.toml, else 1355]; 0 takes any free port
    #[arg(long, short, value_name = "PORT")]
    pub port: Option<u16>,
    /// Open the page in the default browser
    #[arg(long)]
    pub open: bool,
    /// Seconds a proxied service may take to answer a named-URL request (its status and
    /// headers) before the browser gets 504
    #[arg(long, value_name = "SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub proxy_timeout: u64,
}

#[derive(Debug, Args, Clone, Default)]
pub struct TrustArgs {
    /// Only these kinds of store (repeat for several) [default: every kind]
    #[arg(long, value_enum, value_name = "STORE")]
    pub store: Vec<TrustStore>,
}

/// The kinds of store `trust` and `untrust` know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TrustStore {
    /// Debian/Ubuntu's system CA store (root only)
    System,
    /// The NSS databases of Chromium and Firefox (certutil)
    Nss,
    /// macOS's login keychain
    Keychain,
    /// The Windows user Root store
    Windows,
}

#[derive(Debug, Args, Clone)]
pub struct EnvArgs {
    /// Worktree id [default: the current git worktree's folder name]
    #[arg(long, short, value_name = "WORKTREE")]
    pub worktree: Option<String>,
}

#[derive(Debug, Args, Clone)]
pub struct RunArgs {
    /// Service to ensure a port for (repeat for several; the first is PORT and {port})
    #[arg(long, short, value_name = "SERVICE", required = true)]
    pub service: Vec<String>,
    /// Worktree id [default: the current git worktree's folder name]
    #[arg(long, short, value_name = "WORKTREE")]
    pub worktree: Option<String>,
    /// Description recorded when a port is allocated
    #[arg(long, short, value_name = "TEXT", default_value = "")]
    pub description: String,
    /// Do not print the ports to stderr before running
    #[arg(long, short)]
    pub quiet: bool,
    /// The command and its arguments, after `--`
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<std::ffi::OsString>,
}

#[derive(Debug, Args, Clone)]
pub struct WaitArgs {
    /// The service to wait for
    #[arg(long, short, value_name = "SERVICE")]
    pub service: String,
    /// Worktree id [default: the current git worktree's folder name]
    #[arg(long, short, value_name = "WORKTREE")]
    pub worktree: Option<String>,
    /// How long to wait: 60s, 500ms, 2m, or seconds
    #[arg(long, short, value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
    pub timeout: std::time::Duration,
}

#[derive(Debug, Args, Clone)]
pub struct McpArgs {
    /// The worktree the server works for [default: the folder it is started in]
    #[arg(long, value_name = "PATH")]
    pub worktree_path: Option<PathBuf>,
    /// Print the configuration of an agent tool instead of serving, and exit
    #[arg(long, value_enum, value_name = "TOOL")]
    pub print_config: Option<AgentTool>,
}

/// The agent tools `mcp --print-config` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AgentTool {
    /// Claude Code's .mcp.json
    Claude,
    /// The Claude Code SessionStart hook (.claude/settings.json) that exports the ports
    ClaudeHook,
    /// Codex's ~/.codex/config.toml
    Codex,
    /// Cursor's .cursor/mcp.json
    Cursor,
    /// A paragraph for AGENTS.md (or CLAUDE.md)
    AgentsMd,
}

fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    atlas_ports_native::readiness::parse_duration(text)
}

#[derive(Debug, Args, Clone)]
pub struct PruneArgs {
    /// Show what would be stopped and released, change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// How long a server of a gone worktree is given to end after SIGTERM, before SIGKILL
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    pub grace: std::time::Duration,
}

#[derive(Debug, Args, Clone)]
pub struct StartArgs {
    /// Start this service only (it must declare a command)
    #[arg(long, short, value_name = "SERVICE")]
    pub service: Option<String>,
    /// How long to wait for the services to be ready: 60s, 500ms, 2m, or seconds
    #[arg(long, short, value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
    pub timeout: std::time::Duration,
}

#[derive(Debug, Args, Clone)]
pub struct StopArgs {
    /// Stop this service's processes only
    #[arg(long, short, value_name = "SERVICE")]
    pub service: Option<String>,
    /// How long a process is given to end after SIGTERM, before SIGKILL
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    pub grace: std::time::Duration,
}

#[derive(Debug, Args, Clone)]
pub struct LogsArgs {
    /// This service's log only
    #[arg(long, short, value_name = "SERVICE")]
    pub service: Option<String>,
    /// Keep printing what is appended, until interrupted
    #[arg(long, short)]
    pub follow: bool,
}

#[derive(Debug, Args, Clone)]
pub struct RangesArgs {
    #[command(subcommand)]
    pub action: Option<RangesAction>,
}

#[derive(Debug, Subcommand, Clone)]
pub enum RangesAction {
    /// List every range with how many of its ports are allocated (the default)
    List,
    /// Add a range for a service that has none
    Add {
        /// The service (a new key of the registry's ranges)
        service: String,
        /// START-END, both included (e.g. 8100-8119)
        #[arg(allow_hyphen_values = true)]
        range: String,
        /// What the service is
        #[arg(long, short, value_name = "TEXT")]
        description: Option<String>,
    },
    /// Change (widen, move) a service's range
    Set {
        /// The service
        service: String,
        /// START-END, both included
        #[arg(allow_hyphen_values = true)]
        range: String,
        /// A new description
        #[arg(long, short, value_name = "TEXT")]
        description: Option<String>,
    },
    /// Remove a service's range (refused while it holds allocations)
    Remove {
        /// The service
        service: String,
    },
}

#[derive(Debug, Args, Clone)]
pub struct UpArgs {
    /// Also start the declared commands (as `atlas-ports start`)
    #[arg(long)]
    pub start: bool,
    /// With --start: how long to wait for the services to be ready
    #[arg(long, short, value_name = "DURATION", default_value = "60s", value_parser = parse_duration, requires = "start")]
    pub timeout: std::time::Duration,
}

#[derive(Debug, Args, Clone)]
pub struct DownArgs {
    /// How long a server is given to end after SIGTERM, before SIGKILL
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    pub grace: std::time::Duration,
}

#[derive(Debug, Args, Clone)]
pub struct HooksArgs {
    #[command(subcommand)]
    pub action: HooksAction,
}

#[derive(Debug, Subcommand, Clone)]
pub enum HooksAction {
    /// Add the block to the repository's post-checkout hook
    Install,
    /// Remove the block (and the hook file, when it held nothing else)
    Uninstall,
    /// What the hook runs: `up` when the checkout is a new worktree's (post-checkout's arguments)
    Run {
        /// post-checkout's arguments: previous HEAD, new HEAD, 1 for a branch checkout
        args: Vec<String>,
    },
}

#[derive(Debug, Args, Clone)]
pub struct ProxyArgs {
    #[command(subcommand)]
    pub action: ProxyAction,
}

#[derive(Debug, Subcommand, Clone)]
pub enum ProxyAction {
    /// Start the proxy in the background, unless it runs already (then say where)
    Start {
        /// Port to listen on [default: $ATLAS_PORTS_PROXY_PORT, else [proxy] port, else 1355]
        #[arg(long, short, value_name = "PORT")]
        port: Option<u16>,
        /// Seconds a proxied service may take to answer before the browser gets 504
        #[arg(long, value_name = "SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400))]
        proxy_timeout: u64,
    },
    /// Stop the background proxy (only the process its record proves is the proxy)
    Stop {
        /// How long the proxy is given to end after SIGTERM, before SIGKILL
        #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
        grace: std::time::Duration,
    },
    /// Whether the proxy runs: its PID, port, URLs, uptime and log (exit 1 when not)
    Status,
    /// Print (or --install) a user-level service file that keeps the proxy running
    Service {
        /// The service manager
        #[arg(value_enum)]
        kind: ServiceManager,
        /// Write it where the manager looks and print the command that enables it
        #[arg(long)]
        install: bool,
        /// Port to listen on [default: $ATLAS_PORTS_PROXY_PORT, else [proxy] port, else 1355]
        #[arg(long, short, value_name = "PORT")]
        port: Option<u16>,
    },
}

/// The service managers `proxy service` writes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ServiceManager {
    /// A systemd user unit (~/.config/systemd/user/atlas-ports-proxy.service)
    Systemd,
    /// A launchd agent (~/Library/LaunchAgents/dev.atlas-ports.proxy.plist)
    Launchd,
}

#[derive(Debug, Args, Clone)]
pub struct CompletionsArgs {
    /// The shell
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Port arguments follow the core's rule and message.
pub fn parse_port(text: &str) -> Result<u16, String> {
    atlas_ports_core::validate::parse_port(text).map_err(|e| e.to_string())
}

#[derive(Debug, Args, Clone)]
pub struct CheckoutArgs {
    /// The service whose canonical port to check out (with --release: only that one)
    #[arg(value_name = "SERVICE", required_unless_present_any = ["release", "list"])]
    pub service: Option<String>,
    /// Worktree id [default: the current git worktree]
    #[arg(long, short, value_name = "WORKTREE")]
    pub worktree: Option<String>,
    /// Give back the canonical ports this worktree holds (only SERVICE's when given)
    #[arg(long, conflicts_with = "list")]
    pub release: bool,
    /// List who holds each canonical port
    #[arg(long, conflicts_with_all = ["release", "service", "worktree"])]
    pub list: bool,
    /// Only record the checkout: do not start the background proxy when no atlas-ports server
    /// runs for the registry
    #[arg(long, conflicts_with_all = ["release", "list"])]
    pub no_start: bool,
}
