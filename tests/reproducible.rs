//! Reproducible images, their SBOM and their OCI annotations: the same rig image built twice from
//! the same inputs and binary packages is the same image (same id, same manifest); its SBOM lists
//! exactly what its package database holds and passes the official SPDX 2.3 schema; its labels and
//! annotations carry the build's values.
//!
//! Run with `BUILDAH_ISOLATION=chroot cargo test -p buildah-gentoo-tests --test reproducible -- --nocapture`.

use std::process::Command;

use buildah_gentoo_tests::e2e::*;
use buildah_gentoo_tests::spdx_schema_errors;
use camino::Utf8PathBuf;
use serde_json::Value;

/// An SBOM made from a package database with every kind of entry the generator handles passes the schema.
#[test]
fn a_generated_sbom_passes_the_spdx_2_3_schema() {
    let dir = tempfile::tempdir().unwrap();
    let root = Utf8PathBuf::from_path_buf(dir.path().to_owned()).unwrap();
    let entries: &[(&str, &[(&str, &str)])] = &[
        (
            "app-misc/hello-1.2-r1",
            &[
                ("USE", "extra"),
                ("IUSE", "extra +doc"),
                ("LICENSE", "|| ( MIT Apache-2.0 ) public-domain ssl? ( OpenSSL )"),
                ("repository", "gentoo"),
                ("SRC_URI", "https://example.org/hello-1.2.tar.gz"),
                ("HOMEPAGE", "https://example.org"),
                ("DESCRIPTION", "says hello"),
                ("CONTENTS", "dir /usr\nobj /usr/bin/hello 09e9ec71f411e0a996887f0fc9c6b9b1 1700000000\n"),
            ],
        ),
        ("virtual/empty-0", &[]),
    ];
    for (cpv, files) in entries {
        let entry = root.join("var/db/pkg").join(cpv);
        std::fs::create_dir_all(&entry).unwrap();
        for (name, text) in *files {
            std::fs::write(entry.join(name), text).unwrap();
        }
    }
    let output = root.join("sbom.spdx.json");
    let info = xtask::sbom::DocumentInfo { image: "rig/hello", created: 1_763_856_000, inputs: Some("ab") };
    xtask::sbom::write(&root, info, &output).unwrap();
    assert_eq!(spdx_schema_errors(&output), None);
    // The check can fail: a document without its version is rejected.
    let mut broken: Value = serde_json::from_str(&std::fs::read_to_string(&output).unwrap()).unwrap();
    broken.as_object_mut().unwrap().remove("spdxVersion");
    std::fs::write(&output, broken.to_string()).unwrap();
    assert!(spdx_schema_errors(&output).is_some_and(|errors| errors.contains("spdxVersion")));
}

