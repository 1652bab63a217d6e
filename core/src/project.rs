//! The project file, `atlas-ports.toml` at a repository's root: the services every worktree of
//! the project needs, the env file `up` writes for them, and extra variables templated from
//! their ports. Parsing, validation and the env file's text; no I/O.
//!
//! ```toml
//! env_file = ".env.ports"            # the default
//! [services.web]
//! description = "Frontend dev server"
//! [services.database]
//! [services.admin]                   # a service of this repository's own: its range is
//! range = "8100-8119"                # added to the registry on first use
//! health_path = "/healthz"
//! command = "npm run admin -- --port {port}"   # what `atlas-ports start` runs
//! cwd = "admin"                      # its working folder, inside the worktree
//! ready = "/health"                  # the path that answers once it is up
//! [env]
//! DATABASE_URL = "postgres://localhost:{port:database}/app"
//! ```

use crate::env_export::variable_name;
use crate::error::{Error, Result};
use crate::registry::{PortRange, Registry};
use indexmap::IndexMap;
use serde::Deserialize;
use std::ops::Range;
use std::path::{Component, Path, PathBuf};

/// The file's name at a repository's root.
pub const PROJECT_FILE: &str = "atlas-ports.toml";
/// The env file written when the project file names none.
pub const DEFAULT_ENV_FILE: &str = ".env.ports";
/// The most services, and the most `[env]` variables, a project file may declare: far past any
/// real project, and a bound on the work a hostile file can ask for.
pub const MAX_DECLARED: usize = 1024;
/// The first line of every env file `up` writes: `down` removes only files that start with it.
pub const ENV_FILE_MARK: &str = "# Written by `atlas-ports up` from atlas-ports.toml; `atlas-ports down` removes it.";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProject {
    env_file: Option<toml::Spanned<String>>,
    #[serde(default)]
    services: IndexMap<toml::Spanned<String>, toml::Spanned<RawService>>,
    #[serde(default)]
    env: IndexMap<toml::Spanned<String>, toml::Spanned<String>>,
    proxy: Option<toml::Spanned<RawProxy>>,
}

/// `[proxy]`: how named URLs are served for this repository.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawProxy {
    port: Option<toml::Spanned<i64>>,
    https: Option<bool>,
}

/// The `[proxy]` table alone, for readers that need nothing else (any other key is someone
/// else's to check).
#[derive(Deserialize)]
struct ProxyOnly {
    proxy: Option<toml::Spanned<RawProxy>>,
}

/// What `[proxy]` says: the port named URLs live on and their scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProxySettings {
    /// `port = N` (1–65535), when given.
    pub port: Option<u16>,
    /// `https = true`: named URLs are handed out as `https://`.
    pub https: bool,
}

impl ProxySettings {
    /// The `[proxy]` table of the project file at `path` (named in errors), checked; the rest
    /// of the file is not looked at, so a file with only `[proxy]` is fine here.
    pub fn parse(path: &Path, text: &str) -> Result<ProxySettings> {
        let invalid = |span: Option<Range<usize>>, reason: String| Error::InvalidProjectFile {
            path: path.to_owned(),
            line: span.map_or(1, |s| line_of(text, s.start)),
            reason,
        };
        let raw: ProxyOnly = toml::from_str(text).map_err(|e| invalid(e.span(), first_line(e.message())))?;
        ProxySettings::checked(raw.proxy.as_ref(), &invalid)
    }

    fn checked(
        raw: Option<&toml::Spanned<RawProxy>>,
        invalid: &dyn Fn(Option<Range<usize>>, String) -> Error,
    ) -> Result<ProxySettings> {
        let Some(raw) = raw else { return Ok(ProxySettings::default()) };
        let port = match &raw.get_ref().port {
            None => None,
            Some(p) => Some(u16::try_from(*p.get_ref()).ok().filter(|&n| n != 0).ok_or_else(|| {
                invalid(Some(p.span()), format!("[proxy] port {} is not a port number from 1 to 65535", p.get_ref()))
            })?),
        };
        Ok(ProxySettings { port, https: raw.get_ref().https.unwrap_or(false) })
    }

