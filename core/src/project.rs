//! The project file, `atlas-ports.toml` at a repository's root: the services every worktree of
//! the project needs, the env file `up` writes for them, and extra variables templated from
//! their ports. Parsing, validation and the env file's text; no I/O.
//!
//! ```toml
//! env_file = ".env.ports"            # the default
//! [services.web]
//! description = "Frontend dev server"
//! [services.database]
//! [env]
//! DATABASE_URL = "postgres://localhost:{port:database}/app"
//! ```

use crate::env_export::variable_name;
use crate::error::{Error, Result};
use crate::registry::Registry;
use indexmap::IndexMap;
use serde::Deserialize;
use std::ops::Range;
use std::path::{Component, Path, PathBuf};

/// The file's name at a repository's root.
pub const PROJECT_FILE: &str = "atlas-ports.toml";
/// The env file written when the project file names none.
pub const DEFAULT_ENV_FILE: &str = ".env.ports";
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
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawService {
    description: Option<String>,
    vite: Option<bool>,
}

/// A service the project declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredService {
    pub name: String,
    pub description: String,
    /// The service whose port the Vite plugin uses.
    pub vite: bool,
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
        let env_file = match &raw.env_file {
            None => PathBuf::from(DEFAULT_ENV_FILE),
            Some(f) => {
                let p = PathBuf::from(f.get_ref());
                let inside = !p.as_os_str().is_empty()
                    && p.components().all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
                if !inside {
                    return Err(invalid(
                        Some(f.span()),
                        format!("env_file {:?} must be a path inside the worktree", f.get_ref()),
                    ));
                }
                p
            }
        };
        if raw.services.is_empty() {
            return Err(invalid(None, "no services declared: add a [services.NAME] table".to_owned()));
        }
        let mut services = Vec::new();
        for (name, service) in &raw.services {
            crate::validate::service_name(name.get_ref()).map_err(|e| invalid(Some(name.span()), e.to_string()))?;
            let description = service.get_ref().description.clone().unwrap_or_default();
            crate::validate::description(&description).map_err(|e| invalid(Some(service.span()), e.to_string()))?;
            services.push(DeclaredService {
                name: name.get_ref().clone(),
                description,
                vite: service.get_ref().vite.unwrap_or(false),
                line: line_of(text, name.span().start),
            });
        }
        if services.iter().filter(|s| s.vite).count() > 1 {
            return Err(invalid(None, "more than one service has vite = true".to_owned()));
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
            if template.get_ref().contains(['\n', '\r']) {
                return Err(invalid(
                    Some(template.span()),
                    format!("the value of {} has a line break", name.get_ref()),
                ));
            }
            for service in placeholders(template.get_ref()) {
                if !services.iter().any(|s| s.name == service) {
                    let known = services.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", ");
                    return Err(invalid(
                        Some(template.span()),
                        format!("{{port:{service}}} names a service that is not declared (declared: {known})"),
                    ));
                }
            }
            env.push((name.get_ref().clone(), template.get_ref().clone()));
        }
        Ok(ProjectFile { env_file, services, env, path: path.to_owned() })
    }

    /// Refuses services that have no range in the registry, naming the line that declares them.
    pub fn check_ranges(&self, registry: &Registry) -> Result<()> {
        for s in &self.services {
            if !registry.ranges.contains_key(&s.name) {
                let valid = registry.ranges.keys().cloned().collect::<Vec<_>>().join(", ");
                return Err(Error::InvalidProjectFile {
                    path: self.path.clone(),
                    line: s.line,
                    reason: format!("service '{}' has no range in the registry (ranges: {valid})", s.name),
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
        let port_of = |service: &str| ports.iter().find(|(s, _)| s == service).map(|(_, p)| *p);
        let mut text = format!("{ENV_FILE_MARK}\n");
        for s in &self.services {
            if let Some(port) = port_of(&s.name) {
                text.push_str(&format!("{}={port}\n", variable_name(&s.name)));
            }
        }
        for (name, template) in &self.env {
            let mut value = template.clone();
            for service in placeholders(template) {
                if let Some(port) = port_of(&service) {
                    value = value.replace(&format!("{{port:{service}}}"), &port.to_string());
                }
            }
            text.push_str(&format!("{name}={value}\n"));
        }
        text
    }
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
            "invalid project file atlas-ports.toml, line 1: env_file \"../x\" must be a path inside the worktree"
        );
        assert!(err("").contains("no services declared"));
        assert!(err("[services.web]\n[env]\n\"1X\" = \"a\"\n").contains("line 3: \"1X\" is not a variable name"));
        assert_eq!(parse("[services.web\n").unwrap_err().code(), "ERR_INVALID_PROJECT_FILE");
        let p = parse("[services.web]\n\n[services.grpc]\n").unwrap();
        let reg = Registry::with_default_ranges("");
        assert_eq!(
            p.check_ranges(&reg).unwrap_err().to_string(),
            "invalid project file atlas-ports.toml, line 3: service 'grpc' has no range in the registry (ranges: web, database, testing, debug, api, cache)"
        );
    }

    #[test]
    fn the_vite_service_is_marked_or_web_or_the_first() {
        assert_eq!(parse("[services.db]\n[services.ui]\nvite = true\n").unwrap().vite_service().name, "ui");
        assert_eq!(parse("[services.db]\n[services.web]\n").unwrap().vite_service().name, "web");
        assert_eq!(parse("[services.db]\n[services.api]\n").unwrap().vite_service().name, "db");
    }
}
