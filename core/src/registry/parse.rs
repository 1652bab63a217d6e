//! Reading and writing registry text. A parse error names the line, column and field; semantic
//! rules (a range's start not after its end) name the field. Valid-but-suspicious registries
//! (duplicate ports, a port outside its range) load: those are conflicts, reported elsewhere.

use super::model::Registry;
use super::scan;
use super::splice::Layout;

impl Registry {
    /// Parses registry JSON text. The error is a human-readable reason naming where it failed.
    pub fn from_json(text: &str) -> Result<Registry, String> {
        Registry::from_json_laid_out(text).map(|(registry, _)| registry)
    }

    /// [`Registry::from_json`], with the layout an append can splice into when the parse
    /// learned it ([`super::scan`]).
    pub(crate) fn from_json_laid_out(text: &str) -> Result<(Registry, Option<Layout>), String> {
        match scan::parse(text) {
            Some(scanned) => Ok((scanned.registry, scanned.layout)),
            None => Registry::from_json_whole(text).map(|registry| (registry, None)),
        }
    }

    /// Parses the whole text in one go: the reference for [`super::scan`], and the way to the
    /// error message.
    pub(crate) fn from_json_whole(text: &str) -> Result<Registry, String> {
        if text.trim().is_empty() {
            return Err("the file is empty; expected a JSON object with \"ranges\" and \"allocations\"".into());
        }
        let registry: Registry = match serde_json::from_str(text) {
            Ok(r) => r,
            // Parse again, slowly, only to learn which field failed.
            Err(fast) => return Err(locate(text, fast)),
        };
        registry.check()?;
        Ok(registry)
    }

    /// The registry as pretty JSON text with a final newline, the layout of the reference files.
    pub fn to_json(&self) -> String {
        let mut out = Vec::with_capacity(4096 + 320 * self.allocations.len());
        self.write_json(&mut out).expect("writing to memory cannot fail");
        String::from_utf8(out).expect("serde_json writes UTF-8")
    }

    /// Streams [`Registry::to_json`]'s text into `out` (buffer it: the writes are small).
    pub fn write_json(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        serde_json::to_writer_pretty(&mut *out, self)?;
        out.write_all(b"\n")
    }

    /// Rules a parse cannot express.
    pub(super) fn check(&self) -> Result<(), String> {
        for (name, range) in &self.ranges {
            if name.is_empty() {
                return Err("ranges: a service name is empty".into());
            }
            if range.start > range.end {
                return Err(format!("ranges.{name}: start {} is greater than end {}", range.start, range.end));
            }
        }
        self.check_canonical_ports()?;
        for (i, a) in self.allocations.iter().enumerate() {
            if a.worktree.is_empty() {
                return Err(format!("allocations[{i}].worktree: must not be empty"));
            }
            if a.service.is_empty() {
                return Err(format!("allocations[{i}].service: must not be empty"));
            }
        }
        Ok(())
    }
}

fn locate(text: &str, fast: serde_json::Error) -> String {
    let mut de = serde_json::Deserializer::from_str(text);
    match serde_path_to_error::deserialize::<_, Registry>(&mut de) {
        Err(e) => {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if path == "." || path.is_empty() || inner.is_syntax() || inner.is_eof() {
                describe(&inner)
            } else {
                format!("{path}: {}", describe(&inner))
            }
        }
        Ok(_) => describe(&fast),
    }
}