    /// The scheme named URLs are handed out with.
    pub fn scheme(&self) -> crate::proxy::Scheme {
        if self.https { crate::proxy::Scheme::Https } else { crate::proxy::Scheme::Http }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawService {
    description: Option<String>,
    vite: Option<bool>,
    range: Option<toml::Spanned<String>>,
    health_path: Option<toml::Spanned<String>>,
    probe: Option<toml::Spanned<String>>,
    command: Option<toml::Spanned<String>>,
    cwd: Option<toml::Spanned<String>>,
    ready: Option<toml::Spanned<String>>,
    canonical: Option<toml::Spanned<i64>>,
}

/// The probes a range may choose with `probe`.
const PROBES: [&str; 4] = ["http", "database", "redis", "tcp"];

/// A service the project declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredService {
    pub name: String,
    pub description: String,
    /// The service whose port the Vite plugin uses.
    pub vite: bool,
    /// The range the repository declares for the service (`range = "8100-8119"`), added to
    /// the registry when it has none.
    pub range: Option<(u16, u16)>,
    /// The path the health probe asks (the range's `health_path`), with a declared range.
    pub health_path: Option<String>,
    /// The probe (`http`, `database`, `redis`, `tcp`: the range's `probe`), with a declared range.
    pub probe: Option<String>,
    /// The shell command line `atlas-ports start` runs for the service (`sh -c` on Unix,
    /// `cmd /C` on Windows), with `{port}` and `{port:SERVICE}` still in it.
    pub command: Option<String>,
    /// The command's working folder, relative to the worktree's root (default: the root).
    pub cwd: Option<PathBuf>,
    /// The HTTP path that answers once the command's server is up (default: the service's
    /// health check, else a TCP connect).
    pub ready: Option<String>,
    /// The fixed port `atlas-ports checkout` forwards to one worktree's port of the service
    /// (`canonical = 3000`, for an OAuth callback registered as `http://localhost:3000/…`).
    pub canonical: Option<u16>,
    line: usize,
}

/// A parsed, validated project file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectFile {
    /// The env file's path, relative to the worktree's root.
    pub env_file: PathBuf,
    pub services: Vec<DeclaredService>,
    /// Extra variables: name and template (`{port:SERVICE}` stands for that service's port).
    pub env: Vec<(String, String)>,
    /// `[proxy]`: the named URLs' port and scheme.
    pub proxy: ProxySettings,
    path: PathBuf,
}

