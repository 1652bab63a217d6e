//! Which allocations belong to worktrees that are gone. Pruning is never implicit, and it errs
//! on the side of keeping: a moved worktree, an idle one, or one whose folder was never recorded
//! keeps its ports.

use crate::host::{Probe, WorktreeFacts};
use crate::registry::Allocation;

/// An allocation is stale only when all three hold: its worktree's folder is gone, its
/// repository's git, asked, no longer lists the worktree, and nothing listens on the port.
/// Without a recorded folder (allocated under an explicit name from elsewhere), or when the
/// repository cannot be asked, it is never stale.
pub fn is_stale(a: &Allocation, facts: &dyn WorktreeFacts, probe: &dyn Probe) -> bool {
    is_gone(a, facts) && probe.is_free(a.port)
}

/// Whether an allocation's worktree is gone: its recorded folder is gone and its repository's
/// git, asked, no longer lists it. Its servers may still run (`prune` stops those that are
/// provably its own before it releases the ports).
pub fn is_gone(a: &Allocation, facts: &dyn WorktreeFacts) -> bool {
    match &a.worktree_path {
        None => false,
        Some(path) => !facts.folder_exists(path) && facts.is_listed(a) == Some(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::ScriptedProbe;
    use crate::registry::{AllocateRequest, Registry};

    struct Facts {
        folders: Vec<&'static str>,
        listed: Vec<&'static str>,
    }

    impl WorktreeFacts for Facts {
        fn folder_exists(&self, path: &str) -> bool {
            self.folders.contains(&path)
        }
        fn is_listed(&self, a: &Allocation) -> Option<bool> {
            if a.worktree == "unaskable" {
                return None;
            }
            Some(self.listed.iter().any(|l| *l == a.worktree || Some(*l) == a.worktree_path.as_deref()))
        }
    }

    fn alloc(worktree: &str, path: Option<&str>) -> Allocation {
        let mut reg = Registry::with_default_ranges("t");
        let new = AllocateRequest { worktree_path: path, ..AllocateRequest::new("web", worktree) };
        reg.allocate(&new, "t", "", &mut |_| true).unwrap().clone()
    }

    #[test]
    fn stale_only_when_folder_gone_unlisted_and_quiet() {
        let facts = Facts { folders: vec!["/wt/idle"], listed: vec!["/wt/idle", "moved"] };
        let quiet = ScriptedProbe::default();
        let listening = ScriptedProbe::with_busy([8080]);
        assert!(is_stale(&alloc("removed", Some("/wt/removed")), &facts, &quiet));
        assert!(!is_stale(&alloc("removed", Some("/wt/removed")), &facts, &listening), "a listener keeps it");
        assert!(!is_stale(&alloc("idle", Some("/wt/idle")), &facts, &quiet), "folder exists");
        assert!(!is_stale(&alloc("moved", Some("/wt/old-place")), &facts, &quiet), "git lists it by name");
        assert!(!is_stale(&alloc("named", None), &facts, &quiet), "no folder recorded");
        assert!(!is_stale(&alloc("unaskable", Some("/wt/gone")), &facts, &quiet), "its repository can't be asked");
    }
}
