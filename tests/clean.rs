//! End-to-end: what a failed build leaves to read (portage's own log of the failing package, the
//! binary package that failed its checksum) and `cargo xtask clean`, with the real buildah on the rig.

use std::collections::BTreeSet;

use buildah_gentoo_tests::e2e::*;
use camino::Utf8PathBuf;
use serde_json::Value;

const ALPHA_RS: &str = "image-defs/src/images/rig/alpha.rs";
const ALPHA_PACKAGES: &str = "packages: &[atom!(\"app-misc/alpha\")],";

/// rig/alpha with app-misc/broken, built with USE `use`.
fn add_broken(ws: &Workspace, use_flags: &str) {
    ws.edit(
        ALPHA_RS,
        ALPHA_PACKAGES,
        &format!(
            "packages: &[atom!(\"app-misc/alpha\"), atom!(\"app-misc/broken\")],\n        \
             package_use: &[crate::package_use!(\"app-misc/broken\" => \"{use_flags}\")],"
        ),
    );
}

fn json(run: &Finished) -> Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|error| panic!("not JSON ({error}):\n{}", run.describe()))
}

#[test]
fn a_failing_package_keeps_its_build_log_and_a_bad_binary_package_is_named() {
    let session = Session::start("pkglog");
    let ws = Workspace::copy();
    add_broken(&ws, "fail");
    let before = containers();
    let failed = session.xtask(&ws, &["build", "rig/alpha"]);
    failed.expect_failure();
    let entry = failed.summary_entry("rig/alpha").expect("rig/alpha in the summary");
    assert_eq!(entry["result"], "failed", "{entry:#}");
    let logs = entry["package_logs"].as_array().expect("package_logs");
    assert_eq!(logs.len(), 1, "{entry:#}");
    assert_eq!(logs[0]["package"], "app-misc/broken-1", "{entry:#}");
    let build_log = Utf8PathBuf::from(logs[0]["build_log"].as_str().unwrap());
    assert_eq!(
        build_log,
        ws.root().join("target/buildah-gentoo/logs/rig+alpha.app-misc+broken-1.build.log"),
        "{entry:#}"
    );
    let text = std::fs::read_to_string(&build_log).unwrap();
    assert!(text.contains("deliberate build failure"), "{text}");
    let environment = Utf8PathBuf::from(logs[0]["environment"].as_str().expect("environment kept"));
    assert!(std::fs::read_to_string(&environment).unwrap().contains("broken"));
    let output = failed.output();
    assert!(output.contains(&format!("app-misc/broken-1 failed; its build log: {build_log}")), "{output}");
    let left = session.new_containers(&before, &containers());
    assert!(left.is_empty(), "containers left after the failure: {left:#?}");

    // Without USE=fail it builds, and its binary package lands in the cache; a corrupted package
    // fails emerge's checksum and is named.
    ws.edit(ALPHA_RS, "\"app-misc/broken\" => \"fail\"", "\"app-misc/broken\" => \"-fail\"");
    session.xtask(&ws, &["build", "rig/alpha"]).expect_success();
    let folder = rig_binpkgs(&session.cache_dir()).join("app-misc/broken");
    let package: Utf8PathBuf = folder
        .read_dir_utf8()
        .unwrap_or_else(|error| panic!("{folder}: {error}"))
        .flatten()
        .map(|entry| entry.path().to_owned())
        .find(|path| path.as_str().ends_with(".gpkg.tar") || path.as_str().ends_with(".tbz2"))
        .expect("the binary package of app-misc/broken");
    let mut bytes = std::fs::read(&package).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&package, bytes).unwrap();
    let corrupt = session.xtask(&ws, &["build", "--force", "rig/alpha"]);
    corrupt.expect_failure();
    let entry = corrupt.summary_entry("rig/alpha").unwrap();
    let failures = entry["checksum_failures"].as_array().expect("checksum_failures");
    assert_eq!(failures.len(), 1, "{entry:#}\n{}", corrupt.describe());
    assert!(failures[0].as_str().unwrap().contains("._checksum_failure_"), "{entry:#}");
    let output = corrupt.output();
    assert!(output.contains("the binary package app-misc/broken-1 failed its checksum"), "{output}");
    assert!(output.contains("rebuild it"), "{output}");
}