impl ProjectFile {
    /// Parses and validates the text of the project file at `path` (named in errors).
    pub fn parse(path: &Path, text: &str) -> Result<ProjectFile> {
        let invalid = |span: Option<Range<usize>>, reason: String| Error::InvalidProjectFile {
            path: path.to_owned(),
            line: span.map_or(1, |s| line_of(text, s.start)),
            reason,
        };
        let raw: RawProject = toml::from_str(text).map_err(|e| invalid(e.span(), first_line(e.message())))?;
        let proxy = ProxySettings::checked(raw.proxy.as_ref(), &invalid)?;
        let env_file = match &raw.env_file {
            None => PathBuf::from(DEFAULT_ENV_FILE),
            Some(f) => {
                let p = PathBuf::from(f.get_ref());
                if !relative_inside(f.get_ref()) {
                    return Err(invalid(
                        Some(f.span()),
                        format!(
                            "env_file {:?} must be a relative path inside the worktree, without .. or control characters",
                            f.get_ref()
                        ),
                    ));
                }
                p
            }
        };
        if raw.services.is_empty() {
            return Err(invalid(None, "no services declared: add a [services.NAME] table".to_owned()));
        }
        if raw.services.len() > MAX_DECLARED || raw.env.len() > MAX_DECLARED {
            return Err(invalid(None, format!("more than {MAX_DECLARED} services or [env] variables")));
        }
        let mut services: Vec<DeclaredService> = Vec::new();
        // Each service's variable, to the index of the service that has it.
        let mut variables = std::collections::HashMap::new();
        for (name, service) in &raw.services {
            crate::validate::service_name(name.get_ref()).map_err(|e| invalid(Some(name.span()), e.to_string()))?;
            let raw_service = service.get_ref();
            let description = raw_service.description.clone().unwrap_or_default();
            crate::validate::description(&description).map_err(|e| invalid(Some(service.span()), e.to_string()))?;
            let variable = variable_name(name.get_ref());
            if let Some(other) = variables.get(&variable).map(|&i: &usize| &services[i]) {
                return Err(invalid(
                    Some(name.span()),
                    format!(
                        "services '{}' (line {}) and '{}' both map to the variable {variable}; rename one of them",
                        other.name,
                        other.line,
                        name.get_ref()
                    ),
                ));
            }
            let range = match &raw_service.range {
                None => None,
                Some(r) => {
                    Some(crate::ranges::parse_range(r.get_ref()).map_err(|e| invalid(Some(r.span()), e.to_string()))?)
                }
            };
            let health_path = match &raw_service.health_path {
                Some(p)
                    if !p.get_ref().starts_with('/')
                        || p.get_ref().len() > 1000
                        || p.get_ref().chars().any(|c| c.is_control() || c == ' ') =>
                {
                    return Err(invalid(
                        Some(p.span()),
                        format!(
                            "health_path {:?} must be a path starting with / (no spaces, at most 1000 bytes)",
                            p.get_ref()
                        ),
                    ));
                }
                p => p.as_ref().map(|p| p.get_ref().clone()),
            };
            let probe = match &raw_service.probe {
                Some(p) if !PROBES.contains(&p.get_ref().as_str()) => {
                    return Err(invalid(
                        Some(p.span()),
                        format!("probe {:?} is not one of {}", p.get_ref(), PROBES.join(", ")),
                    ));
                }
                p => p.as_ref().map(|p| p.get_ref().clone()),
            };
            if range.is_none() && (health_path.is_some() || probe.is_some()) {
                return Err(invalid(
                    Some(service.span()),
                    format!(
                        "health_path and probe describe a declared range: add range = \"START-END\" to [services.{}]",
                        name.get_ref()
                    ),
                ));
            }
            let (command, cwd, ready) = command_fields(raw_service, name.get_ref(), &invalid)?;
            let line = line_of(text, name.span().start);
            if let Some((start, end)) = range
                && let Some(other) = services.iter().find(|s| s.range.is_some_and(|(a, b)| a <= end && start <= b))
            {
                let (a, b) = other.range.expect("found by its range");
                return Err(invalid(
                    Some(name.span()),
                    format!(
                        "the range {start}-{end} of '{}' overlaps the range {a}-{b} of '{}' (line {})",
                        name.get_ref(),
                        other.name,
                        other.line
                    ),
                ));
            }
            let canonical = canonical_port(raw_service, name.get_ref(), &invalid)?;
            variables.insert(variable, services.len());
            services.push(DeclaredService {
                name: name.get_ref().clone(),
                description,
                vite: raw_service.vite.unwrap_or(false),
                range,
                health_path,
                probe,
                command,
                cwd,
                ready,
                canonical,
                line,
            });
        }
        if let Some((line, reason)) = canonical_conflict(&services) {
            return Err(Error::InvalidProjectFile { path: path.to_owned(), line, reason });
        }
        if services.iter().filter(|s| s.vite).count() > 1 {
            return Err(invalid(None, "more than one service has vite = true".to_owned()));
        }
        let names: std::collections::HashSet<&str> = services.iter().map(|s| s.name.as_str()).collect();
        let declared = || services.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", ");
        for (name, service) in &raw.services {
            let Some(command) = &service.get_ref().command else { continue };
            if let Some(unknown) = placeholders(command.get_ref()).into_iter().find(|p| !names.contains(p.as_str())) {
                return Err(invalid(
                    Some(command.span()),
                    format!(
                        "[services.{}] command: {{port:{unknown}}} names a service that is not declared (declared: {})",
                        name.get_ref(),
                        declared()
                    ),
                ));
            }
        }
        let mut env = Vec::new();
        for (name, template) in &raw.env {
            let valid_name = name.get_ref().chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && name.get_ref().chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid_name {
                return Err(invalid(
                    Some(name.span()),
                    format!("{:?} is not a variable name (letters, digits, _)", name.get_ref()),
                ));
            }
            if let Some(c) = template.get_ref().chars().find(|c| c.is_control()) {
                let what = if matches!(c, '\n' | '\r') {
                    "a line break".to_owned()
                } else {
                    format!("the control character U+{:04X}", c as u32)
                };
                return Err(invalid(Some(template.span()), format!("the value of {} has {what}", name.get_ref())));
            }
            if let Some(s) = variables.get(name.get_ref()).map(|&i| &services[i]) {
                return Err(invalid(
                    Some(name.span()),
                    format!(
                        "{} is the port variable of service '{}' (line {}); the env file would hold it twice: name the variable otherwise",
                        name.get_ref(),
                        s.name,
                        s.line
                    ),
                ));
            }
            for service in placeholders(template.get_ref()) {
                if !names.contains(service.as_str()) {
                    let known = services.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", ");
                    return Err(invalid(
                        Some(template.span()),
                        format!("{{port:{service}}} names a service that is not declared (declared: {known})"),
                    ));
                }
            }
            env.push((name.get_ref().clone(), template.get_ref().clone()));
        }
        Ok(ProjectFile { env_file, services, env, proxy, path: path.to_owned() })
    }

    /// Refuses services that have no range in the registry, naming the line that declares them.
    pub fn check_ranges(&self, registry: &Registry) -> Result<()> {
        for s in &self.services {
            if !registry.ranges.contains_key(&s.name) {
                let valid = registry.ranges.keys().cloned().collect::<Vec<_>>().join(", ");
                return Err(Error::InvalidProjectFile {
                    path: self.path.clone(),
                    line: s.line,
                    reason: format!(
                        "service '{}' has no range in the registry (ranges: {valid}); declare one in [services.{}] (range = \"START-END\") or add it with `atlas-ports ranges add {} START-END`",
                        s.name, s.name, s.name
                    ),
                });
            }
        }
        Ok(())
    }

    /// Whether a service declares something the registry records: a range or a canonical port.
    pub fn declares_registry_entries(&self) -> bool {
        self.services.iter().any(|s| s.range.is_some() || s.canonical.is_some())
    }

    /// Whether the registry lacks a range or canonical port this file declares. A declared
    /// range that differs from the registry's range of that service, or overlaps another
    /// service's, and a canonical port the registry keeps for another service, are refused
    /// naming both.
    pub fn missing_registry_entries(&self, registry: &Registry) -> Result<bool> {
        let missing = self.check_declared(registry)?;
        Ok(!missing.is_empty() || self.unrecorded_canonical(registry).next().is_some())
    }

    /// The declared canonical ports the registry does not keep yet, with their service.
    fn unrecorded_canonical<'a>(&'a self, registry: &'a Registry) -> impl Iterator<Item = (u16, &'a str)> {
        self.services
            .iter()
            .filter_map(|s| Some((s.canonical?, s.name.as_str())))
            .filter(|&(port, _)| registry.canonical_for(port).is_none())
    }

    /// Adds the declared ranges and canonical ports the registry lacks; returns whether it
    /// added any. Refuses as [`ProjectFile::missing_ranges`] does, and then adds nothing.
    pub fn declare(&self, registry: &mut Registry) -> Result<bool> {
        let missing = self.check_declared(registry)?;
        let canonical: Vec<(u16, String)> =
            self.unrecorded_canonical(registry).map(|(p, s)| (p, s.to_owned())).collect();
        for (port, service) in &canonical {
            registry.reserve_canonical(*port, service);
        }
        for s in &missing {
            let (start, end) = s.range.expect("declared");
            let extra = [("health_path", &s.health_path), ("probe", &s.probe)]
                .into_iter()
                .filter_map(|(k, v)| v.as_ref().map(|v| (k.to_owned(), serde_json::Value::from(v.as_str()))))
                .collect();
            registry.ranges.insert(s.name.clone(), PortRange::with_extra(start, end, s.description.clone(), extra));
        }
        Ok(!missing.is_empty() || !canonical.is_empty())
    }

    /// The services whose declared range the registry lacks, after checking every declared
    /// range and canonical port against the registry.
    fn check_declared(&self, registry: &Registry) -> Result<Vec<&DeclaredService>> {
        self.check_canonical(registry)?;
        let mut missing = Vec::new();
        for s in &self.services {
            let Some((start, end)) = s.range else { continue };
            let refuse = |reason: String| Error::InvalidProjectFile { path: self.path.clone(), line: s.line, reason };
            if let Some(r) = registry.ranges.get(&s.name) {
                if (r.start, r.end) != (start, end) {
                    return Err(refuse(format!(
                        "service '{}' declares the range {start}-{end}, but the registry's range of '{}' is {}-{}; make them agree (`atlas-ports ranges set {} {start}-{end}`, or change the declaration)",
                        s.name, s.name, r.start, r.end, s.name
                    )));
                }
                continue;
            }
            if let Some(reason) = crate::ranges::conflict(registry, &s.name, start, end) {
                return Err(refuse(format!(
                    "service '{}' declares a range the registry cannot take: {reason}",
                    s.name
                )));
            }
            missing.push(s);
        }
        Ok(missing)
    }

    /// Refuses a canonical port the registry keeps for another service (another branch's or
    /// repository's project file declared it first): one port forwards to one service. Names
    /// both. A canonical port inside a range is fine: once recorded, no worktree is allocated it.
    pub fn check_canonical(&self, registry: &Registry) -> Result<()> {
        for s in &self.services {
            let Some(port) = s.canonical else { continue };
            if let Some(other) = registry.canonical_for(port).filter(|o| *o != s.name) {
                return Err(Error::InvalidProjectFile {
                    path: self.path.clone(),
                    line: s.line,
                    reason: format!(
                        "the canonical port {port} of '{}' is already the registry's canonical port of '{other}' (\"{}\" in the registry); one port forwards to one service: choose another port, or edit the registry's entry if '{other}' no longer has it",
                        s.name,
                        crate::registry::CANONICAL_PORTS
                    ),
                });
            }
        }
        Ok(())
    }

    /// The service the Vite plugin uses: the one marked `vite = true`, else `web` when
    /// declared, else the first.
    pub fn vite_service(&self) -> &DeclaredService {
        self.services
            .iter()
            .find(|s| s.vite)
            .or_else(|| self.services.iter().find(|s| s.name == "web"))
            .unwrap_or(&self.services[0])
    }

    /// The env file's text for these ports (`(service, port)` of every declared service):
    /// the mark, `PORT_<SERVICE>=port` lines in declaration order, then the `[env]` variables.
    pub fn env_text(&self, ports: &[(String, u16)]) -> String {
        self.env_text_with(ports, &[])
    }

    /// [`Self::env_text`] with `extra` variables after the others (what the host knows and the
    /// core does not, such as the local CA's certificate for `NODE_EXTRA_CA_CERTS`).
    pub fn env_text_with(&self, ports: &[(String, u16)], extra: &[(String, String)]) -> String {
        let mut text = format!("{ENV_FILE_MARK}\n");
        for (name, value) in self.env_variables(ports).into_iter().chain(extra.iter().cloned()) {
            text.push_str(&name);
            text.push('=');
            text.push_str(&value);
            text.push('\n');
        }
        text
    }

    /// The env file's variables for these ports, in its order: `PORT_<SERVICE>` of every
    /// declared service, then the `[env]` variables with their placeholders replaced.
    pub fn env_variables(&self, ports: &[(String, u16)]) -> Vec<(String, String)> {
        let ports: std::collections::HashMap<&str, u16> = ports.iter().map(|(s, p)| (s.as_str(), *p)).collect();
        let mut variables = Vec::new();
        for s in &self.services {
            if let Some(port) = ports.get(s.name.as_str()) {
                variables.push((variable_name(&s.name), port.to_string()));
            }
        }
        for (name, template) in &self.env {
            let mut value = String::new();
            substitute(template, &ports, &mut value);
            variables.push((name.clone(), value));
        }
        variables
    }

    /// The command line of `service` with `{port}` (the service's own port) and
    /// `{port:SERVICE}` replaced; `None` when it declares no command.
    pub fn command_line(&self, service: &str, ports: &[(String, u16)]) -> Option<String> {
        let command = self.services.iter().find(|s| s.name == service)?.command.as_ref()?;
        let own = ports.iter().find(|(s, _)| s == service).map(|(_, p)| *p);
        let ports: std::collections::HashMap<&str, u16> = ports.iter().map(|(s, p)| (s.as_str(), *p)).collect();
        let own_replaced = match own {
            Some(port) => command.replace("{port}", &port.to_string()),
            None => command.clone(),
        };
        let mut line = String::new();
        substitute(&own_replaced, &ports, &mut line);
        Some(line)
    }

    /// The file these declarations were read from.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Appends `template` to `out` with every `{port:SERVICE}` of a known service replaced by its
