//! Canonical ports kept out of every range: `"canonical_ports": {"3000": "web"}` at the top of the
//! registry (our addition; the reference scripts keep it as an unknown member and ignore it).
//! A project file's `canonical = 3000` lands here on first use, and from then on no worktree is
//! allocated :3000, whichever tool or branch allocates, so `checkout` can always forward it.

use super::model::Registry;
use serde_json::Value;

/// The registry's top-level member that holds the canonical ports.
pub const CANONICAL_PORTS: &str = "canonical_ports";

/// The registry's known top-level members (`ranges`, `allocations`, `metadata`).
const REGISTRY_FIELDS: u8 = 3;

impl Registry {
    /// The canonical ports, each with the service it is canonical for, in file order.
    pub fn canonical_ports(&self) -> impl Iterator<Item = (u16, &str)> {
        self.extra(CANONICAL_PORTS)
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter_map(|(port, service)| Some((port_of(port)?, service.as_str()?)))
    }

    /// The service `port` is canonical for, when it is one.
    pub fn canonical_for(&self, port: u16) -> Option<&str> {
        self.canonical_ports().find(|&(p, _)| p == port).map(|(_, s)| s)
    }

    /// Records `port` as `service`'s canonical port; returns whether that changed anything.
    /// The caller has checked that no other service has it.
    pub(crate) fn reserve_canonical(&mut self, port: u16, service: &str) -> bool {
        if self.canonical_for(port) == Some(service) {
            return false;
        }
        let ports = self.members.unknown_entry(REGISTRY_FIELDS, CANONICAL_PORTS);
        if let Value::Object(ports) = ports {
            ports.insert(port.to_string(), Value::from(service));
        } else {
            *ports = Value::Object([(port.to_string(), Value::from(service))].into_iter().collect());
        }
        true
    }

    /// The rule a parse cannot express: an object of ports (1-65535) to service names.
    pub(super) fn check_canonical_ports(&self) -> Result<(), String> {
        let Some(value) = self.extra(CANONICAL_PORTS) else { return Ok(()) };
        let Some(ports) = value.as_object() else {
            return Err(format!("{CANONICAL_PORTS}: must be an object like {{\"3000\": \"web\"}}"));
        };
        for (port, service) in ports {
            if port_of(port).is_none() || service.as_str().is_none_or(str::is_empty) {
                return Err(format!(
                    "{CANONICAL_PORTS}.{port}: must be a port from 1 to 65535 naming a service, like \"3000\": \"web\""
                ));
            }
        }
        Ok(())
    }
}

/// A member name that is a port as `to_string` writes it: digits, no leading zero, 1-65535.
fn port_of(key: &str) -> Option<u16> {
    if key.is_empty() || key.len() > 5 || key.starts_with('0') || !key.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = key.bytes().fold(0u32, |n, b| n * 10 + u32::from(b - b'0'));
    u16::try_from(n).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_ports_are_kept_at_the_end_and_survive_a_round_trip() {
        let mut reg = Registry::with_default_ranges("t");
        assert!(reg.reserve_canonical(3000, "web"));
        assert!(!reg.reserve_canonical(3000, "web"), "a second time changes nothing");
        assert!(reg.reserve_canonical(4000, "admin"));
        let text = reg.to_json();
        let back = Registry::from_json(&text).unwrap();
        assert_eq!(back.canonical_ports().collect::<Vec<_>>(), [(3000, "web"), (4000, "admin")]);
        assert_eq!(back.canonical_for(4000), Some("admin"));
        assert_eq!(back.canonical_for(3001), None);
        let v: Value = serde_json::from_str(&text).unwrap();
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["ranges", "allocations", "metadata", CANONICAL_PORTS]);
    }

    #[test]
    fn a_hand_edited_entry_that_is_not_a_port_is_refused_naming_it() {
        let base = r#"{"ranges": {}, "allocations": [], "canonical_ports": "#;
        let err = |v: &str| Registry::from_json(&format!("{base}{v}}}")).unwrap_err();
        assert!(err("[3000]").contains("canonical_ports: must be an object like {\"3000\": \"web\"}"));
        for bad in [r#""70000": "web""#, r#""0": "web""#, r#""03000": "web""#, r#""3000": 1"#, r#""3000": """#] {
            let port = &bad[1..bad[1..].find('"').unwrap() + 1];
            let e = err(&format!("{{{bad}}}"));
            assert!(
                e.contains(&format!("canonical_ports.{port}: must be a port from 1 to 65535 naming a service")),
                "{e}"
            );
        }
        assert!(Registry::from_json(&format!("{base}{{\"3000\": \"web\"}}}}")).is_ok());
    }
}
