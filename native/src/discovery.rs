//! Where the registry is and which worktree we are in: an explicit path, then
//! `ATLAS_PORTS_REGISTRY`, then the main worktree's root of the git repository around the folder
//! worked in, then a walk up to an existing registry, then that folder itself.

use std::fs;
use std::path::{Path, PathBuf};

/// The registry's path under a root folder.
pub const REGISTRY_RELATIVE: &str = ".atlas/worktrees/ports.json";
/// Where the reference design keeps it: used when it exists and ours does not.
pub const REFERENCE_REGISTRY_RELATIVE: &str = "design/worktrees/ports.json";
/// The environment variable that points every repository at one registry.
pub const REGISTRY_ENV: &str = "ATLAS_PORTS_REGISTRY";

/// The git worktree around a folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Worktree {
    /// The worktree's root folder (the one holding `.git`).
    pub root: PathBuf,
    /// The root of the repository's main worktree, where the shared registry lives.
    pub main_root: PathBuf,
    /// The repository's common git folder (the main worktree's `.git`), which identifies the
    /// repository whichever worktree one is in.
    pub common_dir: PathBuf,
    /// Git's id of a linked worktree (`<common_dir>/worktrees/<id>`); `None` for the main one.
    pub git_id: Option<String>,
}

impl Worktree {
    /// The default worktree id: the basename of the worktree's root.
    pub fn name(&self) -> String {
        self.root.file_name().map_or_else(|| self.root.display().to_string(), |n| n.to_string_lossy().into_owned())
    }
}

/// The git worktree that `start` is in, if any.
pub fn find_worktree(start: &Path) -> Option<Worktree> {
    for dir in start.ancestors() {
        let dot_git = dir.join(".git");
        let Ok(meta) = fs::metadata(&dot_git) else {
            continue;
        };
        if meta.is_dir() {
            return Some(Worktree {
                root: dir.to_owned(),
                main_root: dir.to_owned(),
                common_dir: canonical(&dot_git),
                git_id: None,
            });
        }
        // A `.git` file: a linked worktree ("gitdir: <common>/worktrees/<name>") or a submodule.
        let gitdir = read_gitdir_file(&dot_git)?;
        let gitdir = if gitdir.is_absolute() { gitdir } else { dir.join(gitdir) };
        return Some(match fs::read_to_string(gitdir.join("commondir")) {
            Ok(common) => {
                let common = PathBuf::from(common.trim());
                let common = normalize(&if common.is_absolute() { common } else { gitdir.join(common) });
                Worktree {
                    root: dir.to_owned(),
                    main_root: main_root_of(&common),
                    common_dir: canonical(&common),
                    git_id: gitdir.file_name().map(|n| n.to_string_lossy().into_owned()),
                }
            }
            // No commondir: a submodule, whose own checkout is its main worktree.
            Err(_) => Worktree {
                root: dir.to_owned(),
                main_root: dir.to_owned(),
                common_dir: canonical(&normalize(&gitdir)),
                git_id: None,
            },
        });
    }
    None
}

/// The registry to use, in the order above. `worktree` is the git worktree around `cwd`
/// ([`find_worktree`]), found once by the caller.
pub fn registry_path(explicit: Option<&Path>, env: Option<&str>, cwd: &Path, worktree: Option<&Worktree>) -> PathBuf {
    if let Some(p) = explicit {
        return cwd.join(p);
    }
    if let Some(p) = env.filter(|p| !p.is_empty()) {
        return cwd.join(p);
    }
    if let Some(wt) = worktree {
        let ours = wt.main_root.join(REGISTRY_RELATIVE);
        let reference = wt.main_root.join(REFERENCE_REGISTRY_RELATIVE);
        return if !ours.exists() && reference.is_file() { reference } else { ours };
    }
    cwd.ancestors()
        .map(|d| d.join(REGISTRY_RELATIVE))
        .find(|p| p.is_file())
        .unwrap_or_else(|| cwd.join(REGISTRY_RELATIVE))
}

fn read_gitdir_file(dot_git: &Path) -> Option<PathBuf> {
    let text = fs::read_to_string(dot_git).ok()?;
    let line = text.lines().find_map(|l| l.strip_prefix("gitdir:"))?;
    Some(PathBuf::from(line.trim()))
}

