//! `cargo xtask status --json` and `build --explain` on the rig, through the real CLI and real
//! buildah: each kind of change names the input that changed, and only that one. Built once
//! (`rig/base`, `rig/hello` with a copied file added), then one thing varied at a time; a change
//! undone is up to date again (the comparison is exact, not guessed).
//!
//! Run with `BUILDAH_ISOLATION=chroot cargo xtask test -- --test status`.

use buildah_gentoo_tests::e2e::*;
use serde_json::Value;

const HELLO_RS: &str = "image-defs/src/images/rig/hello.rs";
const BASE_RS: &str = "image-defs/src/images/rig/base.rs";
/// A file rig/hello copies in (added by the test: no rig image copies one).
const MOTD: &str = "image-defs/src/images/rig/hello.motd";
/// A file added to the rig's ebuild repository (a new snapshot of it).
const REPO_FILE: &str = "tests/rig/repo/app-misc/hello/metadata.xml";

/// `status --json ARGS`: each image's entry by name.
fn status(session: &Session, ws: &Workspace, args: &[&str]) -> Vec<Value> {
    let mut argv = vec!["status", "--json"];
    argv.extend_from_slice(args);
    let finished = session.xtask(ws, &argv);
    finished.expect_success();
    let json: Value = serde_json::from_str(&finished.stdout).unwrap_or_else(|error| {
        panic!("status --json is not JSON: {error}\n{}", finished.stdout);
    });
    json.as_array().expect("an array").clone()
}

fn entry<'a>(statuses: &'a [Value], image: &str) -> &'a Value {
    statuses.iter().find(|entry| entry["image"] == image).unwrap_or_else(|| panic!("{image} in {statuses:#?}"))
}

