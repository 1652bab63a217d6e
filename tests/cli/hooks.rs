//! `hooks install` and `hooks uninstall` on hooks they must not rewrite: a hook that is not
//! UTF-8, a binary one, one that cannot be read, a symbolic link, and one in another language
//! are left byte for byte as they were, with exit status 2, the file named, and the line to add
//! by hand. A shell hook gets the block after its interpreter line and keeps its permissions.

use crate::support::*;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

fn hook(repo: &Repo) -> PathBuf {
    let hooks = repo.main.join(".git/hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    hooks.join("post-checkout")
}

fn write_hook(path: &Path, bytes: &[u8], mode: u32) {
    std::fs::write(path, bytes).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Install and uninstall both refuse, and the hook is exactly as it was.
fn refused_both_ways(repo: &Repo, path: &Path, why: &str) {
    let before = std::fs::read(path).unwrap();
    let run = repo.run(&["hooks", "install"]).code(2);
    assert!(run.stderr.contains(".git/hooks/post-checkout is left as it is"), "{}", run.stderr);
    assert!(run.stderr.contains(why), "{}", run.stderr);
    assert!(run.stderr.contains("atlas-ports hooks run \"$@\" || true"), "{}", run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert_eq!(std::fs::read(path).unwrap(), before, "install changed nothing");
    // Without our block in it, uninstall has nothing to do either.
    let run = repo.run(&["hooks", "uninstall"]).success();
    assert!(run.stdout.starts_with("No atlas-ports block"), "{}", run.stdout);
    assert_eq!(std::fs::read(path).unwrap(), before, "uninstall changed nothing");
}

#[test]
fn a_hook_that_is_not_utf8_text_is_left_alone() {
    let repo = Repo::new();
    let path = hook(&repo);
    write_hook(&path, b"#!/bin/sh\n# caf\xe9: Latin-1\necho mine\n", 0o755);
    refused_both_ways(&repo, &path, "it is not UTF-8 text");
}

#[test]
fn a_binary_hook_is_left_alone() {
    let repo = Repo::new();
    let path = hook(&repo);
    let elf = std::fs::read("/bin/true").unwrap();
    assert!(elf.len() > 1000);
    write_hook(&path, &elf, 0o755);
    refused_both_ways(&repo, &path, "it is a binary file, not a script");
}

#[test]
fn a_hook_that_cannot_be_read_is_not_overwritten() {
    let repo = Repo::new();
    let path = hook(&repo);
    write_hook(&path, b"#!/bin/sh\necho secret\n", 0o200);
    let run: Run = if is_root() {
        // As root every file can be read: the owner of a write-only hook is someone else.
        for dir in repo.tmp.path().ancestors().take_while(|d| *d != std::env::temp_dir()) {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        assert!(
            Command::new("chown").args(["-R", "65534:65534"]).arg(repo.main.join(".git")).status().unwrap().success()
        );
        Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", bin(), "hooks", "install"])
            .current_dir(&repo.main)
            .env("GIT_CONFIG_COUNT", "1")
            .env("GIT_CONFIG_KEY_0", "safe.directory")
            .env("GIT_CONFIG_VALUE_0", "*")
            .output()
            .expect("setpriv (util-linux) is installed")
            .into()
    } else {
        repo.run(&["hooks", "install"])
    };
    let run = run.code(2);
    assert!(run.stderr.contains("it cannot be read"), "{}", run.stderr);
    assert!(run.stderr.contains("atlas-ports hooks run \"$@\" || true"), "{}", run.stderr);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "#!/bin/sh\necho secret\n");
}

#[test]
fn a_hook_that_is_a_symbolic_link_is_not_written_through() {
    let repo = Repo::new();
    let path = hook(&repo);
    let shared = repo.tmp.path().join("shared-hook");
    write_hook(&shared, b"#!/bin/sh\necho shared by every repository\n", 0o755);
    std::os::unix::fs::symlink(&shared, &path).unwrap();
    refused_both_ways(&repo, &path, "it is a symbolic link");
    assert!(std::fs::symlink_metadata(&path).unwrap().file_type().is_symlink());
    assert_eq!(std::fs::read_to_string(&shared).unwrap(), "#!/bin/sh\necho shared by every repository\n");
}

#[test]
fn a_hook_in_another_language_gets_the_line_in_its_language() {
    let repo = Repo::new();
    let path = hook(&repo);
    let python = b"#!/usr/bin/env python3\nimport sys\nprint(sys.argv)\n";
    write_hook(&path, python, 0o755);
    let run = repo.run(&["hooks", "install"]).code(2);
    assert!(run.stderr.contains("it is a python3 script, and the block atlas-ports adds is shell"), "{}", run.stderr);
    assert!(
        run.stderr.contains(r#"subprocess.call(["atlas-ports", "hooks", "run", *sys.argv[1:]])"#),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read(&path).unwrap(), python);
    repo.run(&["hooks", "uninstall"]).success();
    assert_eq!(std::fs::read(&path).unwrap(), python);
}

#[test]
fn a_shell_hook_gets_the_block_after_its_interpreter_line_and_keeps_its_mode() {
    let repo = Repo::new();
    let path = hook(&repo);
    let mine = "#!/usr/bin/env bash\nset -e\necho mine\n";
    write_hook(&path, mine.as_bytes(), 0o750);
    let run = repo.run(&["hooks", "install"]).success();
    assert!(run.stdout.starts_with("Post-checkout hook added to the existing hook"), "{}", run.stdout);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("#!/usr/bin/env bash\n# >>> atlas-ports >>>"), "{text}");
    assert!(text.ends_with("# <<< atlas-ports <<<\nset -e\necho mine\n"), "{text}");
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o750);
    let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("atlas-ports"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    repo.run(&["hooks", "uninstall"]).success();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), mine);
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o750);
}

#[test]
fn hooks_that_a_hooks_manager_writes_are_left_to_it() {
    // lefthook's generated hook in .git/hooks.
    let repo = Repo::new();
    let path = hook(&repo);
    let lefthook = b"#!/bin/sh\n\nif [ \"$LEFTHOOK\" = \"0\" ]; then\n  exit 0\nfi\ncall_lefthook()\n{\n  lefthook run \"post-checkout\" \"$@\"\n}\n";
    write_hook(&path, lefthook, 0o755);
    let run = repo.run(&["hooks", "install"]).code(2);
    assert!(run.stderr.contains("lefthook wrote it"), "{}", run.stderr);
    assert!(run.stderr.contains("run: atlas-ports hooks run {0}"), "{}", run.stderr);
    assert_eq!(std::fs::read(&path).unwrap(), lefthook);

    // husky's folder, through core.hooksPath: not even a new file is written there.
    let repo = Repo::new();
    let husky = repo.main.join(".husky/_");
    std::fs::create_dir_all(&husky).unwrap();
    let status =
        Command::new("git").args(["config", "core.hooksPath", ".husky/_"]).current_dir(&repo.main).status().unwrap();
    assert!(status.success());
    let run = repo.run(&["hooks", "install"]).code(2);
    assert!(
        run.stderr.contains(".husky/_/post-checkout is left as it is: it is in husky's hooks folder"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("Add this one line to .husky/post-checkout"), "{}", run.stderr);
    assert!(!husky.join("post-checkout").exists());
}

#[test]
fn uninstall_leaves_a_block_it_cannot_take_out_safely_and_says_how() {
    // A block installed through a link before links were refused: the shared file stays.
    let repo = Repo::new();
    let path = hook(&repo);
    let shared = repo.tmp.path().join("shared-hook");
    let block = "# >>> atlas-ports >>> (`atlas-ports hooks uninstall` removes this block)\natlas-ports hooks run \"$@\"\n# <<< atlas-ports <<<\n";
    let text = format!("#!/bin/sh\n{block}echo shared\n");
    write_hook(&shared, text.as_bytes(), 0o755);
    std::os::unix::fs::symlink(&shared, &path).unwrap();
    let run = repo.run(&["hooks", "uninstall"]).code(2);
    assert!(run.stderr.contains("it is a symbolic link"), "{}", run.stderr);
    assert!(run.stderr.contains("remove the lines from"), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(&shared).unwrap(), text);
    assert!(
        repo.run(&["hooks", "install"]).success().stdout.starts_with("The post-checkout hook already runs atlas-ports")
    );

    // A block in a hook that is not UTF-8.
    let repo = Repo::new();
    let path = hook(&repo);
    let mut latin1 = format!("#!/bin/sh\n{block}").into_bytes();
    latin1.extend_from_slice(b"# caf\xe9\n");
    write_hook(&path, &latin1, 0o755);
    let run = repo.run(&["hooks", "uninstall"]).code(2);
    assert!(run.stderr.contains("it is not UTF-8 text"), "{}", run.stderr);
    assert_eq!(std::fs::read(&path).unwrap(), latin1);
}
