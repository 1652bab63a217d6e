//! `atlas-ports hooks install | uninstall`: a block in the repository's post-checkout hook that
//! runs `atlas-ports up` in every new worktree; and `hooks run`, what that block calls.

use super::{Exit, Invocation};
use crate::args::{HooksAction, HooksArgs};
use crate::output;
use atlas_ports_core::{Error, Result};
use atlas_ports_native::lifecycle;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const BEGIN: &str = "# >>> atlas-ports >>> (`atlas-ports hooks uninstall` removes this block)";
const END: &str = "# <<< atlas-ports <<<";

pub fn run(inv: &Invocation<'_>, args: HooksArgs) -> Result<Exit> {
    match args.action {
        HooksAction::Install => install(inv),
        HooksAction::Uninstall => uninstall(inv),
        HooksAction::Run { args } => run_hook(inv, &args),
    }
}

/// The post-checkout hook of the repository around the folder worked in (`core.hooksPath`
/// honoured, as git itself resolves it).
fn hook_path(inv: &Invocation<'_>) -> Result<PathBuf> {
    let out = Command::new("git")
        .args(["rev-parse", "--git-path", "hooks"])
        .current_dir(&inv.ws.cwd)
        .output()
        .map_err(|source| Error::System { action: "run git", source })?;
    if !out.status.success() {
        return Err(Error::NotInWorktree { cwd: inv.ws.cwd.clone() });
    }
    let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    Ok(inv.ws.cwd.join(dir).join("post-checkout"))
}

/// The block: run this program's `hooks run` with the hook's arguments, and never fail the
/// checkout.
fn block() -> String {
    let this = std::env::current_exe()
        .ok()
        .filter(|p| p.file_stem().is_some_and(|s| s.to_string_lossy().starts_with("atlas-ports")))
        .map(|p| p.display().to_string());
    let fallback = match this {
        Some(path) => format!("elif [ -x '{path}' ]; then '{path}' hooks run \"$@\"; "),
        None => String::new(),
    };
    format!(
        "{BEGIN}\n\
         if command -v atlas-ports >/dev/null 2>&1; then atlas-ports hooks run \"$@\"; \
         {fallback}else npx --no-install atlas-ports hooks run \"$@\"; fi \
         || echo \"atlas-ports: warning: the post-checkout hook could not run atlas-ports\" >&2\n\
         {END}\n"
    )
}

fn install(inv: &Invocation<'_>) -> Result<Exit> {
    let path = hook_path(inv)?;
    let shown = inv.ws.display(&path);
    let existing = fs::read_to_string(&path).ok();
    let text = match &existing {
        Some(t) if t.contains(BEGIN) => {
            output::text(&format!("The post-checkout hook already runs atlas-ports: {shown}\n"))?;
            return Ok(Exit::Success);
        }
        // After the interpreter line, so that an `exit` further down cannot skip it.
        Some(t) => match t.split_once('\n') {
            Some((first, rest)) if first.starts_with("#!") => format!("{first}\n{}{rest}", block()),
            _ => format!("{}{t}", block()),
        },
        None => format!("#!/bin/sh\n{}", block()),
    };
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|source| Error::Io {
            action: "create the folder",
            path: dir.to_owned(),
            source,
        })?;
    }
    fs::write(&path, text).map_err(|source| Error::Io { action: "write", path: path.clone(), source })?;
    atlas_ports_native::platform::make_executable(&path).map_err(|source| Error::Io {
        action: "make executable",
        path: path.clone(),
        source,
    })?;
    let how = if existing.is_some() { "added to the existing hook" } else { "created" };
    output::text(&format!(
        "Post-checkout hook {how}: {shown}\n`git worktree add` now runs `atlas-ports up` in the new worktree.\n"
    ))?;
    Ok(Exit::Success)
}

fn uninstall(inv: &Invocation<'_>) -> Result<Exit> {
    let path = hook_path(inv)?;
    let shown = inv.ws.display(&path);
    let Some(text) = fs::read_to_string(&path).ok().filter(|t| t.contains(BEGIN)) else {
        output::text(&format!("No atlas-ports block in the post-checkout hook ({shown})\n"))?;
        return Ok(Exit::Success);
    };
    let rest = without_block(&text);
    if rest.trim().is_empty() || rest.trim() == "#!/bin/sh" {
        fs::remove_file(&path).map_err(|source| Error::Io { action: "remove", path: path.clone(), source })?;
        output::text(&format!("Removed the post-checkout hook: {shown}\n"))?;
    } else {
        fs::write(&path, rest).map_err(|source| Error::Io { action: "write", path: path.clone(), source })?;
        output::text(&format!("Removed the atlas-ports block from the post-checkout hook: {shown}\n"))?;
    }
    Ok(Exit::Success)
}

/// The hook's text without our block.
fn without_block(text: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for line in text.split_inclusive('\n') {
        if line.trim_end() == BEGIN {
            inside = true;
        } else if inside && line.trim_end() == END {
            inside = false;
        } else if !inside {
            out.push_str(line);
        }
    }
    out
}

/// post-checkout's arguments are the previous HEAD, the new one, and 1 for a branch checkout.
/// A new worktree's checkout comes from the null commit: then `up`; otherwise nothing. A
/// failure is a warning: the checkout has happened and must not look failed.
fn run_hook(inv: &Invocation<'_>, args: &[String]) -> Result<Exit> {
    let new_worktree = matches!(args, [previous, _, flag] if flag == "1" && !previous.is_empty() && previous.chars().all(|c| c == '0'));
    if !new_worktree || !project_declared(inv) {
        return Ok(Exit::Success);
    }
    match lifecycle::up(inv.ws, inv.registry()) {
        Ok((report, _)) => output::text(&report.text())?,
        Err(e) => output::note(&format!("atlas-ports: warning: `atlas-ports up` failed in the new worktree: {e}")),
    }
    Ok(Exit::Success)
}

fn project_declared(inv: &Invocation<'_>) -> bool {
    inv.ws.current_worktree().is_some_and(|w| Path::new(&w.root).join(atlas_ports_core::project::PROJECT_FILE).exists())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_block_comes_out_whole_and_nothing_else() {
        let user = "#!/bin/sh\necho mine\nexit 0\n";
        let with = format!("#!/bin/sh\n{}echo mine\nexit 0\n", block());
        assert_eq!(without_block(&with), user);
        assert_eq!(without_block(user), user);
    }
}
