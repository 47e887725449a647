//! End-to-end tests of extra ebuild repositories and of binary package folders keyed by the flags
//! the build really uses: real buildah, real emerge, through the real `cargo xtask` CLI, on the
//! offline rig. `rig/motd` installs `app-misc/motd::overlay` from the rig's second repository
//! (`tests/rig/overlay`, `masters = gentoo`), which needs `app-misc/hello` from `gentoo`.
//!
//! Run with `BUILDAH_ISOLATION=chroot cargo test -p buildah-gentoo-tests --test repositories_and_caches -- --nocapture`.

use buildah_gentoo_tests::e2e::*;
use camino::Utf8Path;
use serde_json::Value;

const MOTD_EBUILD: &str = "tests/rig/overlay/app-misc/motd/motd-1.ebuild";
const BETA_RS: &str = "image-defs/src/images/rig/beta.rs";

/// The keyed folders of a cache (`binpkgs/<root key>-<flags hash>`), sorted.
fn binpkg_folders(cache: &Utf8Path) -> Vec<String> {
    let mut keys: Vec<String> = cache
        .join("binpkgs")
        .read_dir_utf8()
        .map(|entries| entries.flatten().map(|entry| entry.file_name().to_owned()).collect())
        .unwrap_or_default();
    keys.sort();
    keys
}

/// The flags a keyed folder says its packages were built with.
fn recorded_flags(cache: &Utf8Path, key: &str) -> String {
    let record = cache.join("binpkgs").join(key).join(xtask::plan::binpkg_cache::RECORD_FILE);
    std::fs::read_to_string(&record).unwrap_or_else(|error| panic!("{record}: {error}"))
}

#[test]
fn a_package_of_an_extra_repository_installs_and_the_repository_enters_the_input_hash() {
    let session = Session::start("repositories");
    let ws = Workspace::copy();

    // `list --json` and the plan show the repository and its read-only mount.
    let list = session.xtask(&ws, &["list", "--json"]);
    list.expect_success();
    let images: Value = serde_json::from_str(&list.stdout).expect("list --json is JSON");
    let motd = images.as_array().unwrap().iter().find(|image| image["name"] == "rig/motd").expect("rig/motd listed");
    assert_eq!(motd["repositories"][0]["name"], "overlay", "{motd:#}");
    assert_eq!(motd["repositories"][0]["location"], "/var/db/repos/overlay", "{motd:#}");
    let plan = session.xtask(&ws, &["plan", "rig/motd", "--json"]);
    plan.expect_success();
    let plan: Value = serde_json::from_str(&plan.stdout).expect("plan --json is JSON");
    let emerge_mounts: Vec<&Value> = plan["images"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|image| image["name"] == "rig/motd")
        .flat_map(|image| image["steps"].as_array().unwrap())
        .filter(|step| step["step"] == "run" && step["argv"][0] == "emerge")
        .flat_map(|step| step["mounts"].as_array().unwrap())
        .filter(|mount| mount["target"] == "/var/db/repos/overlay")
        .collect();
    assert!(!emerge_mounts.is_empty(), "the overlay is mounted for emerge:\n{plan:#}");
    assert!(emerge_mounts.iter().all(|mount| mount["read_only"] == true), "{emerge_mounts:#?}");

    let build = session.xtask(&ws, &["build", "rig/motd"]);
    build.expect_success();
    let image = session.latest("rig/motd");
    assert_eq!(
        run_in_image_ok(&image, &["cat", "/usr/share/motd/motd"]).trim(),
        "welcome to the rig (from the overlay)"
    );
    let repository = run_in_image_ok(&image, &["cat", "/var/db/pkg/app-misc/motd-1/repository"]);
    assert_eq!(repository.trim(), "overlay", "motd came from the overlay");
    assert!(exists_in_image(&image, "/usr/bin/hello"), "its dependency came from gentoo");
    let repos_conf = run_in_image_ok(&image, &["cat", "/etc/portage/repos.conf/rig+motd.conf"]);
    assert!(repos_conf.contains("[overlay]\nlocation = /var/db/repos/overlay"), "{repos_conf}");
    assert!(!exists_in_image(&image, "/var/db/repos/overlay/profiles"), "the repository is mounted, not copied");

    // Nothing changed: up to date. A changed ebuild of the overlay: rig/motd rebuilds, its parent not.
    let again = session.xtask(&ws, &["build", "rig/motd"]);
    again.expect_success();
    assert_eq!(again.result_of("rig/motd"), Some("up to date"), "{}", again.stdout);
    // A new snapshot of the overlay brings a revision (the same version would come from the binary
    // package cache, as portage does). Not a Rust file: the copy's tool build stays the workspace's.
    let ebuild = ws.root().join(MOTD_EBUILD);
    let text = std::fs::read_to_string(&ebuild).unwrap();
    std::fs::remove_file(&ebuild).unwrap();
    let revision = ebuild.with_file_name("motd-1-r1.ebuild");
    std::fs::write(&revision, text.replace("welcome to the rig (from the overlay)", "a new overlay snapshot")).unwrap();
    let changed = session.xtask(&ws, &["build", "rig/motd"]);
    changed.expect_success();
    assert_eq!(changed.result_of("rig/base"), Some("up to date"), "{}", changed.stdout);
    assert_eq!(changed.result_of("rig/motd"), Some("built"), "{}", changed.stdout);
    assert_eq!(
        run_in_image_ok(&session.latest("rig/motd"), &["cat", "/usr/share/motd/motd"]).trim(),
        "a new overlay snapshot"
    );

    // A folder that is not the repository it is declared as: refused before anything runs, naming both.
    std::fs::write(ws.root().join("tests/rig/overlay/profiles/repo_name"), "kubler\n").unwrap();
    let refused = session.xtask(&ws, &["build", "rig/motd"]);
    refused.expect_failure();
    let said = refused.output();
    assert!(
        said.contains("repository `overlay`") && said.contains("calls itself `kubler`"),
        "the error names the repository and what the folder says:\n{said}"
    );
}

