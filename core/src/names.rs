//! Named URLs: `http://<service>.<worktree>.localhost:<dashboard port>/` stands for a worktree's
//! service, whatever port it holds today. Browsers resolve every `*.localhost` name to the
//! loopback address themselves (RFC 6761), so no hosts file is edited.
//!
//! A host label is at most 63 of `a-z`, `0-9` and `-`, neither first nor last a `-`; worktree
//! and service names are free text, so each is mapped to one predictably
//! ([`host_label`]): ASCII letters are lower-cased, every run of other characters becomes one
//! `-`, and `-` is trimmed from both ends; the result is cut to 63 characters; a name with no
//! letter or digit at all becomes `x`. `feature/Login_v2` is `feature-login-v2`. Two worktrees
//! whose names map to the same label share a name: [`route`] then answers
//! [`Route::Ambiguous`] and the page lists both with their ports.

use crate::registry::Allocation;

/// The longest host label (RFC 1035).
pub const MAX_LABEL: usize = 63;

/// The label that stands for a worktree or service name in a host name.
pub fn host_label(name: &str) -> String {
    let mut label = String::with_capacity(name.len().min(MAX_LABEL));
    let mut gap = false;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            if gap && !label.is_empty() {
                label.push('-');
            }
            gap = false;
            label.push(c.to_ascii_lowercase());
        } else {
            gap = true;
        }
        if label.len() >= MAX_LABEL {
            break;
        }
    }
    label.truncate(MAX_LABEL);
    while label.ends_with('-') {
        label.pop();
    }
    if label.is_empty() { "x".to_owned() } else { label }
}

/// The named URL of an allocation behind a proxy listening on `proxy_port`.
pub fn url(allocation: &Allocation, proxy_port: u16) -> String {
    format!("http://{}/", host(allocation, proxy_port))
}

/// The host (with port) of an allocation's named URL.
pub fn host(allocation: &Allocation, proxy_port: u16) -> String {
    host_of(&allocation.service, &allocation.worktree, proxy_port)
}

/// The host (with port) of a worktree's service's named URL.
pub fn host_of(service: &str, worktree: &str, proxy_port: u16) -> String {
    format!("{}.{}.localhost:{proxy_port}", host_label(service), host_label(worktree))
}

/// A request's `Host`, taken apart: the name in lower case without a trailing dot, and the port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHost {
    pub name: String,
    pub port: Option<u16>,
}

impl RequestHost {
    /// Parses a `Host` header value (`web.pr-42.localhost:4100`, `127.0.0.1:4100`,
    /// `[::1]:4100`) strictly (RFC 9110 §7.2, RFC 3986 §3.2.2); `None` unless it is exactly a
    /// host and an optional port:
    /// - a name is dot-separated labels of 1 to 63 ASCII letters, digits, `-`, none empty
    ///   (`localhost..`, `.localhost` and `a..b` are not names), at most 253 characters; one
    ///   trailing dot (the root) is allowed and dropped;
    /// - an IP literal is `[` hex digits, `:` and `.` `]`;
    /// - a port is 1 to 5 ASCII digits, at most 65535: no sign (`+4100`), no space, not empty.
    ///
    /// A looser parse lets two programs read one header two ways: the proxy's routing and the
    /// service behind it must agree on what was asked for.
    pub fn parse(value: &str) -> Option<RequestHost> {
        let value = value.trim_matches([' ', '\t']);
        let (name, port) = if let Some(rest) = value.strip_prefix('[') {
            let (inside, after) = rest.split_once(']')?;
            let literal = !inside.is_empty()
                && inside.len() <= 45
                && inside.contains(':')
                && inside.bytes().all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
            if !literal {
                return None;
            }
            let port = match after {
                "" => None,
                p => Some(parse_port(p.strip_prefix(':')?)?),
            };
            (format!("[{}]", inside.to_ascii_lowercase()), port)
        } else {
            let (name, port) = match value.split_once(':') {
                Some((name, port)) => (name, Some(parse_port(port)?)),
                None => (value, None),
            };
            let name = name.strip_suffix('.').unwrap_or(name);
            let labels_ok = name.len() <= 253
                && name.split('.').all(|label| {
                    (1..=MAX_LABEL).contains(&label.len())
                        && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                });
            if !labels_ok {
                return None;
            }
            (name.to_ascii_lowercase(), port)
        };
        Some(RequestHost { name, port })
    }

    /// The labels before `.localhost`, when the name is under `localhost` (and not `localhost`
    /// itself).
    pub fn localhost_labels(&self) -> Option<Vec<&str>> {
        let stem = self.name.strip_suffix(".localhost")?;
        Some(stem.split('.').collect())
    }
}

