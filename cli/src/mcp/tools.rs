//! The tools: their schemas and descriptions, parsing a call's arguments (a protocol error when
//! they do not fit the schema), and running it against the registry.

use super::Server;
use atlas_ports_core::report::{HealthReport, ReleaseReport, WorktreeReport};
use atlas_ports_core::{AllocateRequest, Allocation, Error, Result, env_export, names, status};
use atlas_ports_native::{SystemHealthProbe, Workspace, lifecycle, readiness};
use rmcp::ErrorData as McpError;
use rmcp::model::{JsonObject, Tool, ToolAnnotations};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// The longest a `wait_ready` call may wait.
const MAX_WAIT: Duration = Duration::from_secs(600);
const DEFAULT_WAIT_MS: u64 = 60_000;

const ONLY_HERE: &str =
    " Works only on the worktree this server was started in; it never changes another worktree's allocations.";

/// Every tool, as `tools/list` answers.
pub fn list() -> Vec<Tool> {
    let service = json!({ "type": "string", "description": "A service: a key of the registry's ranges (web, api, database, cache, …) or one atlas-ports.toml declares" });
    let worktree_read = json!({ "type": "string", "description": "Another worktree's name (read only); default: this server's worktree" });
    let tool = |name: &'static str, description: String, properties: Value, required: &[&str], a: ToolAnnotations| {
        let schema =
            json!({ "type": "object", "properties": properties, "required": required, "additionalProperties": false });
        let Value::Object(schema) = schema else { unreachable!("a schema is an object") };
        let mut t = Tool::new(name, description, Arc::new(schema as JsonObject));
        t.annotations = Some(a);
        t
    };
    let read = || ToolAnnotations::new().read_only(true).open_world(false);
    let write = |destructive: bool| ToolAnnotations::new().read_only(false).destructive(destructive).open_world(false);
    vec![
        tool(
            "ensure_ports",
            format!("Returns this worktree's port for each service, allocating one only where it holds none (the same port every time; a port a foreign process took is moved). Call before starting a dev server.{ONLY_HERE}"),
            json!({
                "services": { "type": "array", "items": service, "minItems": 1, "description": "The services, e.g. [\"web\", \"api\"]" },
                "description": { "type": "string", "description": "Recorded with a new allocation" }
            }),
            &["services"],
            write(false).idempotent(true),
        ),
        tool(
            "get_ports",
            "All ports of this worktree (or another, read only): { ports: { web: 8080 }, variables: { PORT_WEB: 8080 }, env: \"PORT_WEB=8080\\n\" } as `atlas-ports env` prints them.".to_owned(),
            json!({ "worktree": worktree_read }),
            &[],
            read(),
        ),
        tool(
            "release_ports",
            format!("Releases this worktree's ports: the services given, the port given, or all of them. A port, service or worktree that is another worktree's is refused (a tool error).{ONLY_HERE}"),
            json!({
                "services": { "type": "array", "items": service, "description": "Release these services' ports (default: all of this worktree's)" },
                "port": { "type": "integer", "minimum": 1, "maximum": 65535, "description": "Release this port, which must be this worktree's" },
                "worktree": { "type": "string", "description": "Only this server's own worktree is accepted; any other is refused" }
            }),
            &[],
            write(true),
        ),
        tool(
            "status",
            "Live state of this worktree's ports (listening, whose process), or with all: true of every range and worktree. Read only.".to_owned(),
            json!({ "all": { "type": "boolean", "description": "Every worktree, not only this one" }, "worktree": worktree_read }),
            &[],
            read(),
        ),
        tool(
            "health",
            format!("Probes this worktree's ports at the protocol level (HTTP, PostgreSQL, Redis, TCP) and records the result on its own allocations. For every worktree's live state, use status with all: true.{ONLY_HERE}"),
            json!({}),
            &[],
            write(false).idempotent(true),
        ),
        tool(
            "conflicts",
            "Every worktree's conflicts: duplicate ports, foreign listeners, idle allocations, broken ranges. Read only.".to_owned(),
            json!({}),
            &[],
            read(),
        ),
        tool(
            "resolve_url",
            "The URLs of a worktree's service (this one by default; another by name, read only): url is http://localhost:PORT/; named_url is http://<service>.<worktree>.localhost:<port>/, real (with proxy_running: true) while the proxy runs (`atlas-ports proxy start`, port 1355 by default), else with a <dashboard port> placeholder. get_ports and ensure_ports add urls (service to named URL) while it runs.".to_owned(),
            json!({ "service": service, "worktree": worktree_read }),
            &["service"],
            read(),
        ),
        tool(
            "wait_ready",
            "Waits until a worktree's service is ready: the port it holds listens and answers (an HTTP status below 500, PostgreSQL, Redis, else TCP), at most timeout_ms (default 60000, at most 600000). Answers { ready, reason, port, waited_ms }; ready: false is an answer, not an error. Read only.".to_owned(),
            json!({
                "service": service,
                "timeout_ms": { "type": "integer", "minimum": 0, "maximum": 600_000, "description": "How long to wait, in milliseconds (default 60000)" },
                "worktree": worktree_read
            }),
            &["service"],
            read(),
        ),
        tool(
            "up",
            format!("Ensures a port for every service this worktree's atlas-ports.toml declares and writes its env file (as `atlas-ports up`).{ONLY_HERE}"),
            json!({}),
            &[],
            write(false).idempotent(true),
        ),
        tool(
            "down",
            format!("Stops this worktree's servers (only processes provably its own), releases all of its ports and removes the env file `up` wrote (as `atlas-ports down`).{ONLY_HERE}"),
            json!({}),
            &[],
            write(true),
        ),
        tool(
            "prune",
            "Lists (dry_run, the default) or releases the ports of worktrees that are gone (folder deleted, unknown to git), after stopping their servers: only processes provably theirs (started by atlas-ports, or listening on their ports from inside their deleted folder as this user); anything else is reported in `servers[].left_alone`, never signalled. A live worktree's ports and servers are never touched.".to_owned(),
            json!({ "dry_run": { "type": "boolean", "description": "Only report what would be released (default true)" } }),
            &[],
            write(true),
        ),
    ]
}