fn git(workspace: &Workspace, args: &[&str]) -> String {
    let output = Command::new("git")
        .args(["-c", "user.name=e2e", "-c", "user.email=e2e@example.invalid"])
        .args(args)
        .current_dir(workspace.root())
        .output()
        .expect("running git");
    assert!(output.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// The image's manifest as containers-storage holds it (`skopeo inspect --raw`).
fn manifest(reference: &str) -> Value {
    let output = Command::new("skopeo")
        .args(["inspect", "--raw", &format!("containers-storage:{reference}")])
        .output()
        .expect("running skopeo");
    assert!(output.status.success(), "skopeo inspect --raw {reference}: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

fn digest(reference: &str) -> String {
    let output = Command::new("skopeo")
        .args(["inspect", "--format", "{{.Digest}}", &format!("containers-storage:{reference}")])
        .output()
        .expect("running skopeo");
    assert!(output.status.success(), "skopeo inspect {reference}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// Issue tests 1-3: `rig/hello` built twice from scratch with a warm binary package cache is the same
/// image; its SBOM lists exactly its installed packages with their USE flags and passes the schema;
/// its OCI labels and annotations carry the build's values.
#[test]
fn a_rig_image_built_twice_is_the_same_image_and_describes_itself() {
    let session = Session::start("reproducible");
    let ws = Workspace::copy();
    git(&ws, &["init", "--quiet"]);
    git(&ws, &["add", "--all"]);
    git(&ws, &["commit", "--quiet", "--message", "the image definitions"]);
    let revision = git(&ws, &["rev-parse", "HEAD"]);

    // The first build fills the binary package cache (hello is compiled); then twice from scratch.
    session.xtask(&ws, &["build", "rig/hello"]).expect_success();
    let mut builds = Vec::new();
    for _ in 0..2 {
        session.remove_images(&["rig/hello"]);
        let build = session.xtask(&ws, &["build", "rig/hello"]);
        build.expect_success();
        assert_eq!(build.result_of("rig/hello"), Some("built"), "{}", build.stdout);
        assert!(ws.log("rig/hello").contains("[binary"), "from the binary package cache: {}", ws.log("rig/hello"));
        let reference = session.latest("rig/hello");
        builds.push((session.id("rig/hello").unwrap(), digest(&reference), manifest(&reference)));
        // The summary points at the generated package list.
        let packages_md = ws.root().join("target/buildah-gentoo/PACKAGES.md");
        assert!(build.stdout.contains(&format!("packages of each image: {packages_md}")), "{}", build.stdout);
        let list = std::fs::read_to_string(&packages_md).unwrap();
        assert!(list.contains("## rig/hello\n") && list.contains("| app-misc/hello | 1 | extra | MIT |"), "{list}");
    }
    assert_eq!(builds[0].0, builds[1].0, "the same image id twice");
    assert_eq!(builds[0].1, builds[1].1, "the same manifest digest twice");

    // The SBOM: what `cargo xtask sbom` prints is what the image and the build log folder hold.
    let hello = session.latest("rig/hello");
    let printed = session.xtask(&ws, &["sbom", "rig/hello"]);
    printed.expect_success();
    let beside_log = std::fs::read_to_string(ws.root().join("target/buildah-gentoo/logs/rig+hello.spdx.json")).unwrap();
    assert_eq!(printed.stdout, beside_log);
    assert_eq!(run_in_image_ok(&hello, &["cat", "/usr/share/buildah-gentoo/sbom.spdx.json"]).trim(), beside_log.trim());
    let sbom_path = ws.root().join("target/buildah-gentoo/logs/rig+hello.spdx.json");
    assert_eq!(spdx_schema_errors(&sbom_path), None);
    let sbom: Value = serde_json::from_str(&printed.stdout).unwrap();
    let packages: Vec<&Value> = sbom["packages"].as_array().unwrap().iter().skip(1).collect();
    let listed: Vec<String> = packages
        .iter()
        .map(|package| format!("{}-{}", package["name"].as_str().unwrap(), package["versionInfo"].as_str().unwrap()))
        .collect();
    let installed = packages_in_image(&hello);
    assert_eq!(listed, installed, "the SBOM lists exactly the installed packages");
    assert!(installed.contains(&"app-misc/hello-1".to_owned()), "{installed:?}");
    for (package, cpv) in packages.iter().zip(&installed) {
        let read =
            |file: &str| run_in_image_ok(&hello, &["sh", "-c", &format!("cat /var/db/pkg/{cpv}/{file} || true")]);
        let enabled: Vec<String> = read("USE").split_whitespace().map(str::to_owned).collect();
        let mut flags: Vec<String> = read("IUSE")
            .split_whitespace()
            .map(|flag| flag.trim_start_matches(['+', '-']))
            .map(|flag| if enabled.iter().any(|on| on == flag) { flag.to_owned() } else { format!("-{flag}") })
            .collect();
        flags.sort_by(|a, b| a.trim_start_matches('-').cmp(b.trim_start_matches('-')));
        let comment = package["comment"].as_str().unwrap();
        assert!(comment.starts_with(&format!("USE: {};", flags.join(" "))), "{cpv}: {comment} vs {flags:?}");
    }
    assert!(packages
        .iter()
        .any(|p| p["name"] == "app-misc/hello" && p["comment"].as_str().unwrap().contains("USE: extra;")));
    assert_eq!(sbom["creationInfo"]["created"], "2025-11-23T00:00:00Z", "the rig repository's timestamp.chk");

    // Labels and manifest annotations.
    let labels = image_labels(&hello);
    let annotations = builds[1].2["annotations"].clone();
    let inputs = labels["io.buildah-gentoo.inputs"].clone();
    let expected = [
        ("org.opencontainers.image.title", "rig/hello".to_owned()),
        ("org.opencontainers.image.created", "2025-11-23T00:00:00Z".to_owned()),
        ("org.opencontainers.image.revision", revision),
        ("org.opencontainers.image.version", inputs.clone()),
        ("org.opencontainers.image.base.name", session.latest("rig/base")),
        ("org.opencontainers.image.base.digest", digest(&session.latest("rig/base"))),
    ];
    for (key, value) in &expected {
        assert_eq!(labels.get(*key), Some(value), "label {key}: {labels:#?}");
        assert_eq!(annotations[*key], Value::from(value.as_str()), "annotation {key}: {annotations:#}");
    }
    assert!(!labels.contains_key("org.opencontainers.image.source"), "no source configured, none claimed");
    let created = inspect_image(&hello)["OCIv1"]["created"].clone();
    assert_eq!(created, "2025-11-23T00:00:00Z", "the image's creation time is SOURCE_DATE_EPOCH");
}