#[test]
fn clean_removes_exactly_what_it_says_and_nothing_of_another_namespace() {
    let session = Session::start("clean");
    let ws = Workspace::copy();
    session.xtask(&ws, &["build", "rig/alpha"]).expect_success();
    let first = session.id("rig/alpha").unwrap();

    // A rebuild at another git revision: same inputs, another image; the first loses every name.
    let git = |args: &[&str]| {
        let status = std::process::Command::new("git")
            .args(["-c", "user.name=e2e", "-c", "user.email=e2e@invalid"])
            .args(args)
            .current_dir(ws.root())
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "git {args:?}");
    };
    git(&["init", "-q"]);
    git(&["add", "-A"]);
    git(&["commit", "-qm", "e2e"]);
    session.xtask(&ws, &["build", "--force", "--no-deps", "rig/alpha"]).expect_success();
    let second = session.id("rig/alpha").unwrap();
    assert_ne!(first, second, "the rebuild at a new revision gave the same image");
    assert!(image_exists(&first) && names_of(&first).is_empty(), "{first} is not left without a name");

    // Date tags: rig/alpha gets three old ones (four with today's: the oldest goes), rig/base one.
    for tag in ["20200101", "20200102", "20200103"] {
        buildah_ok(&["tag", &second, &session.reference("rig/alpha", tag)]);
    }
    let base = session.id("rig/base").unwrap();
    buildah_ok(&["tag", &base, &session.reference("rig/base", "20190101")]);

    // Another namespace: old date tags and a container of a gone process, all to survive.
    let other = format!("localhost/e2e-clean-other-{}", std::process::id());
    let other_tags: Vec<String> = (1..=5).map(|day| format!("{other}/rig/alpha:2000010{day}")).collect();
    for tag in &other_tags {
        buildah_ok(&["tag", &second, tag]);
    }
    let foreign = format!("bg-999999-{}-work", std::process::id());
    buildah_ok(&["from", "--name", &foreign, &other_tags[0]]);
    struct Foreign(Vec<String>, String);
    impl Drop for Foreign {
        fn drop(&mut self) {
            buildah(&["rm", &self.1]);
            for tag in &self.0 {
                buildah(&["rmi", tag]);
            }
        }
    }
    let _foreign = Foreign(other_tags.clone(), foreign.clone());

    // A container --keep-failed keeps (its process ends with the build).
    add_broken(&ws, "fail");
    let kept = session.xtask(&ws, &["build", "--no-deps", "--keep-failed", "rig/alpha"]);
    kept.expect_failure();
    let kept_containers: Vec<String> = kept
        .output()
        .lines()
        .filter_map(|line| line.split("kept the working container ").nth(1))
        .filter_map(|rest| rest.split_whitespace().next())
        .map(str::to_owned)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(kept_containers.len(), 1, "{}", kept.describe());

    // Contexts and logs of an image no longer defined.
    let work = ws.root().join("target/buildah-gentoo");
    std::fs::create_dir_all(work.join("context/rig+gone/etc")).unwrap();
    std::fs::write(work.join("context/rig+gone/etc/x"), "x").unwrap();
    std::fs::write(work.join("logs/rig+gone.log"), "old").unwrap();

    let describe = |report: &Value| -> BTreeSet<(String, String)> {
        report["removed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| (item["kind"].as_str().unwrap().to_owned(), item["target"].as_str().unwrap().to_owned()))
            .collect()
    };
    let expected: BTreeSet<(String, String)> = [
        ("container", kept_containers[0].clone()),
        ("tag", session.reference("rig/alpha", "20200101")),
        ("image", first.clone()),
        ("context", "target/buildah-gentoo/context/rig+gone".to_owned()),
        ("log", "target/buildah-gentoo/logs/rig+gone.log".to_owned()),
    ]
    .into_iter()
    .map(|(kind, target)| (kind.to_owned(), target))
    .collect();

    let references_before = session.references();
    let dry = session.xtask(&ws, &["clean", "--dry-run", "--json"]);
    dry.expect_success();
    let dry = json(&dry);
    assert_eq!(dry["dry_run"], true);
    assert_eq!(describe(&dry), expected, "{dry:#}");
    assert_eq!(session.references(), references_before, "--dry-run removed a name");
    assert!(image_exists(&first) && work.join("logs/rig+gone.log").exists(), "--dry-run removed something");

    let cleaned = session.xtask(&ws, &["clean", "--json"]);
    cleaned.expect_success();
    let cleaned = json(&cleaned);
    assert_eq!(describe(&cleaned), expected, "{cleaned:#}");
    assert_eq!(cleaned["failed"].as_array().unwrap().len(), 0, "{cleaned:#}");
    assert_eq!(cleaned["bytes"], dry["bytes"]);
    assert!(cleaned["bytes"].as_u64().unwrap() > 0, "{cleaned:#}");

    // Exactly that went.
    let mut references_after = references_before.clone();
    references_after.remove(&session.reference("rig/alpha", "20200101"));
    assert_eq!(session.references(), references_after);
    assert!(!image_exists(&first));
    let names: BTreeSet<String> = containers().into_iter().map(|container| container.name).collect();
    assert!(!names.contains(&kept_containers[0]));
    assert!(names.contains(&foreign), "the other namespace's container was removed");
    for tag in &other_tags {
        assert_eq!(image_id(tag).as_deref(), Some(second.as_str()), "{tag} was removed");
    }
    assert!(!work.join("context/rig+gone").exists() && !work.join("logs/rig+gone.log").exists());
    assert!(work.join("logs/rig+alpha.log").exists() && work.join("context/rig+alpha").exists());

    // Nothing more to do.
    let again = json(session.xtask(&ws, &["clean", "--json"]).expect_success());
    assert_eq!(describe(&again), BTreeSet::new(), "{again:#}");
}
