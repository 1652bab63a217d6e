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

/// What is at the hook's path, as far as adding or removing our block goes.
#[derive(Debug)]
enum Hook {
    /// Nothing: ours may be created.
    Absent,
    /// A shell script (or text without an interpreter line, which git runs with `sh`): ours may
    /// be added to it or taken out of it.
    Shell(String),
    /// Text in another language (`#!/usr/bin/env python3`): ours, shell, cannot go in it.
    OtherLanguage { text: String, interpreter: String },
    /// Something this program will not write to, and why: a symbolic link (writing through it
    /// would change a file something else owns), a file it cannot read, binary or non-UTF-8
    /// content. Writing what it could not read would destroy it.
    Untouchable { why: String, has_block: Option<bool> },
}

/// The shells whose syntax the block is written in (POSIX `sh` and its supersets).
const SHELLS: &[&str] = &["sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "yash", "posh", "busybox"];

/// The interpreter an interpreter line names: `sh` for `#!/bin/sh -e`, `python3` for
/// `#!/usr/bin/env python3` and `#!/usr/bin/env -S node --flag`.
fn interpreter(first_line: &str) -> Option<String> {
    let rest = first_line.strip_prefix("#!")?.trim();
    let mut words = rest.split_whitespace();
    let program = words.next()?;
    let name = |w: &str| w.rsplit('/').next().unwrap_or(w).to_owned();
    if name(program) == "env" {
        return words.find(|w| !w.starts_with('-') && !w.contains('=')).map(name);
    }
    Some(name(program))
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn inspect(path: &Path) -> Hook {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Hook::Absent,
        Err(e) => return Hook::Untouchable { why: format!("it cannot be examined ({e})"), has_block: None },
    };
    if meta.file_type().is_symlink() {
        let target = fs::read_link(path).map(|t| t.display().to_string()).unwrap_or_else(|_| "?".to_owned());
        let has_block = fs::read(path).ok().map(|b| contains(&b, BEGIN));
        return Hook::Untouchable {
            why: format!(
                "it is a symbolic link (to {target}); writing through it would change a file that something else manages"
            ),
            has_block,
        };
    }
    if !meta.is_file() {
        return Hook::Untouchable { why: "it is not a regular file".to_owned(), has_block: None };
    }
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) => return Hook::Untouchable { why: format!("it cannot be read ({e})"), has_block: None },
    };
    let has_block = Some(contains(&bytes, BEGIN));
    if bytes.contains(&0) {
        return Hook::Untouchable { why: "it is a binary file, not a script".to_owned(), has_block };
    }
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            return Hook::Untouchable { why: format!("it is not UTF-8 text (byte {at} is not)"), has_block };
        }
    };
    match text.lines().next().and_then(interpreter) {
        Some(i) if !SHELLS.contains(&i.as_str()) => Hook::OtherLanguage { text, interpreter: i },
        _ => Hook::Shell(text),
    }
}

/// How to do by hand what was refused: the one line to add, in the hook's language when it is
/// one this program knows.
fn by_hand(interpreter: Option<&str>) -> String {
    let line = match interpreter {
        Some(i) if i.starts_with("python") => {
            "import subprocess, sys; subprocess.call([\"atlas-ports\", \"hooks\", \"run\", *sys.argv[1:]])"
        }
        Some("node" | "deno" | "bun") => {
            "require(\"child_process\").spawnSync(\"atlas-ports\", [\"hooks\", \"run\", ...process.argv.slice(2)], { stdio: \"inherit\" });"
        }
        Some("ruby") => "system(\"atlas-ports\", \"hooks\", \"run\", *ARGV)",
        Some("perl") => "system(\"atlas-ports\", \"hooks\", \"run\", @ARGV);",
        _ => "atlas-ports hooks run \"$@\" || true",
    };
    format!(
        "To have new worktrees get their ports, add this one line to the hook by hand (it runs \
         `atlas-ports hooks run` with the hook's three arguments, and a failure does not fail the checkout):\n    {line}"
    )
}

/// Whether a hooks manager owns the hook: it writes the file itself, from its own
/// configuration, so a block added to it would be lost at its next install (husky's folder is
/// also committed, and the block names this machine's binary). Why, and where the line goes.
fn managed(path: &Path, text: Option<&str>) -> Option<(String, String)> {
    let text = text.unwrap_or_default();
    let line = "atlas-ports hooks run \"$@\"";
    if path.components().any(|c| c.as_os_str() == ".husky") || text.contains("husky.sh") {
        return Some((
            "it is in husky's hooks folder (core.hooksPath), which husky writes".to_owned(),
            format!("Add this one line to .husky/post-checkout (create it if need be):\n    {line}"),
        ));
    }
    if text.contains("lefthook") {
        return Some((
            "lefthook wrote it, and rewrites it on `lefthook install`".to_owned(),
            "Add this to lefthook.yml instead:\n    post-checkout:\n      commands:\n        atlas-ports:\n          run: atlas-ports hooks run {0}"
                .to_owned(),
        ));
    }
    if text.contains("File generated by pre-commit") {
        return Some((
            "pre-commit wrote it, and rewrites it on `pre-commit install`".to_owned(),
            format!(
                "Add a local hook with `stages: [post-checkout]` to .pre-commit-config.yaml, or this line to a hook of your own:\n    {line}"
            ),
        ));
    }
    None
}

