//! The proxy behind named URLs as a long-lived service: its stable default port, the state file
//! a running proxy leaves beside the registry (`proxy.json`), and the named URL each allocation
//! is handed out with while one runs. The model and its checks only; reading and writing the
//! file is the native host's.

use crate::names;
use serde::{Deserialize, Serialize};

/// The port named URLs live on unless told otherwise (portless's, so both are found at one
/// address by habit).
pub const DEFAULT_PORT: u16 = 1355;
/// The environment variable that chooses the proxy's port (after `--port`, before
/// `[proxy] port` in atlas-ports.toml).
pub const PORT_ENV: &str = "ATLAS_PORTS_PROXY_PORT";
/// The state file's name, beside the registry.
pub const STATE_FILE: &str = "proxy.json";
/// The background proxy's log file's name, beside the registry.
pub const LOG_FILE: &str = "proxy.log";
/// The most bytes a state file may have: anything larger was not written by atlas-ports.
pub const MAX_STATE_BYTES: usize = 64 * 1024;

/// What a running proxy records about itself in `proxy.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProxyRecord {
    /// Its process id.
    pub pid: u32,
    /// The operating system's start time of that process (what proves a PID was not reused);
    /// 0 where the system gives none, and then nothing is ever proven about the process.
    pub start_time: u64,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    /// The absolute path of the registry it serves.
    pub registry: String,
    /// When it started listening (RFC 3339, UTC).
    pub started_at: String,
    /// The atlas-ports version that wrote it.
    pub version: String,
}

impl ProxyRecord {
    /// Parses a state file's bytes, refusing what atlas-ports would never write: the reason
    /// is for a warning (a corrupt or hand-edited file means "not running").
    pub fn parse(bytes: &[u8]) -> Result<ProxyRecord, String> {
        if bytes.len() > MAX_STATE_BYTES {
            return Err(format!("is larger than {MAX_STATE_BYTES} bytes"));
        }
        let record: ProxyRecord = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        if record.pid == 0 {
            return Err("names process 0".to_owned());
        }
        if record.port == 0 {
            return Err("names port 0".to_owned());
        }
        Ok(record)
    }

    /// The file's text: pretty JSON and a final newline.
    pub fn to_text(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a proxy record serialises");
        text.push('\n');
        text
    }
}

/// Whether named URLs are handed out as `http://` or `https://` (`[proxy] https = true`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    #[default]
    Http,
    Https,
}

impl Scheme {
    /// `http` or `https`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// The named URLs of a running proxy: its scheme and port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NamedUrls {
    pub scheme: Scheme,
    pub port: u16,
}

impl NamedUrls {
    /// `http://<service>.<worktree>.localhost:<port>`: no trailing slash, so that a path can be
    /// appended as it is to `$URL_WEB`.
    pub fn url(&self, service: &str, worktree: &str) -> String {
        format!("{}://{}", self.scheme.as_str(), names::host_of(service, worktree, self.port))
    }

    /// `(URL_<SERVICE>, url)` for each `(service, port)` of a worktree, in the given order; a
    /// service named twice is given once.
    pub fn variables<'a>(&self, worktree: &str, services: impl IntoIterator<Item = &'a str>) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for service in services {
            let name = crate::env_export::url_variable_name(service);
            if !out.iter().any(|(n, _)| *n == name) {
                out.push((name, self.url(service, worktree)));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> ProxyRecord {
        ProxyRecord {
            pid: 42,
            start_time: 7,
            port: 1355,
            registry: "/r/ports.json".into(),
            started_at: "2026-01-01T00:00:00Z".into(),
            version: "1.0.0".into(),
        }
    }

    #[test]
    fn a_record_round_trips_and_what_atlas_ports_never_writes_is_refused() {
        let r = record();
        assert_eq!(ProxyRecord::parse(r.to_text().as_bytes()).unwrap(), r);
        assert!(ProxyRecord::parse(b"{").is_err());
        let zero = r.to_text().replace("\"pid\": 42", "\"pid\": 0");
        assert_eq!(ProxyRecord::parse(zero.as_bytes()).unwrap_err(), "names process 0");
        let extra = r.to_text().replacen('{', "{\"evil\": 1,", 1);
        assert!(ProxyRecord::parse(extra.as_bytes()).unwrap_err().contains("unknown field"));
        let port = r.to_text().replace("1355", "70000");
        assert!(ProxyRecord::parse(port.as_bytes()).is_err());
    }

    #[test]
    fn urls_follow_the_host_names_and_the_scheme() {
        let urls = NamedUrls { scheme: Scheme::Http, port: 1355 };
        assert_eq!(urls.url("web", "pr-42"), "http://web.pr-42.localhost:1355");
        assert_eq!(urls.url("Web_App", "feature/Login"), "http://web-app.feature-login.localhost:1355");
        let tls = NamedUrls { scheme: Scheme::Https, port: 4000 };
        assert_eq!(
            tls.variables("pr-42", ["web", "api", "web"]),
            [
                ("URL_WEB".to_owned(), "https://web.pr-42.localhost:4000".to_owned()),
                ("URL_API".to_owned(), "https://api.pr-42.localhost:4000".to_owned())
            ]
        );
    }
}
