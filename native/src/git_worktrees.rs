//! What git says about a repository's worktrees, for `prune`: `git worktree list --porcelain`,
//! keeping only live entries (git marks a worktree whose folder was deleted as `prunable`).
//! Each allocation is judged by the repository recorded with it, so that one registry shared by
//! several repositories never judges a worktree by a repository it does not belong to.

use atlas_ports_core::{Allocation, WorktreeFacts};
use std::cell::RefCell;
use std::collections::HashMap;
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
    /// Asks git in the worktree folder `repo`; `None` when it can't be asked (not a repository,
    /// no git).
    pub fn of_repository(repo: &Path) -> Option<GitWorktrees> {
        Self::ask(Command::new("git").arg("-C").arg(repo))
    }

    /// Asks git about the repository whose common git folder is `git_dir`.
    pub fn of_git_dir(git_dir: &Path) -> Option<GitWorktrees> {
        if !git_dir.is_dir() {
            return None;
        }
        Self::ask(Command::new("git").arg("--git-dir").arg(git_dir))
    }

    fn ask(git: &mut Command) -> Option<GitWorktrees> {
        let out = git.args(["worktree", "list", "--porcelain"]).output().ok()?;
        out.status.success().then(|| GitWorktrees::from_porcelain(&String::from_utf8_lossy(&out.stdout)))
    }

    /// Whether the allocation's worktree is live here: by folder, or by git's id of it (which a
    /// move keeps). Only an allocation that records neither git's id nor its repository (made
    /// by an older version) is matched by name: names are no identity, since many worktrees
    /// share a folder name.
    fn lists(&self, a: &Allocation) -> bool {
        let path = a.worktree_path.as_deref().map(Path::new);
        let by_name = a.git_worktree.is_none() && a.repository.is_none();
        self.live.iter().any(|w| {
            path == Some(w.path.as_path())
                || (w.id.is_some() && w.id == a.git_worktree)
                || (by_name && (w.name == a.worktree || w.id.as_deref() == Some(a.worktree.as_str())))
        })
    }

    /// Whether git lists a live worktree at `path`, or with git's id `id`.
    pub fn lists_folder(&self, path: &Path, id: Option<&str>) -> bool {
        self.live.iter().any(|w| w.path == path || (id.is_some() && w.id.as_deref() == id))
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

/// The facts `prune` needs: each allocation judged by its recorded repository (asked once per
/// repository), an allocation recorded without one by the repository the registry serves.
/// Git is asked only when a fact is needed (a full range reclaims rarely).
#[derive(Debug, Default)]
pub struct GitFacts {
    fallback_root: Option<PathBuf>,
    fallback: std::cell::OnceCell<Option<GitWorktrees>>,
    asked: RefCell<HashMap<String, Option<GitWorktrees>>>,
}

impl GitFacts {
    /// Facts whose fallback for allocations without a recorded repository is the repository
    /// with this worktree folder (none: such allocations are kept).
    pub fn new(registry_repository: Option<&Path>) -> GitFacts {
        GitFacts { fallback_root: registry_repository.map(Path::to_owned), ..GitFacts::default() }
    }

    fn fallback(&self) -> Option<&GitWorktrees> {
        self.fallback.get_or_init(|| self.fallback_root.as_deref().and_then(GitWorktrees::of_repository)).as_ref()
    }
}

impl WorktreeFacts for GitFacts {
    fn folder_exists(&self, path: &str) -> bool {
        Path::new(path).exists()
    }

    fn is_listed(&self, a: &Allocation) -> Option<bool> {
        match &a.repository {
            Some(repo) => {
                let mut asked = self.asked.borrow_mut();
                let listing = asked.entry(repo.clone()).or_insert_with(|| GitWorktrees::of_git_dir(Path::new(repo)));
                listing.as_ref().map(|l| l.lists(a))
            }
            None => self.fallback().map(|l| l.lists(a)),
        }
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
        let alloc = |worktree: &str, path: &str| {
            let mut reg = atlas_ports_core::Registry::with_default_ranges("t");
            let req = atlas_ports_core::AllocateRequest {
                worktree_path: Some(path),
                ..atlas_ports_core::AllocateRequest::new("web", worktree)
            };
            reg.allocate(&req, "t", "", &mut |_| true).unwrap().clone()
        };
        assert!(wts.lists(&alloc("wt-a", "/elsewhere")));
        assert!(wts.lists(&alloc("other", "/src/wt-a")));
        assert!(!wts.lists(&alloc("wt-gone", "/src/wt-gone")));
    }
}