/// Says why the hook is left as it is and what to do instead; exit status 2.
fn refuse(shown: &str, why: &str, advice: &str) -> Result<Exit> {
    output::note(&format!("atlas-ports: error: the post-checkout hook {shown} is left as it is: {why}.\n{advice}"));
    Ok(Exit::Code(2))
}

/// Replaces the hook's content without a moment in which it is half written: a new file next
/// to it, with its permissions (executable either way), renamed over it.
fn replace(path: &Path, text: &str, permissions: Option<fs::Permissions>) -> Result<()> {
    let io = |action: &'static str, path: &Path| {
        let path = path.to_owned();
        move |source| Error::Io { action, path, source }
    };
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(io("create the folder", dir))?;
    }
    let temporary = path.with_file_name(".post-checkout.atlas-ports.tmp");
    fs::write(&temporary, text).map_err(io("write", &temporary))?;
    // A hook git already runs keeps its mode (0750 stays 0750); a new one, or one git would
    // skip for want of the executable bit, is made executable.
    let runs = permissions.as_ref().is_some_and(executable);
    let done = permissions
        .map_or(Ok(()), |p| fs::set_permissions(&temporary, p))
        .map_err(io("set the permissions of", &temporary))
        .and_then(|()| match runs {
            true => Ok(()),
            false => {
                atlas_ports_native::platform::make_executable(&temporary).map_err(io("make executable", &temporary))
            }
        })
        .and_then(|()| atlas_ports_native::platform::replace_file(&temporary, path).map_err(io("write", path)));
    if done.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    done
}

#[cfg(unix)]
fn executable(p: &fs::Permissions) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.mode() & 0o100 != 0
}

#[cfg(not(unix))]
fn executable(_: &fs::Permissions) -> bool {
    true
}

fn install(inv: &Invocation<'_>) -> Result<Exit> {
    let path = hook_path(inv)?;
    let shown = inv.ws.display(&path);
    let existing = match inspect(&path) {
        Hook::Absent => None,
        Hook::Shell(t) | Hook::OtherLanguage { text: t, .. } if t.contains(BEGIN) => {
            output::text(&format!("The post-checkout hook already runs atlas-ports: {shown}\n"))?;
            return Ok(Exit::Success);
        }
        Hook::Shell(t) => Some(t),
        Hook::OtherLanguage { interpreter, .. } => {
            let why = format!("it is a {interpreter} script, and the block atlas-ports adds is shell");
            return refuse(&shown, &why, &by_hand(Some(&interpreter)));
        }
        Hook::Untouchable { has_block: Some(true), .. } => {
            output::text(&format!("The post-checkout hook already runs atlas-ports: {shown}\n"))?;
            return Ok(Exit::Success);
        }
        Hook::Untouchable { why, .. } => return refuse(&shown, &why, &by_hand(None)),
    };
    if let Some((why, advice)) = managed(&path, existing.as_deref()) {
        return refuse(&shown, &why, &advice);
    }
    let text = match &existing {
        // After the interpreter line, so that an `exit` further down cannot skip it.
        Some(t) => match t.split_once('\n') {
            Some((first, rest)) if first.starts_with("#!") => format!("{first}\n{}{rest}", block()),
            _ => format!("{}{t}", block()),
        },
        None => format!("#!/bin/sh\n{}", block()),
    };
    let permissions = fs::metadata(&path).ok().map(|m| m.permissions());
    replace(&path, &text, permissions)?;
    let how = if existing.is_some() { "added to the existing hook" } else { "created" };
    output::text(&format!(
        "Post-checkout hook {how}: {shown}\n`git worktree add` now runs `atlas-ports up` in the new worktree.\n"
    ))?;
    Ok(Exit::Success)
}

fn uninstall(inv: &Invocation<'_>) -> Result<Exit> {
    let path = hook_path(inv)?;
    let shown = inv.ws.display(&path);
    let none = || output::text(&format!("No atlas-ports block in the post-checkout hook ({shown})\n"));
    let text = match inspect(&path) {
        Hook::Absent => None,
        Hook::Shell(t) | Hook::OtherLanguage { text: t, .. } => Some(t).filter(|t| t.contains(BEGIN)),
        Hook::Untouchable { has_block: Some(false), .. } => None,
        Hook::Untouchable { why, .. } => {
            let advice =
                format!("If it has the atlas-ports block, remove the lines from\n    {BEGIN}\nto\n    {END}\nby hand.");
            return refuse(&shown, &why, &advice);
        }
    };
    let Some(text) = text else {
        none()?;
        return Ok(Exit::Success);
    };
    let rest = without_block(&text);
    if rest.trim().is_empty() || rest.trim() == "#!/bin/sh" {
        fs::remove_file(&path).map_err(|source| Error::Io { action: "remove", path: path.clone(), source })?;
        output::text(&format!("Removed the post-checkout hook: {shown}\n"))?;
    } else {
        let permissions = fs::metadata(&path).ok().map(|m| m.permissions());
        replace(&path, &rest, permissions)?;
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

    #[test]
    fn interpreters_are_read_from_the_first_line() {
        assert_eq!(interpreter("#!/bin/sh -e").as_deref(), Some("sh"));
        assert_eq!(interpreter("#! /usr/bin/env bash").as_deref(), Some("bash"));
        assert_eq!(interpreter("#!/usr/bin/env -S node --no-warnings").as_deref(), Some("node"));
        assert_eq!(interpreter("#!/usr/bin/env PYTHONUTF8=1 python3").as_deref(), Some("python3"));
        assert_eq!(interpreter("echo hi"), None);
    }
}
