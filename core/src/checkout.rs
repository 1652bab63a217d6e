//! Checkouts: which worktree a service's canonical port (`canonical = 3000` in
//! atlas-ports.toml) forwards to. At most one worktree holds a canonical port at a time; the
//! record is `checkouts.json` beside the registry, written by `atlas-ports checkout` and read
//! by the server that forwards the ports. The model, its text and its checks; no I/O.
//!
//! ```json
//! {"version": 1, "checkouts": {"web": {"port": 3000, "worktree": "pr-42",
//!   "path": "/src/app/pr-42", "git_id": "pr-42", "since": "2026-01-01T10:00:00Z"}}}
//! ```

use crate::error::{Error, Result};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The file's name, in the registry's folder.
pub const CHECKOUTS_FILE: &str = "checkouts.json";
/// The one version of the file there is.
pub const CHECKOUTS_VERSION: u32 = 1;

/// Who holds one canonical port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkout {
    /// The canonical port.
    pub port: u16,
    /// The worktree's name in the registry: its allocation of the service is where the port
    /// forwards.
    pub worktree: String,
    /// The worktree's folder, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Git's id of the worktree, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_id: Option<String>,
    /// When it was checked out (RFC 3339, UTC).
    pub since: String,
}

/// The whole file: each service's checkout, by service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckoutsFile {
    pub version: u32,
    #[serde(default)]
    pub checkouts: IndexMap<String, Checkout>,
}

impl Default for CheckoutsFile {
    fn default() -> Self {
        CheckoutsFile { version: CHECKOUTS_VERSION, checkouts: IndexMap::new() }
    }
}

/// What [`CheckoutsFile::check_out`] changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// The worktree held it already.
    Already,
    /// Nobody held it.
    New,
    /// Another worktree held it: this one.
    MovedFrom(String),
}

impl CheckoutsFile {
    /// Parses and checks the file's bytes; `path` is named in the error, which says what is
    /// wrong (the file is never rewritten from a guess).
    pub fn parse(path: &Path, bytes: &[u8]) -> Result<CheckoutsFile> {
        let unusable =
            |reason: String| Error::UnusableWorktreeFile { what: "checkouts file", path: path.to_owned(), reason };
        let file: CheckoutsFile = serde_json::from_slice(bytes)
            .map_err(|e| unusable(format!("is not a checkouts file written by atlas-ports ({e})")))?;
        file.check().map_err(unusable)?;
        Ok(file)
    }

    /// Why the file cannot stand, in words that complete "it …".
    fn check(&self) -> std::result::Result<(), String> {
        if self.version != CHECKOUTS_VERSION {
            return Err(format!("has version {}; this atlas-ports reads version {CHECKOUTS_VERSION}", self.version));
        }
        let mut seen = std::collections::HashMap::new();
        for (service, c) in &self.checkouts {
            crate::validate::service_name(service).map_err(|e| format!("has a bad service name: {e}"))?;
            crate::validate::worktree_id(&c.worktree)
                .map_err(|e| format!("has a bad worktree name for '{service}': {e}"))?;
            if c.port == 0 {
                return Err(format!("gives '{service}' the port 0"));
            }
            if let Some(other) = seen.insert(c.port, service) {
                return Err(format!("gives the port {} to both '{other}' and '{service}'", c.port));
            }
        }
        Ok(())
    }

    /// The file's text: pretty JSON with a final newline.
    pub fn text(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a checkouts file serialises");
        text.push('\n');
        text
    }

    /// Records that `checkout.worktree` holds the canonical port of `service`, replacing
    /// whoever held it.
    pub fn check_out(&mut self, service: &str, checkout: Checkout) -> Recorded {
        match self.checkouts.get(service) {
            Some(old) if old.worktree == checkout.worktree && old.port == checkout.port => Recorded::Already,
            old => {
                let recorded = match old {
                    Some(old) if old.worktree != checkout.worktree => Recorded::MovedFrom(old.worktree.clone()),
                    _ => Recorded::New,
                };
                // Another service on this port (a changed declaration) gives it up.
                self.checkouts.retain(|s, c| s == service || c.port != checkout.port);
                self.checkouts.insert(service.to_owned(), checkout);
                recorded
            }
        }
    }

    /// Removes the checkouts `worktree` holds (of `service` only, when given); answers the
    /// services released. Another worktree's checkout is never touched.
    pub fn release(&mut self, worktree: &str, service: Option<&str>) -> Vec<(String, Checkout)> {
        let mut released = Vec::new();
        self.checkouts.retain(|s, c| {
            let ours = c.worktree == worktree && service.is_none_or(|w| w == s);
            if ours {
                released.push((s.clone(), c.clone()));
            }
            !ours
        });
        released
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(worktree: &str, port: u16) -> Checkout {
        Checkout { port, worktree: worktree.into(), path: None, git_id: None, since: "t".into() }
    }

    #[test]
    fn a_checkout_moves_and_releases_only_its_own() {
        let mut f = CheckoutsFile::default();
        assert_eq!(f.check_out("web", held("a", 3000)), Recorded::New);
        assert_eq!(f.check_out("web", held("a", 3000)), Recorded::Already);
        assert_eq!(f.check_out("web", held("b", 3000)), Recorded::MovedFrom("a".into()));
        assert_eq!(f.check_out("api", held("a", 4000)), Recorded::New);
        assert!(f.release("a", Some("web")).is_empty(), "b holds web");
        assert_eq!(f.checkouts["web"].worktree, "b");
        let released = f.release("a", None);
        assert_eq!(released.iter().map(|(s, _)| s.as_str()).collect::<Vec<_>>(), ["api"]);
        assert_eq!(f.release("b", None).len(), 1);
        assert!(f.checkouts.is_empty());
    }

    #[test]
    fn the_text_round_trips_and_bad_files_are_named() {
        let mut f = CheckoutsFile::default();
        f.check_out("web", Checkout { path: Some("/w/a".into()), git_id: Some("a".into()), ..held("a", 3000) });
        let p = Path::new("/r/checkouts.json");
        assert_eq!(CheckoutsFile::parse(p, f.text().as_bytes()).unwrap(), f);
        let err = |text: &str| CheckoutsFile::parse(p, text.as_bytes()).unwrap_err();
        let e = err("{");
        assert_eq!(e.code(), "ERR_UNUSABLE_FILE");
        assert!(
            e.to_string().starts_with("cannot use /r/checkouts.json as the checkouts file: it is not a checkouts file"),
            "{e}"
        );
        assert!(err(r#"{"version":2,"checkouts":{}}"#).to_string().contains("has version 2"));
        assert!(
            err(r#"{"version":1,"checkouts":{"web":{"port":0,"worktree":"a","since":"t"}}}"#)
                .to_string()
                .contains("gives 'web' the port 0")
        );
        assert!(
            err(r#"{"version":1,"checkouts":{"web":{"port":1,"worktree":"a","since":"t"},"api":{"port":1,"worktree":"b","since":"t"}}}"#)
                .to_string()
                .contains("gives the port 1 to both 'web' and 'api'")
        );
        assert!(err(r#"{"version":1,"checkouts":{},"x":1}"#).to_string().contains("unknown field"));
    }
}
