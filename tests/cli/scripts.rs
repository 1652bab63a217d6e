//! The reference design's documented examples, run through the real binary with only the program name
//! replaced: the texts of its "Output" blocks must match byte for byte.

use crate::support::*;

const ALLOCATED_8080: &str = "Allocating port for service 'web' in worktree 'review-GH-42'
Found available port: 8080
Registry updated: .atlas/worktrees/ports.json
Allocated port: 8080

You can start your service with:
  npm start -- --port 8080
  python manage.py runserver 0.0.0.0:8080
";

#[test]
fn allocate_web_for_review_gh_42_prints_the_reference_output() {
    let _ports = default_ranges();
    let repo = Repo::new();
    repo.init();
    let run =
        repo.run(&["--service", "web", "--worktree", "review-GH-42", "--description", "Frontend dev server"]).success();
    assert_eq!(run.stdout, ALLOCATED_8080);
    assert_eq!(run.stderr, "");
    let reg = repo.registry_json();
    let a = &reg["allocations"][0];
    assert_eq!((a["port"].as_u64(), a["worktree"].as_str()), (Some(8080), Some("review-GH-42")));
    assert_eq!(a["description"], "Frontend dev server");
    assert_eq!(a["health_status"], "unknown");
    assert!(a["process_id"].is_null());
    assert_eq!(reg["metadata"]["total_allocations"], 1);
}

#[test]
fn the_allocate_subcommand_prints_the_same_text() {
    let _ports = default_ranges();
    let repo = Repo::new();
    repo.init();
    let run = repo.run(&["allocate", "--service", "web", "--worktree", "review-GH-42"]).success();
    assert_eq!(run.stdout, ALLOCATED_8080);
}

#[test]
fn find_next_after_two_allocations_prints_the_reference_output() {
    let _ports = default_ranges();
    let repo = Repo::new();
    repo.init();
    repo.run(&["--service", "web", "--worktree", "review-GH-42"]).success();
    repo.run(&["--service", "web", "--worktree", "feature-search"]).success();
    let run = repo.run(&["--find-next", "web"]).success();
    assert_eq!(
        run.stdout,
        "Next available port in 'web' range: 8082\nRange: 8080-8099\nCurrently allocated: 8080, 8081\n"
    );
    assert_eq!(repo.run(&["next", "web"]).success().stdout, run.stdout);
    // Preview only: nothing was allocated.
    assert_eq!(repo.registry_json()["allocations"].as_array().unwrap().len(), 2);
}

#[test]
fn release_prints_the_reference_output_and_a_second_release_says_no() {
    let _ports = default_ranges();
    let repo = Repo::new();
    repo.init();
    repo.run(&["--service", "web", "--worktree", "review-GH-42"]).success();
    let run = repo.run(&["--release", "8080"]).success();
    assert_eq!(
        run.stdout,
        "Releasing port 8080\nPort 8080 released successfully\nRegistry updated: .atlas/worktrees/ports.json\n"
    );
    assert_eq!(repo.registry_json()["metadata"]["total_allocations"], 0);

    let before = repo.registry_bytes();
    let again = repo.run(&["--release", "8080"]).code(1);
    assert_eq!(again.stdout, "Releasing port 8080\nPort 8080 was not allocated\n");
    assert_eq!(repo.registry_bytes(), before, "a release of nothing does not rewrite the file");
    repo.run(&["release", "8080"]).code(1);
}

#[test]
fn quiet_prints_the_port_alone() {
    let _ports = default_ranges();
    let repo = Repo::new();
    repo.init();
    assert_eq!(repo.run(&["--service", "web", "--worktree", "a", "--quiet"]).success().stdout, "8080\n");
    assert_eq!(repo.run(&["allocate", "--service", "web", "--worktree", "b", "-q"]).success().stdout, "8081\n");
}

#[test]
fn the_program_answers_to_the_reference_script_name() {
    let _ports = default_ranges();
    let repo = Repo::new();
    repo.init();
    let alias = repo.tmp.path().join("port_allocate");
    std::fs::copy(bin(), &alias).unwrap();
    let out = std::process::Command::new(&alias)
        .args(["--service", "web", "--worktree", "review-GH-42"])
        .current_dir(&repo.main)
        .env_remove("ATLAS_PORTS_REGISTRY")
        .output()
        .unwrap();
    let run = Run::from(out).success();
    assert_eq!(run.stdout, ALLOCATED_8080);
}

#[test]
fn release_with_worktree_removes_only_that_worktrees_duplicate() {
    let _ports = default_ranges();
    let repo = Repo::new();
    repo.init();
    repo.run(&["--service", "web", "--worktree", "review-GH-42"]).success();
    repo.run(&["--service", "web", "--worktree", "feature-search"]).success();
    // Hand-edit a duplicate: both entries now claim 8080.
    let text = String::from_utf8(repo.registry_bytes()).unwrap().replace("\"port\": 8081", "\"port\": 8080");
    std::fs::write(repo.registry(), text).unwrap();
    repo.run(&["--release", "8080", "--worktree", "feature-search"]).success();
    let allocations = repo.registry_json()["allocations"].clone();
    assert_eq!(allocations.as_array().unwrap().len(), 1);
    assert_eq!(allocations[0]["worktree"], "review-GH-42");
}

#[test]
fn script_flag_errors_exit_2() {
    let repo = Repo::new();
    repo.init();
    let before = repo.registry_bytes();
    let neither = repo.run(&["--worktree", "x", "--quiet"]).code(2);
    assert!(neither.stderr.contains("--service"), "{}", neither.stderr);
    let both = repo.run(&["--service", "web", "--release", "8080"]).code(2);
    assert!(both.stderr.contains("cannot be used with"), "{}", both.stderr);
    repo.run(&["--release", "70000"]).code(2);
    assert_eq!(repo.registry_bytes(), before);
}