/// port, in one pass (a value of 100,000 placeholders must not be rescanned for each).
fn substitute(template: &str, ports: &std::collections::HashMap<&str, u16>, out: &mut String) {
    let mut rest = template;
    while let Some(at) = rest.find("{port:") {
        let tail = &rest[at + 6..];
        let Some(end) = tail.find('}') else { break };
        out.push_str(&rest[..at]);
        match ports.get(&tail[..end]) {
            Some(port) => out.push_str(&port.to_string()),
            None => out.push_str(&rest[at..at + 6 + end + 1]),
        }
        rest = &tail[end + 1..];
    }
    out.push_str(rest);
}

/// The most bytes of a declared command line.
const MAX_COMMAND_BYTES: usize = 10_000;

/// `command`, `cwd` and `ready` of a service, checked: a command is one line of at most
/// [`MAX_COMMAND_BYTES`] (tabs allowed, no other control character); `cwd` a relative path
/// inside the worktree; `ready` a path starting with `/`. `cwd` and `ready` need a command.
#[allow(clippy::type_complexity)]
fn command_fields(
    raw: &RawService,
    service: &str,
    invalid: &dyn Fn(Option<Range<usize>>, String) -> Error,
) -> Result<(Option<String>, Option<PathBuf>, Option<String>)> {
    let command = match &raw.command {
        None => None,
        Some(c) => {
            let text = c.get_ref();
            let reason = if text.trim().is_empty() {
                Some("is empty".to_owned())
            } else if text.len() > MAX_COMMAND_BYTES {
                Some(format!("is longer than {MAX_COMMAND_BYTES} bytes"))
            } else {
                text.chars().find(|&ch| ch.is_control() && ch != '\t').map(|bad| {
                    if matches!(bad, '\n' | '\r') {
                        "has a line break: write one command line (join commands with && or ;)".to_owned()
                    } else {
                        format!("has the control character U+{:04X}", bad as u32)
                    }
                })
            };
            if let Some(reason) = reason {
                return Err(invalid(Some(c.span()), format!("[services.{service}] command {reason}")));
            }
            Some(text.clone())
        }
    };
    let cwd = match &raw.cwd {
        None => None,
        Some(c) if relative_inside(c.get_ref()) => Some(PathBuf::from(c.get_ref())),
        Some(c) => {
            return Err(invalid(
                Some(c.span()),
                format!(
                    "[services.{service}] cwd {:?} must be a relative path inside the worktree, without .. or control characters",
                    c.get_ref()
                ),
            ));
        }
    };
    let ready = match &raw.ready {
        None => None,
        Some(p)
            if p.get_ref().starts_with('/')
                && p.get_ref().len() <= 1000
                && !p.get_ref().chars().any(|c| c.is_control() || c == ' ') =>
        {
            Some(p.get_ref().clone())
        }
        Some(p) => {
            return Err(invalid(
                Some(p.span()),
                format!(
                    "[services.{service}] ready {:?} must be an HTTP path starting with / (no spaces, at most 1000 bytes)",
                    p.get_ref()
                ),
            ));
        }
    };
    if command.is_none()
        && let Some(field) =
            raw.cwd.as_ref().map(|c| ("cwd", c.span())).or(raw.ready.as_ref().map(|r| ("ready", r.span())))
    {
        return Err(invalid(
            Some(field.1),
            format!(
                "[services.{service}] {} describes a command: add command = \"…\" to [services.{service}]",
                field.0
            ),
        ));
    }
    Ok((command, cwd, ready))
}