fn describe(e: &serde_json::Error) -> String {
    // serde_json already says "at line L column C"; keep its wording.
    e.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        Registry::from_json(text).unwrap_err()
    }

    #[test]
    fn syntax_errors_name_line_and_column() {
        let e = err("{\n  \"ranges\": {},\n  \"allocations\": [\n");
        assert!(e.contains("line 4 column 0"), "{e}");
        let e = err("{\"ranges\": {}, \"allocations\": [] ");
        assert!(e.contains("EOF"), "{e}");
    }

    #[test]
    fn type_errors_name_the_field() {
        let e = err(
            r#"{"ranges": {"web": {"start": 8080, "end": 8099}}, "allocations": [{"port": "8080", "worktree": "w", "service": "web"}]}"#,
        );
        assert!(
            e.starts_with("allocations[0].port: invalid type: string \"8080\", expected a port number from 1 to 65535"),
            "{e}"
        );
        let e = err(r#"{"ranges": {"web": {"start": 0, "end": 8099}}, "allocations": []}"#);
        assert!(e.starts_with("ranges.web.start: invalid value: integer `0`"), "{e}");
        let e = err(
            r#"{"ranges": {"web": {"start": 8080, "end": 8099}}, "allocations": [{"port": 70000, "worktree": "w", "service": "web"}]}"#,
        );
        assert!(e.contains("integer `70000`, expected a port number"), "{e}");
    }

    #[test]
    fn structural_errors() {
        assert!(err("").contains("empty"));
        assert!(err("   \n\t").contains("empty"));
        assert!(err("[]").contains("expected a port registry object"), "{}", err("[]"));
        assert!(err("{}").contains("missing field `ranges`"), "{}", err("{}"));
        assert!(err(r#"{"ranges": {}}"#).contains("missing field `allocations`"));
        let e = err(r#"{"ranges": {"web": {"start": 9000, "end": 8000}}, "allocations": []}"#);
        assert_eq!(e, "ranges.web: start 9000 is greater than end 8000");
        let e = err(r#"{"ranges": {}, "allocations": [{"port": 1, "port": 2, "worktree": "w", "service": "s"}]}"#);
        assert!(e.contains("duplicate field `port`"), "{e}");
    }

    #[test]
    fn a_key_named_twice_is_corrupt_and_named() {
        let e = err(
            r#"{"ranges": {"web": {"start": 8080, "end": 8099}, "web": {"start": 9000, "end": 9099}}, "allocations": []}"#,
        );
        assert!(e.contains("ranges") && e.contains("the service `web` has two ranges"), "{e}");
        let e = err(r#"{"ranges": {}, "allocations": [], "team": 1, "team": 2}"#);
        assert!(e.contains("duplicate key `team`"), "{e}");
        let e = err(r#"{"ranges": {}, "ranges": {}, "allocations": []}"#);
        assert!(e.contains("duplicate field `ranges`"), "{e}");
    }

    #[test]
    fn unknown_members_and_key_order_survive_a_round_trip() {
        let text = r#"{
  "team": {"owner": "platform"},
  "ranges": {
    "web": {"probe": {"path": "/healthz"}, "start": 8080, "end": 8099, "description": "Web"}
  },
  "allocations": [
    {"service": "web", "port": 8080, "worktree": "a", "ticket": "GH-42", "allocated_at": "2025-12-31T10:00:00Z",
     "allocated_by": "u@h", "description": "", "process_id": null, "health_status": "unknown"}
  ],
  "metadata": {"version": "1.0.0", "last_updated": "x", "total_allocations": 1, "schema_version": 1, "note": [1, 2]},
  "z_last": true
}"#;
        let reg = Registry::from_json(text).unwrap();
        assert_eq!(reg.extra("team").unwrap()["owner"], "platform");
        assert_eq!(reg.ranges["web"].extra("probe").unwrap()["path"], "/healthz");
        assert_eq!(reg.allocations[0].extra("ticket").unwrap(), "GH-42");
        let out = reg.to_json();
        let keys = |v: &serde_json::Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(keys(&v), ["team", "ranges", "allocations", "metadata", "z_last"]);
        assert_eq!(keys(&v["ranges"]["web"]), ["probe", "start", "end", "description"]);
        assert_eq!(keys(&v["allocations"][0])[..4], ["service", "port", "worktree", "ticket"]);
        assert_eq!(v["metadata"]["note"], serde_json::json!([1, 2]));
        // Serialise → parse is the identity.
        assert_eq!(Registry::from_json(&out).unwrap(), reg);
        assert_eq!(Registry::from_json(&out).unwrap().to_json(), out);
    }

    #[test]
    fn numbers_we_do_not_model_keep_their_exact_text() {
        // Found by fuzzing: a number beyond f64's precision used to come back rounded.
        let text = r#"{"ranges": {}, "allocations": [], "x": 677777777777700000000000000000001844674899, "y": 0.1000000000000000055511151231257827, "z": 1e400}"#;
        let reg = Registry::from_json(text).unwrap();
        let out = reg.to_json();
        // (An exponent comes back with its sign spelled out: 1e400 as 1e+400, the same number.)
        for exact in ["677777777777700000000000000000001844674899", "0.1000000000000000055511151231257827", "1e+400"] {
            assert!(out.contains(exact), "{exact} changed: {out}");
        }
        assert_eq!(Registry::from_json(&out).unwrap(), reg);
    }

    #[test]
    fn defaults_round_trip_and_have_the_six_ranges() {
        let reg = Registry::with_default_ranges("2025-12-31T10:00:00Z");
        let names: Vec<_> = reg.ranges.keys().map(String::as_str).collect();
        assert_eq!(names, ["web", "database", "testing", "debug", "api", "cache"]);
        assert_eq!(reg.ranges["testing"].len(), 100);
        let text = reg.to_json();
        assert!(text.starts_with("{\n  \"ranges\": {\n    \"web\": {\n      \"start\": 8080,"), "{text}");
        assert_eq!(Registry::from_json(&text).unwrap(), reg);
    }
}
