//! `atlas-ports mcp` over raw JSON-RPC lines on stdio, as any client speaks it: stdout carries
//! protocol messages only, failures are tool errors with the CLI's codes, calls that do not fit
//! are protocol errors, and the server ends with exit 0 when the client closes stdin.

use crate::support::*;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::process::{ChildStdin, ChildStdout, Stdio};

struct Session {
    child: std::process::Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    next_id: u64,
}

impl Session {
    fn start(cwd: &std::path::Path) -> Session {
        let mut child = command_in(cwd).arg("mcp").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut s = Session { child, stdin, stdout, next_id: 0 };
        let init = s.request(
            "initialize",
            json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}),
        );
        assert_eq!(init["result"]["serverInfo"]["name"], "atlas-ports", "{init}");
        assert!(init["result"]["capabilities"]["tools"].is_object(), "{init}");
        s.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        s
    }

    fn send(&mut self, message: &Value) {
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "{message}").unwrap();
        stdin.flush().unwrap();
    }

    /// Sends a request and returns its response (every line on stdout must be JSON-RPC).
    fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let mut line = String::new();
            assert!(self.stdout.read_line(&mut line).unwrap() > 0, "the server closed stdout");
            let message: Value =
                serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON on stdout ({e}): {line}"));
            assert_eq!(message["jsonrpc"], "2.0", "{line}");
            if message["id"] == id {
                return message;
            }
        }
    }

    fn call(&mut self, tool: &str, arguments: Value) -> Value {
        self.request("tools/call", json!({"name": tool, "arguments": arguments}))
    }
}

#[test]
fn mcp_answers_tools_errors_and_protocol_errors_and_ends_with_stdin() {
    let repo = Repo::new();
    let base = free_block(4);
    repo.write_registry(&[("web", base, base + 1), ("api", base + 2, base + 3)]);
    let wt = repo.add_worktree("wt");
    let mut s = Session::start(&wt);

    let tools = s.request("tools/list", json!({}));
    let names: Vec<&str> =
        tools["result"]["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"ensure_ports") && names.contains(&"wait_ready"), "{names:?}");

    let ensured = s.call("ensure_ports", json!({"services": ["web"]}));
    assert_eq!(ensured["result"]["isError"], false, "{ensured}");
    assert_eq!(ensured["result"]["structuredContent"]["ports"]["web"], base);
    assert_eq!(ensured["result"]["structuredContent"]["worktree"], "wt");
    let before = repo.registry_bytes();

    let unknown = s.call("ensure_ports", json!({"services": ["nope"]}));
    assert_eq!(unknown["result"]["isError"], true, "{unknown}");
    assert_eq!(unknown["result"]["structuredContent"]["code"], "ERR_UNKNOWN_SERVICE");
    let foreign = s.call("release_ports", json!({"worktree": "other"}));
    assert_eq!(foreign["result"]["structuredContent"]["code"], "ERR_INVALID_ARGUMENT", "{foreign}");
    let no_tool = s.call("nope", json!({}));
    assert_eq!(no_tool["error"]["code"], -32602, "{no_tool}");
    let bad_type = s.call("wait_ready", json!({"service": 7}));
    assert_eq!(bad_type["error"]["code"], -32602, "{bad_type}");
    assert_eq!(repo.registry_bytes(), before, "failed calls change nothing");

    let waited = s.call("wait_ready", json!({"service": "web", "timeout_ms": 0}));
    assert_eq!(waited["result"]["structuredContent"]["reason"], format!("nothing listens on port {base}"));

    drop(s.stdin.take());
    assert!(s.child.wait().unwrap().success(), "exit 0 when the client closes stdin");
}

#[test]
fn mcp_refuses_a_worktree_path_that_does_not_exist() {
    let repo = Repo::new();
    let out = repo.run(&["mcp", "--worktree-path", "/nonexistent/atlas-ports"]).code(2);
    assert!(out.stderr.contains("--worktree-path \"/nonexistent/atlas-ports\""), "{}", out.stderr);
}

#[cfg(target_os = "linux")]
#[test]
fn mcp_hands_out_named_urls_while_the_proxy_runs() {
    let repo = Repo::new();
    let base = free_block(2);
    repo.write_registry(&[("web", base, base + 1)]);
    let wt = repo.add_worktree("pr-42");
    let mut s = Session::start(&wt);
    let ensured = s.call("ensure_ports", json!({"services": ["web"]}));
    assert!(ensured["result"]["structuredContent"].get("urls").is_none(), "{ensured}");
    let resolved = s.call("resolve_url", json!({"service": "web"}));
    assert_eq!(resolved["result"]["structuredContent"]["named_url"], "http://web.pr-42.localhost:<dashboard port>/");

    let port = free_block(1);
    run_in(&repo.main, &["proxy", "start", "--port", &port.to_string()]).success();
    let url = format!("http://web.pr-42.localhost:{port}");
    let ports = s.call("get_ports", json!({}));
    let content = &ports["result"]["structuredContent"];
    assert_eq!(content["urls"]["web"], url.as_str(), "{ports}");
    assert_eq!(content["variables"]["URL_WEB"], url.as_str());
    assert!(content["env"].as_str().unwrap().contains(&format!("URL_WEB={url}\n")), "{content}");
    let ensured = s.call("ensure_ports", json!({"services": ["web"]}));
    assert_eq!(ensured["result"]["structuredContent"]["urls"]["web"], url.as_str(), "{ensured}");
    let resolved = s.call("resolve_url", json!({"service": "web"}));
    assert_eq!(resolved["result"]["structuredContent"]["named_url"], format!("{url}/"));
    run_in(&repo.main, &["proxy", "stop"]).success();
    let ports = s.call("get_ports", json!({}));
    assert!(ports["result"]["structuredContent"].get("urls").is_none(), "{ports}");
    drop(s.stdin.take());
    assert!(s.child.wait().unwrap().success());
}
