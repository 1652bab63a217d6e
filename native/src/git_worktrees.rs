//! What git says about a repository's worktrees, for `prune`: `git worktree list --porcelain`,
//! keeping only live entries (git marks a worktree whose folder was deleted as `prunable`).

use atlas_ports_core::WorktreeFacts;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The live worktrees of one repository.
#[derive(Debug, Default)]
pub struct GitWorktrees {
    live: Vec<LiveWorktree>,
}

#[derive(Debug, PartialEq)]
struct LiveWorktree {
    path: PathBuf,
    /// Folder name: our default worktree id.
    name: String,
    /// Git's own id (`.git/worktrees/<id>`), which survives `git worktree move`.
    id: Option<String>,
}

impl GitWorktrees {
    /// Asks git in `repo`; a folder that is not a git repository (or no git) lists nothing.
    pub fn of_repository(repo: &Path) -> GitWorktrees {
        let out = Command::new("git").arg("-C").arg(repo).args(["worktree", "list", "--porcelain"]).output();
        match out {
            Ok(o) if o.status.success() => GitWorktrees::from_porcelain(&String::from_utf8_lossy(&o.stdout)),
            _ => GitWorktrees::default(),
        }
    }

    fn from_porcelain(text: &str) -> GitWorktrees {
        let live = text
            .split("\n\n")
            .filter_map(|block| {
                let path = block.lines().find_map(|l| l.strip_prefix("worktree "))?;
                if block.lines().any(|l| l == "prunable" || l.starts_with("prunable ")) {
                    return None;
                }
                let path = PathBuf::from(path);
                Some(LiveWorktree { name: path.file_name()?.to_string_lossy().into_owned(), id: admin_id(&path), path })
            })
            .collect();
        GitWorktrees { live }
    }
}

/// The id in the `gitdir: <common>/worktrees/<id>` line of a linked worktree's `.git` file.
fn admin_id(worktree: &Path) -> Option<String> {
    let text = std::fs::read_to_string(worktree.join(".git")).ok()?;
    let gitdir = text.lines().find_map(|l| l.strip_prefix("gitdir:"))?.trim();
    Some(Path::new(gitdir).file_name()?.to_string_lossy().into_owned())
}

impl WorktreeFacts for GitWorktrees {
    fn folder_exists(&self, path: &str) -> bool {
        Path::new(path).exists()
    }

    fn is_listed(&self, worktree: &str, path: &str) -> bool {
        self.live.iter().any(|w| w.path == Path::new(path) || w.name == worktree || w.id.as_deref() == Some(worktree))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prunable_entries_are_not_live() {
        let text = "worktree /src/repo\nHEAD abc\nbranch refs/heads/main\n\n\
                    worktree /src/wt-a\nHEAD abc\nbranch refs/heads/a\n\n\
                    worktree /src/wt-gone\nHEAD abc\nbranch refs/heads/g\nprunable gitdir file points to non-existent location\n\n";
        let wts = GitWorktrees::from_porcelain(text);
        let names: Vec<_> = wts.live.iter().map(|w| w.name.as_str()).collect();
        assert_eq!(names, ["repo", "wt-a"]);
        assert!(wts.is_listed("wt-a", "/elsewhere"));
        assert!(wts.is_listed("other", "/src/wt-a"));
        assert!(!wts.is_listed("wt-gone", "/src/wt-gone"));
    }
}
