//! Which name a worktree goes by. A worktree is who git says it is (its repository and git's id
//! of it, or its folder), never its folder's name alone: agent tools lay worktrees out as
//! `<task>/<repo>`, so many worktrees of one repository share a folder name. The name is for
//! people, and it is chosen once and kept:
//!
//! 1. the name the worktree's allocations already carry, when they were recorded at its folder
//!    and no other worktree owns that name;
//! 2. otherwise the first of these that no other worktree owns: the folder's name (`app`), the
//!    parent folder's name in front (`task-7-app`), then the folder's name with a number
//!    (`app-2`, `app-3`, …).
//!
//! A name is owned by the worktree of the first allocation that carries it and records whose it
//! is (a folder or a repository). Allocations that record neither (made under a name given
//! explicitly from outside any worktree, as the reference design's scripts do) belong to
//! whoever goes by that name: that is the seed's contract.

use super::model::{Allocation, Registry};
use super::operations::GitIdentity;
use crate::validate::MAX_NAME_LEN;
use std::collections::HashMap;

/// A worktree found around the folder worked in: what names it and who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorktreeFolder<'a> {
    /// The folder's name (the basename of the worktree's root).
    pub name: &'a str,
    /// The parent folder's name, when there is one.
    pub parent: Option<&'a str>,
    /// The worktree's root folder, absolute.
    pub path: &'a str,
    /// Who the worktree is to git.
    pub git: GitIdentity<'a>,
}

impl WorktreeFolder<'_> {
    /// Whether an allocation was made by this worktree: the same repository and git id (git's
    /// id survives `git worktree move`; the main worktree has none), or the same folder.
    pub fn made(&self, a: &Allocation) -> bool {
        let same_git =
            a.repository.as_deref() == Some(self.git.repository) && a.git_worktree.as_deref() == self.git.worktree_id;
        same_git || a.worktree_path.as_deref() == Some(self.path)
    }
}

/// Whether an allocation says which worktree made it.
fn identified(a: &Allocation) -> bool {
    a.worktree_path.is_some() || a.repository.is_some()
}

impl Registry {
    /// The name of the worktree in `folder` (see the module's rules).
    pub fn name_of(&self, folder: &WorktreeFolder<'_>) -> String {
        let owners = self.name_owners(folder.name);
        let free = |name: &str| owners.get(name).is_none_or(|a| folder.made(a));
        let recorded = self
            .allocations
            .iter()
            .find(|a| folder.made(a) && a.worktree_path.as_deref() == Some(folder.path) && free(&a.worktree));
        if let Some(a) = recorded {
            return a.worktree.to_string();
        }
        let fits = |name: &String| name.chars().count() <= MAX_NAME_LEN && free(name);
        let parent = folder
            .parent
            .filter(|p| !p.is_empty() && *p != folder.name && !p.chars().any(char::is_control))
            .map(|p| format!("{p}-{}", folder.name));
        let numbered = (2u32..).map(|n| format!("{}-{n}", folder.name));
        std::iter::once(folder.name.to_owned())
            .chain(parent)
            .chain(numbered)
            .find(fits)
            .expect("some numbered name is free: there are fewer allocations than numbers")
    }

    /// Whether `a` is the worktree's allocation under `name`: it carries the name and was made
    /// by this worktree, or records no maker at all.
    pub fn belongs(a: &Allocation, name: &str, folder: Option<&WorktreeFolder<'_>>) -> bool {
        a.worktree == name && folder.is_none_or(|f| !identified(a) || f.made(a))
    }