/// `(status, [(input, part, path)])` of an image.
fn state(statuses: &[Value], image: &str) -> (String, Vec<(String, String, Option<String>)>) {
    let entry = entry(statuses, image);
    let text = |value: &Value| value.as_str().unwrap_or_default().to_owned();
    let reasons = entry["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|reason| (text(&reason["input"]), text(&reason["part"]), reason["path"].as_str().map(str::to_owned)))
        .collect();
    (text(&entry["status"]), reasons)
}

fn reason(input: &str, part: &str, path: Option<&str>) -> (String, String, Option<String>) {
    (input.to_owned(), part.to_owned(), path.map(str::to_owned))
}

fn up_to_date() -> (String, Vec<(String, String, Option<String>)>) {
    ("up_to_date".to_owned(), vec![])
}

#[test]
fn status_names_the_input_that_changed() {
    let session = Session::start("status");
    let ws = Workspace::copy();
    std::fs::write(ws.root().join(MOTD), "welcome\n").unwrap();
    ws.edit(
        HELLO_RS,
        "        test: Some(&[\"hello\"]),",
        "        files: &[copy_file!(\"hello.motd\" => \"/etc/motd\")],\n        test: Some(&[\"hello\"]),",
    );
    ws.edit(HELLO_RS, "use crate::{atom, image,", "use crate::{atom, copy_file, image,");

    // Nothing built: missing, parents included as `build` takes them.
    let before = status(&session, &ws, &["rig/hello"]);
    let names: Vec<&str> = before.iter().map(|entry| entry["image"].as_str().unwrap()).collect();
    assert_eq!(names, ["rig/base", "rig/hello"]);
    assert_eq!(state(&before, "rig/base"), ("missing".to_owned(), vec![]));
    assert_eq!(state(&before, "rig/hello"), ("missing".to_owned(), vec![]));

    session.xtask(&ws, &["build", "rig/hello"]).expect_success();
    let built = status(&session, &ws, &["rig/hello"]);
    assert_eq!(state(&built, "rig/base"), up_to_date());
    assert_eq!(state(&built, "rig/hello"), up_to_date());
    assert_eq!(entry(&built, "rig/hello")["id"].as_str(), session.id("rig/hello").as_deref());
    // The record travels with the image, as a label.
    let labels = image_labels(&session.latest("rig/hello"));
    let recorded: Value = serde_json::from_str(&labels[xtask::plan::input_parts::INPUT_PARTS_LABEL]).unwrap();
    let base_id = session.id("rig/base").unwrap();
    assert_eq!(recorded["parent"].as_str(), Some(base_id.trim_start_matches("sha256:")), "{recorded:#}");

    // A copied file: rig/hello is stale for that file alone; undone, up to date again.
    std::fs::write(ws.root().join(MOTD), "welcome, changed\n").unwrap();
    let changed = status(&session, &ws, &["rig/hello"]);
    assert_eq!(state(&changed, "rig/base"), up_to_date());
    assert_eq!(state(&changed, "rig/hello"), ("stale".to_owned(), vec![reason("file", "files", Some(MOTD))]));
    std::fs::write(ws.root().join(MOTD), "welcome\n").unwrap();
    assert_eq!(state(&status(&session, &ws, &["rig/hello"]), "rig/hello"), up_to_date());

    // The ebuild repository: a new file in it makes both images stale, for the repository (with the
    // old and new identity); rig/hello also because its parent is built first.
    std::fs::write(ws.root().join(REPO_FILE), "<pkgmetadata/>\n").unwrap();
    let changed = status(&session, &ws, &["rig/hello"]);
    assert_eq!(state(&changed, "rig/base"), ("stale".to_owned(), vec![reason("repository", "main", None)]));
    assert_eq!(
        state(&changed, "rig/hello"),
        ("stale".to_owned(), vec![reason("repository", "main", None), reason("parent", "rig/base", None)])
    );
    assert!(entry(&changed, "rig/hello")["reasons"][1]["now"].is_null(), "the parent's new id is not known yet");
    for image in ["rig/base", "rig/hello"] {
        let repository = &entry(&changed, image)["reasons"][0];
        assert!(repository["was"].is_string() && repository["now"].is_string(), "{repository:#}");
        assert_ne!(repository["was"], repository["now"]);
    }
    std::fs::remove_file(ws.root().join(REPO_FILE)).unwrap();
    let undone = status(&session, &ws, &["rig/hello"]);
    assert_eq!((state(&undone, "rig/base"), state(&undone, "rig/hello")), (up_to_date(), up_to_date()));

    // A field of the definition: the environment. `build --explain` says what `status` says.
    ws.edit(HELLO_RS, "\"hello from the rig\"", "\"hello again\"");
    let changed = status(&session, &ws, &["rig/hello"]);
    assert_eq!(state(&changed, "rig/base"), up_to_date());
    assert_eq!(state(&changed, "rig/hello"), ("stale".to_owned(), vec![reason("definition", "env", None)]));
    let said = session.xtask(&ws, &["status", "rig/hello"]);
    said.expect_success();
    let explained = session.xtask(&ws, &["build", "--explain", "rig/hello"]);
    explained.expect_success();
    for line in said.stdout.lines() {
        assert!(explained.stdout.lines().any(|other| other == line), "`{line}` in:\n{}", explained.stdout);
    }
    assert_eq!(explained.result_of("rig/hello"), Some("built"), "{}", explained.stdout);
    assert_eq!(explained.result_of("rig/base"), Some("up to date"), "{}", explained.stdout);

    // The parent: a changed parent makes its child stale because the parent is built first; once
    // the parent is rebuilt, the child names the old and the new id.
    let old_base = session.id("rig/base").unwrap();
    ws.edit(BASE_RS, "\"buildah-gentoo test rig base\"", "\"buildah-gentoo test rig base, relabelled\"");
    let changed = status(&session, &ws, &["rig/hello"]);
    assert_eq!(state(&changed, "rig/base"), ("stale".to_owned(), vec![reason("definition", "config", None)]));
    assert_eq!(state(&changed, "rig/hello"), ("stale".to_owned(), vec![reason("parent", "rig/base", None)]));
    assert!(entry(&changed, "rig/hello")["reasons"][0]["now"].is_null());
    session.xtask(&ws, &["build", "rig/base"]).expect_success();
    let new_base = session.id("rig/base").unwrap();
    assert_ne!(old_base, new_base);
    let changed = status(&session, &ws, &["rig/hello"]);
    assert_eq!(state(&changed, "rig/base"), up_to_date());
    assert_eq!(state(&changed, "rig/hello"), ("stale".to_owned(), vec![reason("parent", "rig/base", None)]));
    let parent = &entry(&changed, "rig/hello")["reasons"][0];
    let bare = |id: &str| id.trim_start_matches("sha256:").to_owned();
    assert_eq!(parent["was"].as_str().map(bare), Some(bare(&old_base)), "{parent:#}");
    assert_eq!(parent["now"].as_str().map(bare), Some(bare(&new_base)), "{parent:#}");

    // Built before images recorded their parts (the label taken away): stale by its hash, with no
    // parts to name; up to date by its hash all the same.
    forget_parts(&session, "rig/hello", &[]);
    let unrecorded = status(&session, &ws, &["rig/hello"]);
    assert_eq!(state(&unrecorded, "rig/hello"), ("stale".to_owned(), vec![reason("no_manifest", "", None)]));
    session.xtask(&ws, &["build", "rig/hello"]).expect_success();
    let hash = entry(&status(&session, &ws, &["rig/hello"]), "rig/hello")["input_hash"].as_str().unwrap().to_owned();
    forget_parts(&session, "rig/hello", &[&session.reference("rig/hello", &format!("inputs-{hash}"))]);
    assert_eq!(state(&status(&session, &ws, &["rig/hello"]), "rig/hello"), up_to_date());
}

/// Commits the image's `latest` again without the input-parts label and moves `latest` (and the
/// `also` references) to the result: an image as a tool without the label built it.
fn forget_parts(session: &Session, image: &str, also: &[&str]) {
    let latest = session.latest(image);
    let container = buildah_ok(&["from", "--pull=never", "--quiet", &latest]).trim().to_owned();
    let label = format!("{}-", xtask::plan::input_parts::INPUT_PARTS_LABEL);
    buildah_ok(&["config", "--label", &label, &container]);
    let id = buildah_ok(&["commit", "--quiet", "--rm", &container]).trim().to_owned();
    let mut tag = vec!["tag", id.as_str(), latest.as_str()];
    tag.extend_from_slice(also);
    buildah_ok(&tag);
    session.remember_ids();
    assert!(!image_labels(&latest).contains_key(xtask::plan::input_parts::INPUT_PARTS_LABEL), "the label is gone");
}
