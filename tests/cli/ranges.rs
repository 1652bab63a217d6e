//! A repository's own services and ranges: declared in atlas-ports.toml (added to the registry
//! on first use), and `atlas-ports ranges` to list, add, change and remove them without
//! editing the JSON.

use crate::support::*;
use std::path::Path;

fn git(cwd: &Path, args: &[&str]) {
    let out = std::process::Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@t"])
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// The port `run` gives its command, run from `dir`.
fn port_from(dir: &Path, service: &str) -> Run {
    run_in(dir, &["run", "-q", "-s", service, "--", "sh", "-c", "printf %s \"$PORT\""])
}

/// A monorepo: packages/app and packages/admin, atlas-ports.toml at the root declaring the
/// admin UI's own range; the registry knows only `web`.
fn monorepo(base: u16, admin: &str) -> Repo {
    let repo = Repo::new();
    for package in ["packages/app", "packages/admin"] {
        std::fs::create_dir_all(repo.main.join(package)).unwrap();
        std::fs::write(repo.main.join(package).join("package.json"), "{}\n").unwrap();
    }
    std::fs::write(
        repo.main.join("atlas-ports.toml"),
        format!(
            "[services.web]\n\n[services.admin]\nrange = \"{admin}\"\ndescription = \"Admin UI\"\nhealth_path = \"/healthz\"\n"
        ),
    )
    .unwrap();
    std::fs::write(repo.main.join(".gitignore"), ".atlas/\n.env.ports\n").unwrap();
    git(&repo.main, &["add", "-A"]);
    git(&repo.main, &["commit", "-q", "-m", "monorepo"]);
    repo.write_registry(&[("web", base, base + 3)]);
    repo
}

/// Regression: packages/app and packages/admin both ran `run -s web` and got one port, and
/// declaring `[services.admin]` made `up` fail with "service 'admin' has no range".
#[test]
fn a_monorepo_declares_its_admin_range_and_each_package_gets_its_own_port() {
    let base = free_block(8);
    let repo = monorepo(base, &format!("{}-{}", base + 4, base + 7));
    let web_range = repo.registry_json()["ranges"]["web"].clone();
    let app = port_from(&repo.main.join("packages/app"), "web").success().stdout;
    let admin = port_from(&repo.main.join("packages/admin"), "admin").success().stdout;
    assert_eq!(app, base.to_string());
    assert_eq!(admin, (base + 4).to_string(), "admin's port comes from its declared range");
    let reg = repo.registry_json();
    assert_eq!(
        reg["ranges"]["admin"],
        serde_json::json!({"start": base + 4, "end": base + 7, "description": "Admin UI", "health_path": "/healthz"})
    );
    assert_eq!(reg["ranges"]["web"], web_range, "the other ranges are untouched");
    assert_eq!(reg["ranges"].as_object().unwrap().keys().collect::<Vec<_>>(), ["web", "admin"]);

    // A second use writes nothing; `up` takes both services.
    let before = repo.registry_bytes();
    assert_eq!(port_from(&repo.main.join("packages/admin"), "admin").success().stdout, admin);
    assert_eq!(repo.registry_bytes(), before);
    let up = repo.run(&["up"]).success();
    assert!(up.stdout.contains(&format!("admin        {admin}")), "{}", up.stdout);
    let listed = repo.run(&["ranges"]).success().stdout;
    assert!(listed.contains(&format!("admin  {}-{}", base + 4, base + 7)), "{listed}");
}

#[test]
fn a_declared_range_is_added_on_first_use_when_there_is_no_registry_yet() {
    let base = free_block(4);
    let repo = monorepo(base, &format!("{}-{}", base, base + 3));
    std::fs::remove_dir_all(repo.main.join(".atlas")).unwrap();
    let port = run_in(&repo.main.join("packages/admin"), &["ensure", "-s", "admin", "-q"]).success().stdout;
    assert_eq!(port.trim(), base.to_string());
    let reg = repo.registry_json();
    assert_eq!(reg["ranges"]["admin"]["start"], base);
    assert_eq!(reg["ranges"]["web"]["start"], 8080, "the default ranges are there too");
}

#[test]
fn a_declaration_that_contradicts_the_registry_names_both_and_writes_nothing() {
    let base = free_block(8);
    // Overlapping web's range.
    let repo = monorepo(base, &format!("{}-{}", base + 2, base + 5));
    let before = repo.registry_bytes();
    for args in [&["ensure", "-s", "admin"][..], &["allocate", "-s", "web"], &["up"]] {
        let run = repo.run(args).code(2);
        assert!(
            run.stderr.contains(&format!(
                "atlas-ports.toml, line 3: service 'admin' declares a range the registry cannot take: the range {}-{} of 'admin' overlaps the range of 'web' ({base}-{})",
                base + 2,
                base + 5,
                base + 3
            )),
            "{args:?}: {}",
            run.stderr
        );
        assert_eq!(repo.registry_bytes(), before, "{args:?} wrote the registry");
    }
    let run = port_from(&repo.main.join("packages/admin"), "admin").code(2);
    assert!(run.stderr.contains("overlaps the range of 'web'"), "{}", run.stderr);

    // Differing from the registry's own range of the service.
    let repo = monorepo(base, &format!("{}-{}", base + 4, base + 7));
    repo.write_registry(&[("web", base, base + 3), ("admin", base + 4, base + 5)]);
    let before = repo.registry_bytes();
    let run = repo.run(&["ensure", "-s", "admin"]).code(2);
    assert!(
        run.stderr.contains(&format!(
            "service 'admin' declares the range {}-{}, but the registry's range of 'admin' is {}-{}",
            base + 4,
            base + 7,
            base + 4,
            base + 5
        )),
        "{}",
        run.stderr
    );
    assert_eq!(repo.registry_bytes(), before);
}

#[test]
fn ranges_lists_adds_sets_and_removes_and_a_refused_change_leaves_every_byte() {
    let repo = Repo::new();
    let base = free_block(12);
    repo.write_registry(&[("web", base, base + 3)]);
    let registry = repo.registry().display().to_string();
    let ranges = |args: &[&str]| {
        let mut all = vec!["--registry", registry.as_str(), "ranges"];
        all.extend_from_slice(args);
        repo.run(&all)
    };
    let (s, e) = (base + 4, base + 7);
    let added = ranges(&["add", "admin", &format!("{s}-{e}"), "--description", "Admin UI"]).success();
    assert_eq!(added.stderr, format!("atlas-ports: added the range {s}-{e} for 'admin'\n"));
    let listed = ranges(&[]).success().stdout;
    assert_eq!(
        listed,
        format!(
            "web    {:<11}          0/4 allocated  web\nadmin  {:<11}          0/4 allocated  Admin UI\n",
            format!("{base}-{}", base + 3),
            format!("{s}-{e}")
        )
    );
    let json: serde_json::Value =
        serde_json::from_str(&repo.run(&["--registry", &registry, "--format", "json", "ranges"]).success().stdout)
            .unwrap();
    assert_eq!(
        json[1],
        serde_json::json!({"service": "admin", "start": s, "end": e, "description": "Admin UI", "health_path": null, "probe": null, "allocated": 0})
    );
    repo.run(&["--registry", &registry, "allocate", "-s", "admin", "-w", "w"]).success();

    let before = repo.registry_bytes();
    let refused: Vec<(Vec<String>, String)> = vec![
        (vec!["add".into(), "x".into(), "0-10".into()], "invalid port '0'".into()),
        (vec!["add".into(), "x".into(), "10-70000".into()], "invalid port '70000'".into()),
        (vec!["add".into(), "x".into(), "30000-20000".into()], "start 30000 is greater than end 20000".into()),
        (vec!["add".into(), "x".into(), "8100".into()], "expected START-END".into()),
        (vec!["set".into(), "nope".into(), "1-2".into()], "unknown service 'nope'; valid services: web, admin".into()),
        (vec!["remove".into(), "nope".into()], "unknown service 'nope'".into()),
        (
            vec!["add".into(), "x".into(), format!("{}-{}", base + 3, base + 8)],
            format!("the range {}-{} of 'x' overlaps the range of 'web' ({base}-{})", base + 3, base + 8, base + 3),
        ),
        (
            vec!["add".into(), "Admin".into(), format!("{}-{}", base + 9, base + 9)],
            "services 'admin' and 'Admin' both map to the variable PORT_ADMIN".into(),
        ),
        (
            vec!["add".into(), "web".into(), format!("{}-{}", base + 9, base + 9)],
            format!("already has the range {base}-{}", base + 3),
        ),
        (
            vec!["set".into(), "admin".into(), format!("{}-{e}", s + 1)],
            format!("allocations would fall outside {}-{e}: {s} ('w')", s + 1),
        ),
        (vec!["set".into(), "web".into(), format!("{base}-{s}")], "overlaps the range of 'admin'".into()),
        (vec!["remove".into(), "admin".into()], format!("still holds an allocation: {s} ('w')")),
    ];
    for (args, expected) in refused {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = ranges(&args).code(2);
        assert!(
            run.stderr.starts_with("atlas-ports: error: ") && run.stderr.contains(&expected),
            "{args:?}: {}",
            run.stderr
        );
        assert_eq!(repo.registry_bytes(), before, "{args:?} changed the registry");
    }

    // Widen, then remove once nothing is held.
    let set = ranges(&["set", "admin", &format!("{s}-{}", e + 4)]).success();
    assert_eq!(set.stderr, format!("atlas-ports: the range of 'admin' is now {s}-{}\n", e + 4));
    assert_eq!(repo.registry_json()["ranges"]["admin"]["description"], "Admin UI", "set keeps the description");
    repo.run(&["--registry", &registry, "release", "--worktree", "w", "--all"]).success();
    ranges(&["remove", "admin"]).success();
    let reg = repo.registry_json();
    assert_eq!(reg["ranges"].as_object().unwrap().keys().collect::<Vec<_>>(), ["web"]);
    // The registry keeps the seed's format: the reference scripts' keys, nothing more.
    assert_eq!(reg.as_object().unwrap().keys().collect::<Vec<_>>(), ["ranges", "allocations", "metadata"]);
}

/// Each change holds the lock across read–modify–write: 8 processes adding 8 ranges at once
/// lose none.
#[test]
fn concurrent_range_additions_lose_nothing() {
    let repo = Repo::new();
    let base = free_block(16);
    repo.write_registry(&[("web", base, base + 1)]);
    let registry = repo.registry().display().to_string();
    let children: Vec<_> = (1..=8u16)
        .map(|i| {
            let range = format!("{}-{}", base + 2 * i, base + 2 * i + 1);
            command_in(&repo.main)
                .args(["--registry", &registry, "ranges", "add", &format!("s{i}"), &range])
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        assert!(child.wait_with_output().unwrap().status.success());
    }
    let reg = repo.registry_json();
    assert_eq!(reg["ranges"].as_object().unwrap().len(), 9, "{reg}");
}