/// A port as `Host` writes it: 1 to 5 ASCII digits, at most 65535.
fn parse_port(text: &str) -> Option<u16> {
    if text.is_empty() || text.len() > 5 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Where a named host leads.
#[derive(Debug, Clone, PartialEq)]
pub enum Route<'r> {
    /// One allocation: proxy to its port.
    Service(&'r Allocation),
    /// Several allocations share the name (worktree names that map to one label, or a
    /// worktree holding a service twice).
    Ambiguous(Vec<&'r Allocation>),
    /// `<service>.<worktree>.localhost`, but no allocation has that name.
    Unknown { service: String, worktree: String },
}

/// Routes a `<service>.<worktree>.localhost` name; `None` when the host is not of that form.
pub fn route<'r>(host: &RequestHost, allocations: &'r [Allocation]) -> Option<Route<'r>> {
    let labels = host.localhost_labels()?;
    let [service, worktree] = labels.as_slice() else {
        return None;
    };
    if service.is_empty() || worktree.is_empty() {
        return None;
    }
    let found: Vec<&Allocation> = allocations
        .iter()
        .filter(|a| host_label(&a.service) == *service && host_label(&a.worktree) == *worktree)
        .collect();
    Some(match found.len() {
        0 => Route::Unknown { service: (*service).to_owned(), worktree: (*worktree).to_owned() },
        1 => Route::Service(found[0]),
        _ => Route::Ambiguous(found),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alloc(port: u16, worktree: &str, service: &str) -> Allocation {
        let mut reg = crate::registry::Registry::with_default_ranges("t");
        let new = crate::registry::AllocateRequest {
            preferred: Some(port),
            ..crate::registry::AllocateRequest::new(service, worktree)
        };
        let a = reg.allocate(&new, "t", "", &mut |_| true).unwrap().clone();
        assert_eq!(a.port, port);
        a
    }

    #[test]
    fn labels_are_lower_case_letters_digits_and_single_inner_dashes() {
        assert_eq!(host_label("feature/Login_v2"), "feature-login-v2");
        assert_eq!(host_label("review-GH-42"), "review-gh-42");
        assert_eq!(host_label("--a  b--"), "a-b");
        assert_eq!(host_label("pr.42"), "pr-42");
        assert_eq!(host_label("café crème"), "caf-cr-me");
        assert_eq!(host_label("日本語"), "x");
        assert_eq!(host_label("-"), "x");
        let long = "a".repeat(62) + "-bcd";
        assert_eq!(host_label(&long), "a".repeat(62));
        assert_eq!(host_label(&"z".repeat(300)).len(), MAX_LABEL);
    }

    #[test]
    fn every_label_is_a_valid_host_label() {
        for name in ["", " ", "a", "A-", "-b", "x..y", "über", "1", "a/b/c", &"é".repeat(100), &"ab-".repeat(40)] {
            let l = host_label(name);
            assert!(!l.is_empty() && l.len() <= MAX_LABEL, "{name:?} -> {l:?}");
            assert!(l.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'), "{l:?}");
            assert!(!l.starts_with('-') && !l.ends_with('-') && !l.contains("--"), "{name:?} -> {l:?}");
        }
    }

    #[test]
    fn hosts_parse_with_and_without_ports() {
        let h = RequestHost::parse("Web.PR-42.localhost.:4100").unwrap();
        assert_eq!(h, RequestHost { name: "web.pr-42.localhost".into(), port: Some(4100) });
        assert_eq!(h.localhost_labels().unwrap(), ["web", "pr-42"]);
        assert_eq!(RequestHost::parse("[::1]:80").unwrap().name, "[::1]");
        assert_eq!(RequestHost::parse("localhost").unwrap().port, None);
        assert!(RequestHost::parse("localhost").unwrap().localhost_labels().is_none());
        assert!(RequestHost::parse("evil.example:99999").is_none());
        assert!(RequestHost::parse("a b").is_none());
        assert!(RequestHost::parse("").is_none());
    }

    #[test]
    fn hosts_are_parsed_strictly() {
        assert_eq!(RequestHost::parse("localhost.:4100").unwrap().name, "localhost");
        assert_eq!(RequestHost::parse("[::1]").unwrap().port, None);
        assert_eq!(RequestHost::parse("localhost:00080").unwrap().port, Some(80));
        for bad in [
            "localhost..:4100",
            "localhost:+4100",
            "localhost:-1",
            "localhost: 4100",
            "localhost:",
            "localhost:4100:4100",
            "localhost:041000",
            ".localhost:4100",
            "web..localhost:4100",
            "web.pr_1.localhost:4100",
            "web.pr-1.localhost%00:4100",
            "a@localhost:4100",
            "localhost/x:4100",
            "[::1",
            "[]:80",
            "[::1]80",
            "[::1]:+80",
            "[fe80::1%25eth0]:80",
            "[v1.x]:80",
            ":4100",
            ".",
        ] {
            assert_eq!(RequestHost::parse(bad), None, "{bad:?}");
        }
        let long_label = format!("{}.localhost", "a".repeat(64));
        assert_eq!(RequestHost::parse(&long_label), None);
        let long_name = vec!["a".repeat(60); 5].join(".");
        assert_eq!(RequestHost::parse(&long_name), None);
    }

    #[test]
    fn names_route_to_the_one_allocation_that_has_them() {
        let allocs =
            [alloc(8080, "main", "web"), alloc(8081, "feature/login", "web"), alloc(3000, "feature/login", "api")];
        let route_of = |h: &str| route(&RequestHost::parse(h).unwrap(), &allocs);
        assert_eq!(route_of("web.feature-login.localhost:9"), Some(Route::Service(&allocs[1])));
        assert_eq!(route_of("api.feature-login.localhost"), Some(Route::Service(&allocs[2])));
        assert_eq!(
            route_of("api.main.localhost"),
            Some(Route::Unknown { service: "api".into(), worktree: "main".into() })
        );
        assert_eq!(route_of("main.localhost"), None);
        assert_eq!(route_of("a.b.c.localhost"), None);
        assert_eq!(route_of("127.0.0.1"), None);
        assert_eq!(url(&allocs[1], 4100), "http://web.feature-login.localhost:4100/");
    }

    #[test]
    fn worktrees_that_share_a_label_are_ambiguous() {
        let allocs = [alloc(8080, "feat/x", "web"), alloc(8081, "feat-x", "web")];
        let r = route(&RequestHost::parse("web.feat-x.localhost").unwrap(), &allocs);
        assert_eq!(r, Some(Route::Ambiguous(vec![&allocs[0], &allocs[1]])));
    }
}
