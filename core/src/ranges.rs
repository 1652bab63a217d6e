//! Changing the registry's ranges: the `ranges` commands, and the ranges a repository declares
//! in atlas-ports.toml. Pure functions over a [`Registry`]; [`crate::Ports::change_ranges`] runs
//! them under the lock. Every check comes before the first change, so a refused change leaves
//! the registry as it was.

use crate::env_export;
use crate::error::{Error, Result};
use crate::registry::{PortRange, Registry};
use crate::validate;

/// Parses a range written `START-END` (`8100-8119`), both ends ports, START not above END.
pub fn parse_range(text: &str) -> Result<(u16, u16)> {
    let invalid =
        |reason: &str| Error::InvalidArgument { what: "range", value: text.to_owned(), reason: reason.to_owned() };
    let (start, end) = text.trim().split_once('-').ok_or_else(|| invalid("expected START-END, e.g. 8100-8119"))?;
    let (start, end) = (validate::parse_port(start)?, validate::parse_port(end)?);
    if start > end {
        return Err(invalid(&format!("start {start} is greater than end {end}")));
    }
    Ok((start, end))
}

/// The first other service whose range shares a port with `start`–`end`.
pub fn overlapping<'r>(
    registry: &'r Registry,
    service: &str,
    start: u16,
    end: u16,
) -> Option<(&'r str, &'r PortRange)> {
    registry
        .ranges
        .iter()
        .find(|(name, r)| name.as_str() != service && r.start <= end && start <= r.end)
        .map(|(name, r)| (name.as_str(), r))
}

/// Why `service` may not have the range `start`–`end` next to the registry's other ranges: it
/// overlaps one, or its variable (`PORT_…`) is another service's. `None` when it may.
pub fn conflict(registry: &Registry, service: &str, start: u16, end: u16) -> Option<String> {
    if let Some((other, r)) = overlapping(registry, service, start, end) {
        return Some(format!(
            "the range {start}-{end} of '{service}' overlaps the range of '{other}' ({}-{})",
            r.start, r.end
        ));
    }
    env_export::check_distinct(service, registry.ranges.keys().map(String::as_str)).err().map(|e| match e {
        Error::InvalidArgument { reason, .. } => reason,
        e => e.to_string(),
    })
}

/// Adds a range for a service that has none.
pub fn add(registry: &mut Registry, service: &str, range: PortRange) -> Result<()> {
    validate::service_name(service)?;
    validate::description(&range.description)?;
    if let Some(r) = registry.ranges.get(service) {
        return Err(refused(
            service,
            format!("already has the range {}-{}; `atlas-ports ranges set` changes it", r.start, r.end),
        ));
    }
    if let Some(reason) = conflict(registry, service, range.start, range.end) {
        return Err(refused(service, reason));
    }
    registry.ranges.insert(service.to_owned(), range);
    Ok(())
}

/// Changes a service's range (and its description when given). Refused while one of the
/// service's allocations would fall outside it. Returns whether anything changed.
pub fn set(registry: &mut Registry, service: &str, start: u16, end: u16, description: Option<&str>) -> Result<bool> {
    if let Some(d) = description {
        validate::description(d)?;
    }
    registry.range_of(service)?;
    if let Some(reason) = conflict(registry, service, start, end) {
        return Err(refused(service, reason));
    }
    let outside = held(registry, service, |port| !(start..=end).contains(&port));
    if !outside.is_empty() {
        return Err(refused(
            service,
            format!(
                "allocations would fall outside {start}-{end}: {outside}; release them first (`atlas-ports release PORT`)"
            ),
        ));
    }
    let range = registry.ranges.get_mut(service).expect("checked above");
    let changed = range.start != start || range.end != end || description.is_some_and(|d| d != range.description);
    range.start = start;
    range.end = end;
    if let Some(d) = description {
        range.description = d.to_owned();
    }
    Ok(changed)
}

/// Removes a service's range. Refused while the service holds allocations.
pub fn remove(registry: &mut Registry, service: &str) -> Result<PortRange> {
    registry.range_of(service)?;
    let count = registry.allocations.iter().filter(|a| a.service == service).count();
    if count > 0 {
        return Err(refused(
            service,
            format!(
                "still holds {}: {}; release them first (`atlas-ports release --worktree W --all`)",
                if count == 1 { "an allocation" } else { "allocations" },
                held(registry, service, |_| true)
            ),
        ));
    }
    Ok(registry.ranges.shift_remove(service).expect("checked above"))
}

/// A range as `ranges` lists it (`getRanges` in Node, in camelCase).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RangeInfo {
    pub service: String,
    pub start: u16,
    pub end: u16,
    pub description: String,
    /// The range's `health_path` member, when it has one.
    pub health_path: Option<String>,
    /// The range's `probe` member, when it has one.
    pub probe: Option<String>,
    /// How many allocations the service holds.
    pub allocated: usize,
}