/// The `canonical` port of a service: a port from 1 to 65535.
fn canonical_port(
    raw: &RawService,
    service: &str,
    invalid: &dyn Fn(Option<Range<usize>>, String) -> Error,
) -> Result<Option<u16>> {
    let Some(c) = &raw.canonical else { return Ok(None) };
    match u16::try_from(*c.get_ref()) {
        Ok(p) if p > 0 => Ok(Some(p)),
        _ => Err(invalid(
            Some(c.span()),
            format!("[services.{service}] canonical = {} is not a port from 1 to 65535", c.get_ref()),
        )),
    }
}

/// Why the canonical ports of `services` cannot stand, naming the service's line: two services
/// with one canonical port, or a canonical port inside a declared range.
fn canonical_conflict(services: &[DeclaredService]) -> Option<(usize, String)> {
    for (i, s) in services.iter().enumerate() {
        let Some(port) = s.canonical else { continue };
        if let Some(other) = services[..i].iter().find(|o| o.canonical == Some(port)) {
            return Some((
                s.line,
                format!(
                    "[services.{}] canonical = {port} is also the canonical port of '{}' (line {}); one port forwards to one service",
                    s.name, other.name, other.line
                ),
            ));
        }
        if let Some((owner, (start, end))) =
            services.iter().find_map(|o| o.range.filter(|&(a, b)| a <= port && port <= b).map(|r| (o, r)))
        {
            return Some((
                s.line,
                format!(
                    "[services.{}] canonical = {port} is inside the declared range {start}-{end} of '{}' (line {}), where worktrees are allocated ports; choose a port outside every range",
                    s.name, owner.name, owner.line
                ),
            ));
        }
    }
    None
}

