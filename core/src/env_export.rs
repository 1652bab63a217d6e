//! A worktree's ports as environment variables (`PORT_WEB=8080`), for `docker compose
//! --env-file`, `eval` in a shell, and the `run` wrapper. Names are derived from service names,
//! values are port numbers; in shell form every value is single-quoted, so nothing a service or
//! worktree name contains can run as a command.

use crate::error::{Error, Result};
use crate::registry::Allocation;
use std::fmt::Write;

/// One exported variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortVariable {
    /// `PORT_` + the service upper-cased, every other character than A–Z and 0–9 as `_`.
    pub name: String,
    pub port: u16,
    pub service: String,
}

/// The variable name for a service: `web-staging` → `PORT_WEB_STAGING`.
pub fn variable_name(service: &str) -> String {
    prefixed_name("PORT_", service)
}

/// The named-URL variable for a service, while a proxy runs: `web-staging` → `URL_WEB_STAGING`.
pub fn url_variable_name(service: &str) -> String {
    prefixed_name("URL_", service)
}

/// `prefix` + the service upper-cased, every other character than A–Z and 0–9 as `_`.
fn prefixed_name(prefix: &str, service: &str) -> String {
    let mut name = String::with_capacity(prefix.len() + service.len());
    name.push_str(prefix);
    name.extend(service.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }));
    name
}

/// The variables of a worktree's allocations, sorted by name. A service held twice exports its
/// first port, described in the second list for a warning. Two services whose names map to one
/// variable (`web-x` and `web_x`) are refused, naming both: either port would be wrong for one
/// of them.
pub fn port_variables<'a>(
    allocations: impl IntoIterator<Item = &'a Allocation>,
) -> Result<(Vec<PortVariable>, Vec<String>)> {
    let mut vars: Vec<PortVariable> = Vec::new();
    let mut shadowed = Vec::new();
    for a in allocations {
        let name = variable_name(&a.service);
        match vars.iter().find(|v| v.name == name) {
            Some(kept) if kept.service == a.service => shadowed.push(format!(
                "service '{}' holds ports {} and {}; {name} is {}",
                a.service, kept.port, a.port, kept.port
            )),
            Some(kept) => return Err(collision(&kept.service, &a.service, &name)),
            None => vars.push(PortVariable { name, port: a.port, service: a.service.to_string() }),
        }
    }
    vars.sort_by(|a, b| a.name.cmp(&b.name));
    Ok((vars, shadowed))
}

/// Refuses `service` when another of `services` maps to the same variable.
pub fn check_distinct<'a>(service: &str, services: impl IntoIterator<Item = &'a str>) -> Result<()> {
    let name = variable_name(service);
    match services.into_iter().find(|s| *s != service && variable_name(s) == name) {
        Some(other) => Err(collision(other, service, &name)),
        None => Ok(()),
    }
}

fn collision(first: &str, second: &str, name: &str) -> Error {
    Error::InvalidArgument {
        what: "service",
        value: second.to_owned(),
        reason: format!(
            "services '{}' and '{}' both map to the variable {name}; rename one of them",
            crate::printable(first),
            crate::printable(second)
        ),
    }
}

/// `NAME=port` lines, the format of `docker compose --env-file` and dotenv loaders.
pub fn dotenv(vars: &[PortVariable]) -> String {
    vars.iter().fold(String::new(), |mut out, v| {
        let _ = writeln!(out, "{}={}", v.name, v.port);
        out
    })
}

/// `export NAME='port'` lines for `eval "$(atlas-ports env --format sh)"`, and the worktree's
/// name as `ATLAS_PORTS_WORKTREE`.
pub fn shell(vars: &[PortVariable], worktree: &str) -> String {
    let mut out = format!("export ATLAS_PORTS_WORKTREE={}\n", shell_quote(worktree));
    for v in vars {
        let _ = writeln!(out, "export {}={}", v.name, shell_quote(&v.port.to_string()));
    }
    out
}

/// The variables as one JSON object `{"PORT_WEB": 8080, …}`.
pub fn json(vars: &[PortVariable]) -> serde_json::Value {
    serde_json::Value::Object(vars.iter().map(|v| (v.name.clone(), serde_json::Value::from(v.port))).collect())
}

/// POSIX single-quoting: the text between single quotes is taken literally; a single quote is
/// written as `'\''`.
pub fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{AllocateRequest, Registry};

    fn allocations(specs: &[(&str, &str)]) -> Vec<Allocation> {
        let mut reg = Registry::with_default_ranges("t");
        reg.ranges.insert("web-staging".into(), crate::PortRange::new(8180, 8189, ""));
        reg.ranges.insert("web_staging".into(), crate::PortRange::new(8190, 8199, ""));
        for (service, worktree) in specs {
            let new = AllocateRequest::new(service, worktree);
            reg.allocate(&new, "t", "", &mut |_| true).unwrap();
        }
        reg.allocations
    }

    #[test]
    fn names_are_upper_case_with_underscores() {
        assert_eq!(variable_name("web"), "PORT_WEB");
        assert_eq!(variable_name("web-staging"), "PORT_WEB_STAGING");
        assert_eq!(variable_name("a.b c$d"), "PORT_A_B_C_D");
        assert_eq!(variable_name("dé"), "PORT_D_");
    }

    #[test]
    fn formats() {
        let a = allocations(&[("web", "w"), ("database", "w"), ("api", "w")]);
        let (vars, shadowed) = port_variables(&a).unwrap();
        assert!(shadowed.is_empty());
        assert_eq!(dotenv(&vars), "PORT_API=3000\nPORT_DATABASE=5432\nPORT_WEB=8080\n");
        assert_eq!(
            shell(&vars, "it's"),
            "export ATLAS_PORTS_WORKTREE='it'\\''s'\nexport PORT_API='3000'\nexport PORT_DATABASE='5432'\nexport PORT_WEB='8080'\n"
        );
        assert_eq!(json(&vars), serde_json::json!({"PORT_API": 3000, "PORT_DATABASE": 5432, "PORT_WEB": 8080}));
    }

    #[test]
    fn a_service_held_twice_keeps_the_first_and_two_services_on_one_variable_are_refused() {
        let a = allocations(&[("web", "w"), ("web", "w"), ("web-staging", "w")]);
        let (vars, shadowed) = port_variables(&a).unwrap();
        assert_eq!(dotenv(&vars), "PORT_WEB=8080\nPORT_WEB_STAGING=8180\n");
        assert_eq!(shadowed.len(), 1);
        assert!(shadowed[0].contains("holds ports 8080 and 8081"), "{shadowed:?}");
        let a = allocations(&[("web-staging", "w"), ("web_staging", "w")]);
        let err = port_variables(&a).unwrap_err();
        assert_eq!(err.code(), "ERR_INVALID_ARGUMENT");
        assert!(
            err.to_string()
                .contains("services 'web-staging' and 'web_staging' both map to the variable PORT_WEB_STAGING"),
            "{err}"
        );
        assert!(check_distinct("web_staging", ["web", "web-staging"]).is_err());
        assert!(check_distinct("web-staging", ["web", "web-staging"]).is_ok());
    }
}