#[test]
fn builds_with_other_compiler_flags_never_share_binary_packages_and_equal_flags_always_do() {
    let session = Session::start("binpkg-keys");
    let ws = Workspace::copy();
    let cache = session.cache_dir();

    session.xtask(&ws, &["build", "rig/beta"]).expect_success();
    let generic = binpkg_folders(&cache);
    assert_eq!(generic.len(), 1, "{generic:?}");
    assert!(generic[0].starts_with("rig-"), "{generic:?}");
    let generic_flags = recorded_flags(&cache, &generic[0]);
    assert!(generic_flags.contains("CHOST=x86_64-pc-linux-gnu"), "{generic_flags}");
    assert!(generic_flags.contains("profile=/var/db/repos/gentoo/profiles/rig"), "{generic_flags}");

    // Other CFLAGS in the image's make.conf: a folder of their own, and beta compiled again.
    ws.edit(
        BETA_RS,
        "packages: &[atom!(\"app-misc/beta\")],",
        "packages: &[atom!(\"app-misc/beta\")],\n        make_conf: &[(\"CFLAGS\", \"-O1 -pipe\")],",
    );
    let tuned = session.xtask(&ws, &["build", "rig/beta"]);
    tuned.expect_success();
    assert_eq!(tuned.result_of("rig/base"), Some("up to date"), "{}", tuned.stdout);
    let folders = binpkg_folders(&cache);
    assert_eq!(folders.len(), 2, "{folders:?}");
    let other = folders.iter().find(|key| **key != generic[0]).unwrap();
    assert!(recorded_flags(&cache, other).contains("CFLAGS='-O1 -pipe'"), "{}", recorded_flags(&cache, other));
    let emerged = ws.emerged("rig/beta");
    assert_eq!(emerged.source, vec!["app-misc/beta-1".to_owned()], "beta is compiled for the new flags: {emerged:?}");
    assert!(emerged.binary.is_empty(), "no package of the generic folder was taken: {emerged:?}");
    // The image says what it was built with.
    let labels = image_labels(&session.latest("rig/beta"));
    let label = labels.get(xtask::plan::BINPKG_FLAGS_LABEL).map(String::as_str).unwrap_or_default();
    assert!(label.contains("CFLAGS='-O1 -pipe'") && label.contains("CHOST=x86_64-pc-linux-gnu"), "{labels:#?}");

    // The same flags again, each in its folder: everything from binary packages, nothing compiled.
    session.xtask(&ws, &["build", "--force", "--no-deps", "rig/beta"]).expect_success();
    let emerged = ws.emerged("rig/beta");
    assert_eq!(emerged, Emerged { source: vec![], binary: vec!["app-misc/beta-1".to_owned()] });
    session.xtask(&ws, &["build", "--force", "--no-deps", "rig/base"]).expect_success();
    let emerged = ws.emerged("rig/base");
    assert!(emerged.source.is_empty() && !emerged.binary.is_empty(), "rig/base from its folder: {emerged:?}");
    assert_eq!(binpkg_folders(&cache).len(), 2, "no third folder");
}