/// Whether `path` is a relative path that stays inside the folder it is relative to.
fn relative_inside(path: &str) -> bool {
    let p = Path::new(path);
    !p.as_os_str().is_empty()
        && !path.chars().any(char::is_control)
        && p.components().all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
}

/// Whether an env file's text was written by `up` (it starts with the mark).
pub fn written_by_up(text: &str) -> bool {
    text.lines().next() == Some(ENV_FILE_MARK)
}

/// The services named by `{port:SERVICE}` placeholders.
fn placeholders(template: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = template;
    while let Some(at) = rest.find("{port:") {
        let tail = &rest[at + 6..];
        match tail.find('}') {
            Some(end) => {
                found.push(tail[..end].to_owned());
                rest = &tail[end + 1..];
            }
            None => break,
        }
    }
    found
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset).map_or(1, |t| t.matches('\n').count() + 1)
}

fn first_line(message: &str) -> String {
    message.lines().next().unwrap_or(message).trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"env_file = ".env.ports"
[services.web]
description = "Frontend dev server"
[services.database]
[env]
VITE_PORT = "{port:web}"
DATABASE_URL = "postgres://localhost:{port:database}/app"
"#;

    fn parse(text: &str) -> Result<ProjectFile> {
        ProjectFile::parse(Path::new("atlas-ports.toml"), text)
    }

    #[test]
    fn the_example_parses_and_renders() {
        let p = parse(EXAMPLE).unwrap();
        assert_eq!(p.env_file, PathBuf::from(".env.ports"));
        assert_eq!(p.services.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["web", "database"]);
        assert_eq!(p.vite_service().name, "web");
        let text = p.env_text(&[("web".into(), 8081), ("database".into(), 5433)]);
        assert_eq!(
            text,
            format!(
                "{ENV_FILE_MARK}\nPORT_WEB=8081\nPORT_DATABASE=5433\nVITE_PORT=8081\nDATABASE_URL=postgres://localhost:5433/app\n"
            )
        );
        assert!(written_by_up(&text));
        assert!(!written_by_up("PORT_WEB=1\n"));
    }

    #[test]
    fn the_proxy_table_is_checked_with_its_line() {
        let p = parse("[services.web]\n[proxy]\nport = 4400\nhttps = true\n").unwrap();
        assert_eq!(p.proxy, ProxySettings { port: Some(4400), https: true });
        assert_eq!(p.proxy.scheme(), crate::proxy::Scheme::Https);
        assert_eq!(parse("[services.web]\n").unwrap().proxy, ProxySettings::default());
        for bad in ["0", "65536", "-1"] {
            let err = parse(&format!("[services.web]\n[proxy]\nport = {bad}\n")).unwrap_err().to_string();
            assert_eq!(
                err,
                format!(
                    "invalid project file atlas-ports.toml, line 3: [proxy] port {bad} is not a port number from 1 to 65535"
                )
            );
        }
        let err = parse("[services.web]\n[proxy]\nprot = 1\n").unwrap_err().to_string();
        assert!(err.contains("line 3") && err.contains("unknown field `prot`"), "{err}");
        // Alone, [proxy] is read without the services the rest of the file needs.
        let path = Path::new("atlas-ports.toml");
        assert_eq!(ProxySettings::parse(path, "[proxy]\nport = 2000\n").unwrap().port, Some(2000));
        assert_eq!(ProxySettings::parse(path, "env_file = \".e\"\n").unwrap(), ProxySettings::default());
        assert!(ProxySettings::parse(path, "[proxy]\nport = \"x\"\n").unwrap_err().to_string().contains("line 2"));
    }

    #[test]
    fn errors_name_the_line() {
        let err = |text: &str| parse(text).unwrap_err().to_string();
        assert_eq!(
            err("[services.web]\n[env]\nURL = \"{port:db}\"\n"),
            "invalid project file atlas-ports.toml, line 3: {port:db} names a service that is not declared (declared: web)"
        );
        assert!(
            err("[services.web]\nport = 1\n")
                .starts_with("invalid project file atlas-ports.toml, line 2: unknown field `port`"),
            "{}",
            err("[services.web]\nport = 1\n")
        );
        assert!(err("[services.web\n").contains("line 1"), "{}", err("[services.web\n"));
        assert_eq!(
            err("env_file = \"../x\"\n[services.web]\n"),
            "invalid project file atlas-ports.toml, line 1: env_file \"../x\" must be a relative path inside the worktree, without .. or control characters"
        );
        assert!(err("").contains("no services declared"));
        assert!(err("env_file = \"a\\u0000b\"\n[services.web]\n").contains("must be a relative path inside"));
        assert!(err("[services.web]\n[env]\n\"1X\" = \"a\"\n").contains("line 3: \"1X\" is not a variable name"));
        assert_eq!(parse("[services.web\n").unwrap_err().code(), "ERR_INVALID_PROJECT_FILE");
        let p = parse("[services.web]\n\n[services.grpc]\n").unwrap();
        let reg = Registry::with_default_ranges("");
        assert_eq!(
            p.check_ranges(&reg).unwrap_err().to_string(),
            "invalid project file atlas-ports.toml, line 3: service 'grpc' has no range in the registry (ranges: web, database, testing, debug, api, cache); declare one in [services.grpc] (range = \"START-END\") or add it with `atlas-ports ranges add grpc START-END`"
        );
        assert!(
            err("[services.a]\nrange = \"9-8\"\n")
                .contains("line 2: invalid range \"9-8\": start 9 is greater than end 8")
        );
        assert!(err("[services.a]\nprobe = \"http\"\n").contains("health_path and probe describe a declared range"));
        assert!(err("[services.a]\nrange = \"1-2\"\nprobe = \"ftp\"\n").contains("probe \"ftp\" is not one of http"));
        assert!(err("[services.a]\nrange = \"1-2\"\nhealth_path = \"x\"\n").contains("must be a path starting with /"));
        assert!(
            err("[services.a]\nrange = \"1-5\"\n[services.b]\nrange = \"5-6\"\n")
                .contains("line 3: the range 5-6 of 'b' overlaps the range 1-5 of 'a' (line 1)")
        );
    }

    #[test]
    fn declared_ranges_are_added_once_and_never_override() {
        let p = parse("[services.web]\n[services.admin]\nrange = \"8100-8109\"\nhealth_path = \"/up\"\n").unwrap();
        let mut reg = Registry::with_default_ranges("");
        let web = reg.ranges["web"].clone();
        assert!(p.declare(&mut reg).unwrap());
        assert_eq!(reg.ranges["web"], web);
        assert_eq!((reg.ranges["admin"].start, reg.ranges["admin"].end), (8100, 8109));
        assert_eq!(reg.ranges["admin"].extra("health_path"), Some(&serde_json::json!("/up")));
        assert!(!p.declare(&mut reg).unwrap(), "a second time adds nothing");
        reg.ranges["admin"].end = 8119;
        let e = p.declare(&mut reg).unwrap_err().to_string();
        assert!(
            e.contains(
                "line 2: service 'admin' declares the range 8100-8109, but the registry's range of 'admin' is 8100-8119"
            ),
            "{e}"
        );
        let p = parse("[services.admin]\nrange = \"8090-8109\"\n").unwrap();
        let mut reg = Registry::with_default_ranges("");
        let e = p.declare(&mut reg).unwrap_err().to_string();
        assert!(e.contains("overlaps the range of 'web' (8080-8099)"), "{e}");
        assert!(!reg.ranges.contains_key("admin"));
    }

    #[test]
    fn commands_get_their_ports_and_bad_fields_are_named() {
        let p = parse(
            "[services.web]\ncommand = \"vite --port {port} --api http://localhost:{port:api}\"\ncwd = \"ui\"\nready = \"/health\"\n[services.api]\n",
        )
        .unwrap();
        let ports = [("web".to_owned(), 8081), ("api".to_owned(), 3001)];
        assert_eq!(p.command_line("web", &ports).unwrap(), "vite --port 8081 --api http://localhost:3001");
        assert_eq!(p.command_line("api", &ports), None, "api declares no command");
        assert_eq!(p.services[0].cwd.as_deref(), Some(Path::new("ui")));
        assert_eq!(p.services[0].ready.as_deref(), Some("/health"));

        let err = |text: &str| parse(text).unwrap_err().to_string();
        assert_eq!(
            err("[services.web]\ncommand = \"serve {port:db}\"\n"),
            "invalid project file atlas-ports.toml, line 2: [services.web] command: {port:db} names a service that is not declared (declared: web)"
        );
        assert_eq!(
            err("[services.web]\ncommand = \"a\\nb\"\n"),
            "invalid project file atlas-ports.toml, line 2: [services.web] command has a line break: write one command line (join commands with && or ;)"
        );
        assert!(err("[services.web]\ncommand = \"  \"\n").contains("line 2: [services.web] command is empty"));
        assert!(
            err("[services.web]\ncommand = \"x\"\ncwd = \"../elsewhere\"\n")
                .contains("line 3: [services.web] cwd \"../elsewhere\" must be a relative path inside the worktree")
        );
        assert!(err("[services.web]\ncommand = \"x\"\ncwd = \"/abs\"\n").contains("[services.web] cwd \"/abs\""));
        assert!(
            err("[services.web]\ncommand = \"x\"\nready = \"health\"\n")
                .contains("line 3: [services.web] ready \"health\" must be an HTTP path starting with /")
        );
        assert_eq!(
            err("[services.web]\nready = \"/health\"\n"),
            "invalid project file atlas-ports.toml, line 2: [services.web] ready describes a command: add command = \"…\" to [services.web]"
        );
        assert_eq!(parse("[services.web]\ncwd = \"x\"\n").unwrap_err().code(), "ERR_INVALID_PROJECT_FILE");
    }

    #[test]
    fn canonical_ports_are_checked() {
        let p = parse("[services.web]\nrange = \"8100-8109\"\ncanonical = 3000\n[services.db]\n").unwrap();
        assert_eq!(p.services[0].canonical, Some(3000));
        assert_eq!(p.services[1].canonical, None);
        let err = |text: &str| parse(text).unwrap_err().to_string();
        assert_eq!(
            err("[services.web]\ncanonical = 0\n"),
            "invalid project file atlas-ports.toml, line 2: [services.web] canonical = 0 is not a port from 1 to 65535"
        );
        assert!(
            err("[services.web]\ncanonical = 65536\n")
                .contains("line 2: [services.web] canonical = 65536 is not a port")
        );
        assert!(err("[services.web]\ncanonical = \"3000\"\n").contains("line 2"));
        assert_eq!(
            err("[services.web]\ncanonical = 3000\n[services.api]\ncanonical = 3000\n"),
            "invalid project file atlas-ports.toml, line 3: [services.api] canonical = 3000 is also the canonical port of 'web' (line 1); one port forwards to one service"
        );
        assert!(err("[services.web]\ncanonical = 8105\n[services.admin]\nrange = \"8100-8109\"\n").contains(
            "line 1: [services.web] canonical = 8105 is inside the declared range 8100-8109 of 'admin' (line 3)"
        ));
    }

    #[test]
    fn a_canonical_port_inside_a_range_is_recorded_and_never_allocated() {
        // The default registry's api range is 3000-3099: a canonical 3000 is taken out of it.
        let p = parse("[services.web]\ncanonical = 3000\n").unwrap();
        let mut reg = Registry::with_default_ranges("");
        assert!(p.declares_registry_entries());
        assert!(p.missing_registry_entries(&reg).unwrap());
        assert!(p.declare(&mut reg).unwrap());
        assert_eq!(reg.canonical_for(3000), Some("web"));
        let status = crate::status::by_range(&reg, Vec::new());
        let api = status.ranges.iter().find(|r| r.service == "api").unwrap();
        assert_eq!((api.available.clone(), api.available_count), (vec![(3001, 3099)], 99), "status counts it out too");
        assert!(!p.missing_registry_entries(&reg).unwrap());
        assert!(!p.declare(&mut reg).unwrap(), "a second time adds nothing");
        let api = crate::AllocateRequest::new("api", "w");
        assert_eq!(reg.allocate(&api, "", "", &mut |_| true).unwrap().port, 3001);
        assert_eq!(reg.find_next("api", &mut |_| true).unwrap().port, Some(3002));
        let preferred = crate::AllocateRequest { preferred: Some(3000), ..crate::AllocateRequest::new("api", "x") };
        assert_eq!(reg.allocate(&preferred, "", "", &mut |_| true).unwrap().port, 3002, "not even when asked");
        let mut small = Registry::from_json(r#"{"ranges": {"one": {"start": 7000, "end": 7001}}, "allocations": [], "canonical_ports": {"7001": "web"}}"#).unwrap();
        small.allocate(&crate::AllocateRequest::new("one", "a"), "", "", &mut |_| true).unwrap();
        let full =
            small.allocate(&crate::AllocateRequest::new("one", "b"), "", "", &mut |_| true).unwrap_err().to_string();
        assert!(full.contains("held by 'a' (7000); 7001 is the canonical port of 'web'. "), "{full}");
        // Another service's file declaring the same canonical port is refused, naming both.
        let other = parse("[services.admin]\ncanonical = 3000\n").unwrap();
        let before = reg.clone();
        let e = other.declare(&mut reg).unwrap_err().to_string();
        assert!(
            e.contains("line 1: the canonical port 3000 of 'admin' is already the registry's canonical port of 'web'"),
            "{e}"
        );
        assert_eq!(reg, before);
    }

    #[test]
    fn the_vite_service_is_marked_or_web_or_the_first() {
        assert_eq!(parse("[services.db]\n[services.ui]\nvite = true\n").unwrap().vite_service().name, "ui");
        assert_eq!(parse("[services.db]\n[services.web]\n").unwrap().vite_service().name, "web");
        assert_eq!(parse("[services.db]\n[services.api]\n").unwrap().vite_service().name, "db");
    }
}