    /// Each name that contains `part` (every candidate name does) to the first allocation that
    /// carries it and says who made it.
    fn name_owners(&self, part: &str) -> HashMap<&str, &Allocation> {
        let mut owners = HashMap::new();
        for a in self.allocations.iter().filter(|a| identified(a) && a.worktree.contains(part)) {
            owners.entry(a.worktree.as_str()).or_insert(a);
        }
        owners
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::AllocateRequest;

    const REPO: &str = "/src/app/.git";

    fn folder<'a>(path: &'a str, id: Option<&'a str>) -> WorktreeFolder<'a> {
        let mut parts = path.rsplit('/');
        let name = parts.next().unwrap();
        WorktreeFolder { name, parent: parts.next(), path, git: GitIdentity { repository: REPO, worktree_id: id } }
    }

    /// Records an allocation of `service` for the worktree in `f`, under the name it goes by.
    fn take(reg: &mut Registry, f: &WorktreeFolder<'_>, service: &str) -> (String, u16) {
        let name = reg.name_of(f);
        let req =
            AllocateRequest { worktree_path: Some(f.path), git: Some(f.git), ..AllocateRequest::new(service, &name) };
        let port = reg.allocate(&req, "t", "", &mut |_| true).unwrap().port;
        (name, port)
    }

    #[test]
    fn worktrees_with_one_folder_name_get_distinct_stable_names() {
        let mut reg = Registry::with_default_ranges("t");
        let main = folder("/src/app", None);
        let a = folder("/tasks/a/app", Some("app"));
        let b = folder("/tasks/b/app", Some("app1"));
        assert_eq!(take(&mut reg, &main, "web"), ("app".into(), 8080));
        assert_eq!(take(&mut reg, &a, "web"), ("a-app".into(), 8081));
        assert_eq!(take(&mut reg, &b, "web"), ("b-app".into(), 8082));
        // Again, in any order: the same names.
        for f in [&b, &main, &a] {
            let name = reg.name_of(f);
            assert_eq!(reg.allocations.iter().filter(|x| Registry::belongs(x, &name, Some(f))).count(), 1, "{name}");
        }
        assert_eq!([reg.name_of(&main), reg.name_of(&a), reg.name_of(&b)], ["app", "a-app", "b-app"]);
    }

    #[test]
    fn a_taken_parent_name_falls_back_to_a_number() {
        let mut reg = Registry::with_default_ranges("t");
        let first = folder("/x/a/app", Some("app"));
        let second = folder("/y/a/app", Some("app1"));
        let third = folder("/z/a/app", Some("app2"));
        let fourth = folder("/app", Some("app3")); // no parent name to put in front
        take(&mut reg, &first, "web");
        assert_eq!(take(&mut reg, &second, "web").0, "a-app");
        assert_eq!(take(&mut reg, &third, "web").0, "app-2");
        assert_eq!(take(&mut reg, &fourth, "web").0, "app-3");
    }

    #[test]
    fn a_name_stays_once_chosen_even_when_the_plain_one_frees_up() {
        let mut reg = Registry::with_default_ranges("t");
        let main = folder("/src/app", None);
        let a = folder("/tasks/a/app", Some("app"));
        take(&mut reg, &main, "web");
        assert_eq!(take(&mut reg, &a, "web").0, "a-app");
        reg.release_worktree("app");
        assert_eq!(reg.name_of(&a), "a-app", "kept: a name people use does not change under them");
        assert_eq!(reg.name_of(&main), "app");
    }

    #[test]
    fn a_moved_worktree_is_named_for_its_new_folder() {
        let mut reg = Registry::with_default_ranges("t");
        take(&mut reg, &folder("/tasks/a/feat", Some("feat")), "web");
        assert_eq!(reg.name_of(&folder("/tasks/a/feat-renamed", Some("feat"))), "feat-renamed");
    }

    #[test]
    fn allocations_without_a_maker_belong_to_whoever_goes_by_the_name() {
        let mut reg = Registry::with_default_ranges("t");
        reg.allocate(&AllocateRequest::new("web", "app"), "t", "", &mut |_| true).unwrap();
        let a = folder("/tasks/a/app", Some("app"));
        assert_eq!(reg.name_of(&a), "app", "the seed's scripts named it; the name is not owned");
        assert!(Registry::belongs(&reg.allocations[0], "app", Some(&a)));
        take(&mut reg, &a, "api");
        let b = folder("/tasks/b/app", Some("app1"));
        assert_eq!(reg.name_of(&b), "b-app", "now a's");
        assert!(!Registry::belongs(&reg.allocations[1], "app", Some(&b)));
    }
}