/// Every range of the registry, in file order.
pub fn list(registry: &Registry) -> Vec<RangeInfo> {
    registry
        .ranges
        .iter()
        .map(|(service, r)| {
            let extra = |key: &str| r.extra(key).and_then(|v| v.as_str()).map(str::to_owned);
            RangeInfo {
                service: service.clone(),
                start: r.start,
                end: r.end,
                description: r.description.clone(),
                health_path: extra("health_path"),
                probe: extra("probe"),
                allocated: registry.allocations.iter().filter(|a| a.service == service.as_str()).count(),
            }
        })
        .collect()
}

/// The ranges as `ranges` prints them: one line each, `web  8080-8099  3 of 20 allocated  …`.
pub fn text(ranges: &[RangeInfo]) -> String {
    let width = ranges.iter().map(|r| r.service.chars().count()).max().unwrap_or(0);
    let mut out = String::new();
    for r in ranges {
        let size = u32::from(r.end) - u32::from(r.start) + 1;
        let range = format!("{}-{}", r.start, r.end);
        let used = format!("{}/{size}", r.allocated);
        out.push_str(&format!("{:<width$}  {range:<11}  {used:>11} allocated", r.service));
        if !r.description.is_empty() {
            out.push_str(&format!("  {}", r.description));
        }
        out.push('\n');
    }
    out
}

/// How many allocations a refusal names before it counts the rest.
const NAMED: usize = 8;

/// The service's allocations whose port `matches`, as `8080 ('wt'), …`: the first few named,
/// the rest counted. Empty when there are none.
fn held(registry: &Registry, service: &str, matches: impl Fn(u16) -> bool) -> String {
    let all: Vec<_> = registry.allocations.iter().filter(|a| a.service == service && matches(a.port)).collect();
    let mut text = all
        .iter()
        .take(NAMED)
        .map(|a| format!("{} ('{}')", a.port, crate::printable(&a.worktree)))
        .collect::<Vec<_>>()
        .join(", ");
    if all.len() > NAMED {
        text.push_str(&format!(" and {} more", all.len() - NAMED));
    }
    text
}

fn refused(service: &str, reason: String) -> Error {
    Error::InvalidArgument { what: "range for service", value: service.to_owned(), reason }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::AllocateRequest;

    fn registry() -> Registry {
        let mut reg = Registry::with_default_ranges("t");
        reg.allocate(&AllocateRequest::new("web", "w"), "t", "", &mut |_| true).unwrap();
        reg
    }

    #[test]
    fn ranges_parse_as_start_dash_end() {
        assert_eq!(parse_range("8100-8119").unwrap(), (8100, 8119));
        assert_eq!(parse_range(" 1-65535 ").unwrap(), (1, 65535));
        for (bad, code) in [
            ("0-10", "ERR_INVALID_PORT"),
            ("10-70000", "ERR_INVALID_PORT"),
            ("20-10", "ERR_INVALID_ARGUMENT"),
            ("8100", "ERR_INVALID_ARGUMENT"),
            ("a-b", "ERR_INVALID_PORT"),
        ] {
            assert_eq!(parse_range(bad).unwrap_err().code(), code, "{bad}");
        }
        assert!(parse_range("20-10").unwrap_err().to_string().contains("start 20 is greater than end 10"));
    }

    #[test]
    fn add_set_and_remove_keep_the_rules() {
        let mut reg = registry();
        add(&mut reg, "admin", PortRange::new(8100, 8109, "Admin UI")).unwrap();
        assert_eq!(reg.ranges.keys().last().unwrap(), "admin");
        let err = add(&mut reg, "grpc", PortRange::new(8095, 8100, "")).unwrap_err().to_string();
        assert!(err.contains("the range 8095-8100 of 'grpc' overlaps the range of 'web' (8080-8099)"), "{err}");
        assert!(
            add(&mut reg, "admin", PortRange::new(9500, 9509, "")).unwrap_err().to_string().contains("already has")
        );
        let err = add(&mut reg, "ADMIN", PortRange::new(9500, 9509, "")).unwrap_err().to_string();
        assert!(err.contains("'admin' and 'ADMIN' both map to the variable PORT_ADMIN"), "{err}");
        // web holds 8080: it may widen, not leave 8080 behind.
        assert!(set(&mut reg, "web", 8080, 8079 + 20, None).is_ok_and(|changed| !changed));
        let err = set(&mut reg, "web", 8081, 8099, None).unwrap_err().to_string();
        assert!(err.contains("allocations would fall outside 8081-8099: 8080 ('w')"), "{err}");
        assert!(set(&mut reg, "web", 8070, 8099, Some("Web")).unwrap());
        assert_eq!((reg.ranges["web"].start, reg.ranges["web"].description.as_str()), (8070, "Web"));
        assert_eq!(set(&mut reg, "nope", 1, 2, None).unwrap_err().code(), "ERR_UNKNOWN_SERVICE");
        assert!(remove(&mut reg, "web").unwrap_err().to_string().contains("still holds an allocation: 8080 ('w')"));
        assert_eq!(remove(&mut reg, "admin").unwrap().start, 8100);
        assert!(!reg.ranges.contains_key("admin"));
    }
}