/// A call whose arguments fit its tool's schema.
#[derive(Debug)]
pub enum Call {
    Ensure(EnsureArgs),
    GetPorts(WorktreeArg),
    Release(ReleaseArgs),
    Status(StatusArgs),
    Health(NoArgs),
    Conflicts(NoArgs),
    ResolveUrl(ServiceArgs),
    Wait(WaitArgs),
    Up(NoArgs),
    Down(NoArgs),
    Prune(PruneArgs),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoArgs {}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnsureArgs {
    services: Vec<String>,
    #[serde(default)]
    description: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorktreeArg {
    worktree: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseArgs {
    services: Option<Vec<String>>,
    port: Option<u64>,
    worktree: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusArgs {
    #[serde(default)]
    all: bool,
    worktree: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceArgs {
    service: String,
    worktree: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaitArgs {
    service: String,
    timeout_ms: Option<u64>,
    worktree: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PruneArgs {
    dry_run: Option<bool>,
}

impl Call {
    /// The call, or the protocol error of an unknown tool or arguments that do not fit.
    pub fn parse(name: &str, arguments: JsonObject) -> std::result::Result<Call, McpError> {
        fn args<T: for<'de> Deserialize<'de>>(tool: &str, a: JsonObject) -> std::result::Result<T, McpError> {
            serde_json::from_value(Value::Object(a))
                .map_err(|e| McpError::invalid_params(format!("invalid arguments for tool '{tool}': {e}"), None))
        }
        Ok(match name {
            "ensure_ports" => {
                let a: EnsureArgs = args(name, arguments)?;
                if a.services.is_empty() {
                    return Err(McpError::invalid_params(
                        "invalid arguments for tool 'ensure_ports': services is empty",
                        None,
                    ));
                }
                Call::Ensure(a)
            }
            "get_ports" => Call::GetPorts(args(name, arguments)?),
            "release_ports" => {
                let a: ReleaseArgs = args(name, arguments)?;
                if let Some(port) = a.port.filter(|p| !(1..=65535).contains(p)) {
                    return Err(McpError::invalid_params(
                        format!("invalid arguments for tool 'release_ports': port {port} is not from 1 to 65535"),
                        None,
                    ));
                }
                Call::Release(a)
            }
            "status" => Call::Status(args(name, arguments)?),
            "health" => Call::Health(args(name, arguments)?),
            "conflicts" => Call::Conflicts(args(name, arguments)?),
            "resolve_url" => Call::ResolveUrl(args(name, arguments)?),
            "wait_ready" => Call::Wait(args(name, arguments)?),
            "up" => Call::Up(args(name, arguments)?),
            "down" => Call::Down(args(name, arguments)?),
            "prune" => Call::Prune(args(name, arguments)?),
            other => return Err(McpError::invalid_params(format!("unknown tool '{other}'"), None)),
        })
    }

    /// Runs the call (blocking); `cancelled` says the client gave up waiting.
    pub fn run(self, server: &Server, cancelled: &dyn Fn() -> bool) -> Result<Value> {
        let ws = Workspace::at(server.root.clone())?;
        let registry = server.registry.as_deref();
        let ports = ws.ports(registry);
        let here = || ws.worktree_name(&ports, None);
        let probe = SystemHealthProbe::default();
        match self {
            Call::Ensure(a) => {
                let services: Vec<&str> = a.services.iter().map(String::as_str).collect();
                lifecycle::declare_ranges(&ws, &ports, &services)?;
                // Every service is checked before any is ensured: an unknown one changes nothing.
                let known = ports.load()?;
                for service in &a.services {
                    known.range_of(service)?;
                }
                let mut details = Vec::new();
                for service in &a.services {
                    let req = AllocateRequest { description: &a.description, ..ws.request(&ports, service, None)? };
                    details.push(ports.ensure_usable(&req, &probe)?);
                }
                let worktree = details.first().map(|d| d.allocation.worktree.to_string()).unwrap_or_default();
                let by_service: serde_json::Map<String, Value> =
                    details.iter().map(|d| (d.allocation.service.to_string(), json!(d.allocation.port))).collect();
                let mut result = json!({ "worktree": worktree, "ports": by_service, "details": details });
                if let Some(urls) =
                    named_urls(&ws, &ports, &worktree, details.iter().map(|d| d.allocation.service.as_str()))?
                {
                    result["urls"] = urls;
                }
                Ok(result)
            }
            Call::GetPorts(a) => {
                let worktree = match a.worktree {
                    Some(w) => w,
                    None => here()?,
                };
                let allocations = ports.list(Some(&worktree))?;
                let (vars, warnings) = env_export::port_variables(&allocations)?;
                let by_service: serde_json::Map<String, Value> =
                    allocations.iter().map(|a| (a.service.to_string(), json!(a.port))).collect();
                let mut variables = env_export::json(&vars);
                let mut env = env_export::dotenv(&vars);
                let urls = named_urls(&ws, &ports, &worktree, vars.iter().map(|v| v.service.as_str()))?;
                if let Some(Value::Object(urls)) = &urls {
                    for (service, url) in urls {
                        let name = env_export::url_variable_name(service);
                        env.push_str(&format!("{name}={}\n", url.as_str().unwrap_or_default()));
                        variables[name] = url.clone();
                    }
                }
                let mut result = json!({
                    "worktree": worktree,
                    "ports": by_service,
                    "variables": variables,
                    "env": env,
                    "warnings": warnings,
                });
                if let Some(urls) = urls {
                    result["urls"] = urls;
                }
                Ok(result)
            }
            Call::Release(a) => {
                let worktree = here()?;
                if let Some(other) = a.worktree.as_deref().filter(|w| *w != worktree) {
                    return Err(refused(&worktree, &format!("worktree '{other}'")));
                }
                let mine: Vec<Allocation> = ports.list(Some(&worktree))?;
                let mut targets: Vec<u16> = Vec::new();
                if let Some(port) = a.port.and_then(|p| u16::try_from(p).ok()) {
                    if !mine.iter().any(|m| m.port == port) {
                        let holder = ports.list(None)?.into_iter().find(|x| x.port == port);
                        return Err(match holder {
                            Some(h) => refused(&worktree, &format!("port {port} (held by worktree '{}')", h.worktree)),
                            None => Error::InvalidArgument {
                                what: "port",
                                value: port.to_string(),
                                reason: format!("worktree '{worktree}' does not hold it"),
                            },
                        });
                    }
                    targets.push(port);
                }
                for service in a.services.iter().flatten() {
                    match mine.iter().find(|m| m.service.as_str() == service) {
                        Some(m) => targets.push(m.port),
                        None => {
                            ports.load()?.range_of(service)?;
                            return Err(Error::InvalidArgument {
                                what: "service",
                                value: service.clone(),
                                reason: format!("worktree '{worktree}' holds no port for it"),
                            });
                        }
                    }
                }
                let released = if a.port.is_none() && a.services.is_none() {
                    ports.release_worktree(&worktree)?
                } else {
                    let mut released = Vec::new();
                    for port in targets {
                        released.extend(ports.release(port, Some(&worktree))?);
                    }
                    released
                };
                Ok(json!({ "worktree": worktree, "released": ReleaseReport { released }.released }))
            }
            Call::Status(a) => {
                if a.all {
                    let (reg, states) = ports.observe(None, &probe)?;
                    return Ok(serde_json::to_value(status::by_range(&reg, states)).expect("reports serialise"));
                }
                let worktree = match a.worktree {
                    Some(w) => w,
                    None => here()?,
                };
                let states = ports.observe(Some(&worktree), &probe)?.1;
                Ok(serde_json::to_value(WorktreeReport::new(&worktree, states)).expect("reports serialise"))
            }
            Call::Health(NoArgs {}) => {
                let worktree = here()?;
                let health = HealthReport::new(ports.health_check(Some(&worktree), &probe)?);
                Ok(json!({ "worktree": worktree, "health": health }))
            }
            Call::Conflicts(NoArgs {}) => {
                Ok(serde_json::to_value(ports.conflicts(&probe)?).expect("reports serialise"))
            }
            Call::ResolveUrl(a) => {
                let worktree = match a.worktree {
                    Some(w) => w,
                    None => here()?,
                };
                let registry = ports.load()?;
                registry.range_of(&a.service)?;
                let held = registry.held_by(&a.service, &worktree).ok_or_else(|| Error::InvalidArgument {
                    what: "service",
                    value: a.service.clone(),
                    reason: format!("worktree '{worktree}' holds no port for it (ensure_ports allocates one)"),
                })?;
                let running = atlas_ports_native::proxy::named_urls(&ws, ports.registry_path())?.0;
                Ok(url_report(held, running))
            }
            Call::Wait(a) => {
                let timeout = Duration::from_millis(a.timeout_ms.unwrap_or(DEFAULT_WAIT_MS)).min(MAX_WAIT);
                let r = readiness::wait(&ws, registry, &a.service, a.worktree.as_deref(), timeout, cancelled)?;
                Ok(serde_json::to_value(r).expect("reports serialise"))
            }
            Call::Up(NoArgs {}) => {
                Ok(serde_json::to_value(lifecycle::up(&ws, registry)?.0).expect("reports serialise"))
            }
            Call::Down(NoArgs {}) => {
                let grace = Duration::from_secs(5);
                Ok(serde_json::to_value(lifecycle::down_stopping(&ws, registry, grace)?).expect("reports serialise"))
            }
            Call::Prune(a) => {
                let dry_run = a.dry_run.unwrap_or(true);
                let grace = Duration::from_secs(5);
                let report = lifecycle::prune_stopping(&ws, registry, grace, dry_run)?;
                Ok(serde_json::to_value(report).expect("reports serialise"))
            }
        }
    }
}

/// The refusal of a change aimed at another worktree.
fn refused(worktree: &str, what: &str) -> Error {
    Error::InvalidArgument {
        what: "release_ports",
        value: what.to_owned(),
        reason: format!(
            "this server works for worktree '{worktree}' and never releases or changes another worktree's allocations"
        ),
    }
}

/// `{service: named URL}` of a worktree's services while a proxy for the registry runs.
fn named_urls<'a>(
    ws: &Workspace,
    ports: &atlas_ports_core::Ports<'_>,
    worktree: &str,
    services: impl IntoIterator<Item = &'a str>,
) -> Result<Option<Value>> {
    let Some(named) = atlas_ports_native::proxy::named_urls(ws, ports.registry_path())?.0 else { return Ok(None) };
    Ok(Some(Value::Object(services.into_iter().map(|s| (s.to_owned(), json!(named.url(s, worktree)))).collect())))
}

/// A service's URLs: the port's, and the named one behind the dashboard (whose port is chosen
/// when it starts), the real one while a proxy for the registry runs.
fn url_report(a: &Allocation, running: Option<atlas_ports_core::proxy::NamedUrls>) -> Value {
    let host = format!("{}.{}.localhost", names::host_label(&a.service), names::host_label(&a.worktree));
    if let Some(named) = running {
        return json!({
            "worktree": a.worktree,
            "service": a.service,
            "port": a.port,
            "url": format!("http://localhost:{}/", a.port),
            "named_host": host,
            "named_url": format!("{}/", named.url(&a.service, &a.worktree)),
            "proxy_running": true,
        });
    }
    json!({
        "worktree": a.worktree,
        "service": a.service,
        "port": a.port,
        "url": format!("http://localhost:{}/", a.port),
        "named_host": host,
        "named_url": format!("http://{host}:<dashboard port>/"),
        "note": "named_url works while `atlas-ports dashboard` runs; its port is the dashboard's, chosen when it starts (or fixed with --port)",
    })
}
