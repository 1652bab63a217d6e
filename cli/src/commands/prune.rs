//! `atlas-ports prune [--dry-run]`: release the ports of worktrees that are gone.

use super::Exit;
use crate::args::{Format, PruneArgs};
use crate::context::Context;
use crate::native::GitWorktrees;
use crate::output;
use atlas_ports_core::Result;
use std::fmt::Write;

pub fn run(ctx: &Context, args: PruneArgs) -> Result<Exit> {
    let ports = ctx.ports(args.registry.registry.as_deref());
    let facts = ctx.repository_root(ports.registry_path()).map(|r| GitWorktrees::of_repository(&r)).unwrap_or_default();
    let gone = ports.prune(args.dry_run, &facts)?;
    if args.format.format == Format::Json {
        output::json(&serde_json::json!({ "dry_run": args.dry_run, "released": gone }))?;
        return Ok(Exit::Success);
    }
    let mut text = String::from("Pruning allocations of worktrees that are gone\n");
    for a in &gone {
        let path = a.worktree_path.as_deref().unwrap_or_default();
        let _ = writeln!(text, "  {} → {} ({}): {path} is gone", a.port, a.worktree, a.service);
    }
    let n = gone.len();
    let ports_word = if n == 1 { "port" } else { "ports" };
    if n == 0 {
        text.push_str("Nothing to prune\n");
    } else if args.dry_run {
        let _ = writeln!(text, "Would release {n} {ports_word} (dry run: the registry is unchanged)");
    } else {
        let _ = writeln!(text, "Released {n} {ports_word}\nRegistry updated: {}", ctx.display(ports.registry_path()));
    }
    output::text(&text)?;
    Ok(Exit::Success)
}
