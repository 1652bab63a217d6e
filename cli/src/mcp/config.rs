//! `atlas-ports mcp --print-config TOOL`: the snippet that wires atlas-ports into an agent tool,
//! on stdout (parseable as it is), and where it goes, on stderr.

use crate::args::AgentTool;

/// The snippet, and the file it belongs in.
pub fn snippet(tool: AgentTool) -> (&'static str, &'static str) {
    match tool {
        AgentTool::Claude => (
            r#"{
  "mcpServers": {
    "atlas-ports": {
      "type": "stdio",
      "command": "atlas-ports",
      "args": ["mcp"]
    }
  }
}
"#,
            ".mcp.json at the repository's root (Claude Code starts the server in the worktree it works in)",
        ),
        AgentTool::ClaudeHook => (
            r#"{
  "hooks": {
    "SessionStart": [
      {
        "hooks": [
          {
            "type": "command",
            "command": "cd \"$CLAUDE_PROJECT_DIR\" && atlas-ports env --format sh | tee -a \"${CLAUDE_ENV_FILE:-/dev/null}\""
          }
        ]
      }
    ]
  }
}
"#,
            ".claude/settings.json (merge the \"hooks\" member): every session starts with the worktree's PORT_<SERVICE> variables exported and shown to the agent",
        ),
        AgentTool::Codex => (
            r#"[mcp_servers.atlas-ports]
command = "atlas-ports"
args = ["mcp"]
"#,
            "~/.codex/config.toml (Codex starts the server in the folder it runs in: the worktree)",
        ),
        AgentTool::Cursor => (
            r#"{
  "mcpServers": {
    "atlas-ports": {
      "type": "stdio",
      "command": "atlas-ports",
      "args": ["mcp", "--worktree-path", "${workspaceFolder}"]
    }
  }
}
"#,
            ".cursor/mcp.json at the repository's root",
        ),
        AgentTool::AgentsMd => (
            r#"## Ports

This repository is checked out in several git worktrees at once; each worktree has its own
ports, managed by atlas-ports. Never hard-code a port or take a framework's default.
- Get this worktree's port for a service with the atlas-ports MCP tool `ensure_ports`
  (or `atlas-ports ensure --service web --quiet`); all of them with `get_ports`
  (or `atlas-ports env`).
- Start servers on that port, e.g. `atlas-ports run --service web -- npm run dev -- --port {port}`.
- Wait for a server with `wait_ready` (or `atlas-ports wait --service web --timeout 60s`)
  before testing against it.
- Release this worktree's ports with `release_ports` when the work is done. Never release or
  stop another worktree's ports or processes.
"#,
            "AGENTS.md (or CLAUDE.md) at the repository's root",
        ),
    }
}

/// What `--print-config` writes: the snippet; where it goes is said on stderr.
pub fn print(tool: AgentTool) -> String {
    let (text, place) = snippet(tool);
    crate::output::note(&format!("atlas-ports: put this in {place}"));
    text.to_owned()
}