/// The main worktree of a common git dir: its parent when it is a `.git` folder; a bare
/// repository (no main worktree) keeps the registry inside the common dir itself.
fn main_root_of(common: &Path) -> PathBuf {
    match (common.file_name(), common.parent()) {
        (Some(name), Some(parent)) if name == ".git" => parent.to_owned(),
        _ => common.to_owned(),
    }
}

/// The path with links resolved, so that every worktree names its repository the same way.
fn canonical(path: &Path) -> PathBuf {
    fs::canonicalize(path).unwrap_or_else(|_| path.to_owned())
}

/// Resolves `.` and `..` lexically (the common dir is usually given as `../..`).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_linked_worktree_resolves_to_the_main_worktree() {
        let tmp = tempfile::tempdir().unwrap();
        let main = tmp.path().join("repo");
        let linked = tmp.path().join("wt").join("feature-x");
        fs::create_dir_all(main.join(".git/worktrees/feature-x")).unwrap();
        fs::create_dir_all(linked.join("src")).unwrap();
        fs::write(linked.join(".git"), format!("gitdir: {}\n", main.join(".git/worktrees/feature-x").display()))
            .unwrap();
        fs::write(main.join(".git/worktrees/feature-x/commondir"), "../..\n").unwrap();

        let wt = find_worktree(&linked.join("src")).unwrap();
        assert_eq!((&wt.root, &wt.main_root), (&linked, &main));
        assert_eq!(wt.common_dir, fs::canonicalize(main.join(".git")).unwrap());
        assert_eq!(wt.git_id.as_deref(), Some("feature-x"));
        assert_eq!(wt.name(), "feature-x");
        assert_eq!(registry_path(None, None, &linked.join("src"), Some(&wt)), main.join(REGISTRY_RELATIVE));
        let main_wt = find_worktree(&main).unwrap();
        assert_eq!((main_wt.common_dir.clone(), main_wt.git_id.clone()), (wt.common_dir.clone(), None));
        assert_eq!(registry_path(None, None, &main, Some(&main_wt)), main.join(REGISTRY_RELATIVE));
    }

    #[test]
    fn the_reference_designs_registry_is_used_when_ours_does_not_exist() {
        let tmp = tempfile::tempdir().unwrap();
        let main = tmp.path().join("repo");
        fs::create_dir_all(main.join(".git")).unwrap();
        fs::create_dir_all(main.join("design/worktrees")).unwrap();
        let wt = find_worktree(&main).unwrap();
        assert_eq!(registry_path(None, None, &main, Some(&wt)), main.join(REGISTRY_RELATIVE), "no file: ours");
        fs::write(main.join(REFERENCE_REGISTRY_RELATIVE), "{}").unwrap();
        assert_eq!(registry_path(None, None, &main, Some(&wt)), main.join(REFERENCE_REGISTRY_RELATIVE));
        fs::create_dir_all(main.join(".atlas/worktrees")).unwrap();
        fs::write(main.join(REGISTRY_RELATIVE), "{}").unwrap();
        assert_eq!(registry_path(None, None, &main, Some(&wt)), main.join(REGISTRY_RELATIVE), "ours wins");
    }

    #[test]
    fn explicit_beats_env_beats_git_and_walk_up() {
        let tmp = tempfile::tempdir().unwrap();
        let cwd = tmp.path().join("a/b");
        fs::create_dir_all(&cwd).unwrap();
        let env = tmp.path().join("e.json");
        let env = env.to_str().unwrap();
        assert_eq!(registry_path(Some(Path::new("x.json")), Some(env), &cwd, None), cwd.join("x.json"));
        assert_eq!(registry_path(None, Some(env), &cwd, None), PathBuf::from(env));
        // Outside git, no registry anywhere: the folder worked in.
        assert_eq!(registry_path(None, None, &cwd, None), cwd.join(REGISTRY_RELATIVE));
        // Outside git, a registry further up is found.
        let up = tmp.path().join("a").join(REGISTRY_RELATIVE);
        fs::create_dir_all(up.parent().unwrap()).unwrap();
        fs::write(&up, "{}").unwrap();
        assert_eq!(registry_path(None, None, &cwd, None), up);
    }

    #[test]
    fn a_bare_repository_keeps_the_registry_in_its_git_dir() {
        assert_eq!(main_root_of(Path::new("/srv/repo.git")), PathBuf::from("/srv/repo.git"));
        assert_eq!(main_root_of(Path::new("/srv/repo/.git")), PathBuf::from("/srv/repo"));
    }
}
