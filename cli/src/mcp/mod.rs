//! `atlas-ports mcp`: the worktree's ports for coding agents, over the Model Context Protocol
//! on stdio (the official Rust SDK, `rmcp`). The server works for one worktree, the one it was
//! started in (or `--worktree-path`): its tools read every worktree, but change only that
//! one's allocations (prune aside, which only ever releases worktrees that are gone). An
//! operation that fails is a tool error (`isError`) whose structured content carries the same
//! `ERR_…` code as the CLI's and the Node API's errors; a call the protocol cannot take (an
//! unknown tool, arguments of the wrong type) is a JSON-RPC error, and the server goes on.
//!
//! This module is reached only by `atlas-ports mcp`: no other command builds a runtime or
//! touches rmcp.

mod config;
mod tools;

use crate::args::McpArgs;
use crate::commands::{Exit, Invocation};
use atlas_ports_core::{Error, Result};
use rmcp::ErrorData as McpError;
use rmcp::ServiceExt;
use rmcp::handler::server::ServerHandler;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig,
};
use rmcp::service::{RequestContext, RoleServer};
use std::path::PathBuf;

pub fn run(inv: &Invocation<'_>, args: McpArgs) -> Result<Exit> {
    if let Some(tool) = args.print_config {
        crate::output::text(&config::print(tool))?;
        return Ok(Exit::Success);
    }
    let root = match args.worktree_path {
        Some(p) => std::fs::canonicalize(&p).map_err(|e| Error::InvalidArgument {
            what: "--worktree-path",
            value: p.display().to_string(),
            reason: e.to_string(),
        })?,
        None => inv.ws.cwd.clone(),
    };
    let server = Server { root, registry: inv.registry().map(PathBuf::from) };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| Error::System { action: "start the MCP server's runtime", source })?;
    runtime.block_on(async {
        let running = server.serve(rmcp::transport::stdio()).await.map_err(|e| Error::InvalidArgument {
            what: "MCP client",
            value: String::new(),
            reason: format!("the session did not start: {e}"),
        })?;
        let _ = running.waiting().await;
        Ok::<(), Error>(())
    })?;
    // stdin may still be read by a blocked thread: leave without waiting for it.
    runtime.shutdown_background();
    Ok(Exit::Success)
}

/// The server: where it works, and the registry (`--registry`) if one was named.
#[derive(Debug, Clone)]
pub struct Server {
    pub root: PathBuf,
    pub registry: Option<PathBuf>,
}

const INSTRUCTIONS: &str = "atlas-ports gives each git worktree its own ports. This server works \
for the worktree it was started in: ensure_ports before starting a dev server, get_ports for \
all of them (also as env lines), wait_ready until a server answers, resolve_url for links, \
release_ports when done. It reads every worktree's state but never changes another worktree's \
allocations.";

impl ServerHandler for Server {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("atlas-ports", env!("CARGO_PKG_VERSION")))
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> std::result::Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(tools::list()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> std::result::Result<CallToolResponse, McpError> {
        let call = tools::Call::parse(&request.name, request.arguments.unwrap_or_default())?;
        let server = self.clone();
        let cancelled = context.ct.clone();
        let answer = tokio::task::spawn_blocking(move || call.run(&server, &|| cancelled.is_cancelled()))
            .await
            .map_err(|e| McpError::internal_error(format!("the tool stopped: {e}"), None))?;
        Ok(match answer {
            Ok(value) => CallToolResult::structured(value),
            Err(e) => tool_error(&e),
        }
        .into())
    }
}

/// A failed operation as the agent sees it: `ERR_CODE: message`, and `{ code, message }`.
fn tool_error(e: &Error) -> CallToolResult {
    let message = atlas_ports_core::printable(&format!("{e}{}", crate::hint(e))).into_owned();
    let mut result = CallToolResult::structured_error(serde_json::json!({ "code": e.code(), "message": message }));
    result.content = vec![ContentBlock::text(format!("{}: {message}", e.code()))];
    result
}
