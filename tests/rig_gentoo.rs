//! End-to-end: the rig's repository behaves like Gentoo's, with real emerge, real buildah and a real
//! nginx as the site's distfiles mirror. `app-misc/rigsay` is compiled from a source tarball that
//! emerge fetches from the mirror named by the `gentoo-mirrors` setting (its `GENTOO_MIRRORS`) and
//! checks against its Manifest; `app-misc/edge` is keyworded `~amd64` only; `app-misc/pinned-2` is
//! masked by the repository's `profiles/package.mask`.
//!
//! Run with `BUILDAH_ISOLATION=chroot cargo xtask test -- --test rig_gentoo`.

use buildah_gentoo_tests::e2e::*;
use buildah_gentoo_tests::servers::Nginx;
use camino::{Utf8Path, Utf8PathBuf};
use serde_json::Value;

const DISTFILE: &str = "rigsay-1.0.tar.gz";
const RIGSAY: &str = "app-misc/rigsay-1.0";
const EDGE_RS: &str = "image-defs/src/images/rig/edge.rs";
const PINNED_RS: &str = "image-defs/src/images/rig/pinned.rs";

/// The rig mirror's distfiles folder in a workspace copy.
fn mirror_distfiles(ws: &Workspace) -> Utf8PathBuf {
    ws.root().join("tests/rig/mirror/distfiles")
}

/// Where the mirror keeps the distfile, relative to its `distfiles/` folder (its layout.conf's
/// filename-hash folder): found in the mirror, not assumed.
fn distfile_path(distfiles: &Utf8Path) -> String {
    let found: Vec<String> = distfiles
        .read_dir_utf8()
        .unwrap()
        .flatten()
        .filter(|entry| entry.path().join(DISTFILE).is_file())
        .map(|entry| format!("{}/{DISTFILE}", entry.file_name()))
        .collect();
    assert_eq!(found.len(), 1, "one {DISTFILE} in a hash folder of {distfiles}: {found:?}");
    found.into_iter().next().unwrap()
}

/// nginx serving `root` (a folder holding `distfiles/`) over plain HTTP, its files in `dir`.
fn mirror(dir: &Utf8Path, root: &Utf8Path) -> Nginx {
    Nginx::start_http(dir, root)
}

fn temp_dir(prefix: &str) -> (tempfile::TempDir, Utf8PathBuf) {
    let dir = tempfile::Builder::new().prefix(prefix).tempdir().unwrap();
    let path = Utf8PathBuf::from_path_buf(dir.path().to_owned()).unwrap();
    (dir, path)
}

/// The summary entry's list `key` (empty when absent).
fn list(entry: &Value, key: &str) -> Vec<Value> {
    entry[key].as_array().cloned().unwrap_or_default()
}

/// The installed packages (`name`, `versionInfo`) of an image's SBOM, as `cargo xtask sbom` prints it.
fn sbom_packages(session: &Session, ws: &Workspace, image: &str) -> Vec<(String, String)> {
    let printed = session.xtask(ws, &["sbom", image]);
    printed.expect_success();
    let document: Value = serde_json::from_str(&printed.stdout).unwrap_or_else(|e| panic!("{e}:\n{}", printed.stdout));
    document["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|package| Some((package["name"].as_str()?.to_owned(), package["versionInfo"].as_str()?.to_owned())))
        .collect()
}

/// The distfile comes from the site's mirror over HTTP once (the second build that compiles rigsay
/// finds it in the distfiles cache, checked again against the Manifest), and a warm binary package
/// cache compiles nothing. The mirror is no input of the image: nothing of it is in the image, and
/// the same build without it is up to date.
#[test]
fn a_distfile_is_fetched_from_the_mirror_once_and_a_warm_binary_cache_compiles_nothing() {
    let session = Session::start("distfile-once");
    let ws = Workspace::copy();
    let (_dir, dir) = temp_dir("buildah-gentoo-e2e-mirror-");
    let nginx = mirror(&dir, &ws.root().join("tests/rig/mirror"));
    let path = format!("/distfiles/{}", distfile_path(&mirror_distfiles(&ws)));
    let url = nginx.http_url();

    // Two images that compile rigsay (default USE, and USE=loud: its binary package does not fit).
    let built = session.xtask(&ws, &["--gentoo-mirrors", &url, "build", "rig/rigsay", "rig/rigsay-loud"]);
    built.expect_success();
    for image in ["rig/base", "rig/rigsay", "rig/rigsay-loud"] {
        assert_eq!(built.result_of(image), Some("built"), "{image}:\n{}", built.describe());
    }
    let access = nginx.access_log();
    eprintln!("nginx access log:\n{access}");
    assert_eq!(nginx.statuses_of("GET", &path), [200], "one download of {path}:\n{access}");
    assert_eq!(nginx.statuses_of("GET", "/distfiles/layout.conf"), [200], "the mirror's layout was read:\n{access}");
    assert!(nginx.statuses_of("GET", &format!("/distfiles/{DISTFILE}")).is_empty(), "no flat path:\n{access}");

    // Which build downloaded it, and that both checked it against the Manifest and compiled.
    let download = format!(">>> Downloading '{url}{path}'");
    let verified = format!(" * {DISTFILE} BLAKE2B SHA512 size ;-) ...");
    let mut downloads = 0;
    for image in ["rig/rigsay", "rig/rigsay-loud"] {
        let log = ws.log(image);
        downloads += log.lines().filter(|line| *line == download).count();
        assert!(log.lines().any(|line| line.starts_with(&verified)), "{image} checked {DISTFILE}:\n{log}");
        assert!(log.contains(&format!(">>> Compiling source in /var/tmp/portage/{RIGSAY}/")), "{image}:\n{log}");
        assert_eq!(ws.emerged(image).source, [RIGSAY], "{image} compiled rigsay:\n{log}");
    }
    assert_eq!(downloads, 1, "one of the two builds downloaded {DISTFILE}, the other reused it");
    assert!(
        session.cache_dir().join("distfiles").join(DISTFILE).is_file(),
        "the distfile is kept in the cache's distfiles folder"
    );
    // What was compiled runs, with the flags of each image's USE.
    let plain = run_in_image_ok(&session.latest("rig/rigsay"), &["rigsay"]);
    let loud = run_in_image_ok(&session.latest("rig/rigsay-loud"), &["rigsay"]);
    assert_eq!(plain.trim(), "rigsay 1.0: compiled from a mirrored tarball");
    assert_eq!(loud.trim(), "RIGSAY 1.0: COMPILED FROM A MIRRORED TARBALL!");

    // The mirror reached emerge only: not the image's environment, nor its portage configuration.
    let image = session.latest("rig/rigsay");
    assert_eq!(image_env_var(&image, "GENTOO_MIRRORS"), None);
    let found = run_in_image(&image, &["grep", "-rlF", "127.0.0.1", "/etc/portage", "/etc/env.d", "/etc/profile.env"]);
    assert!(
        found.code == Some(1) && found.stdout.is_empty(),
        "grep found the mirror (or failed):\n{}",
        found.describe()
    );

    // A warm binary package cache: the rebuild merges rigsay's binary package, compiles nothing and
    // downloads nothing.
    let rebuilt = session.xtask(&ws, &["--gentoo-mirrors", &url, "build", "--force", "--no-deps", "rig/rigsay"]);
    rebuilt.expect_success();
    let log = ws.log("rig/rigsay");
    let emerged = ws.emerged("rig/rigsay");
    assert_eq!((emerged.binary, emerged.source), (vec![RIGSAY.to_owned()], vec![]), "{log}");
    assert!(log.lines().any(|line| line.starts_with(&format!(">>> Emerging binary (1 of 1) {RIGSAY}::gentoo"))));
    assert!(!log.contains(">>> Compiling source") && !log.contains(">>> Downloading"), "{log}");
    assert_eq!(nginx.statuses_of("GET", &path), [200], "still one download:\n{}", nginx.access_log());

    // Without the mirror setting the inputs are the same: rig/rigsay is up to date.
    let again = session.xtask(&ws, &["build", "--no-deps", "rig/rigsay"]);
    again.expect_success();
    assert_eq!(again.result_of("rig/rigsay"), Some("up to date"), "{}", again.describe());
}

/// A mirror serving a distfile that differs from the Manifest's: emerge refuses it (and upstream is
/// unreachable), the build fails, and the failure names the file; the good mirror then builds.
#[test]
fn a_distfile_that_does_not_match_its_manifest_is_refused_and_named() {
    let session = Session::start("distfile-bad");
    let ws = Workspace::copy();
    let good = mirror_distfiles(&ws);
    let relative = distfile_path(&good);
    // The corrupted mirror: the same layout, one byte of the tarball flipped.
    let (_root, root) = temp_dir("buildah-gentoo-e2e-bad-mirror-");
    let corrupted = root.join("distfiles").join(&relative);
    std::fs::create_dir_all(corrupted.parent().unwrap()).unwrap();
    std::fs::copy(good.join("layout.conf"), root.join("distfiles/layout.conf")).unwrap();
    let mut bytes = std::fs::read(good.join(&relative)).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&corrupted, bytes).unwrap();
    let (_dir, dir) = temp_dir("buildah-gentoo-e2e-bad-nginx-");
    let nginx = mirror(&dir, &root);
    let path = format!("/distfiles/{relative}");

    let failed = session.xtask(&ws, &["--gentoo-mirrors", &nginx.http_url(), "build", "rig/rigsay"]);
    failed.expect_failure();
    assert_eq!(failed.result_of("rig/base"), Some("built"), "{}", failed.describe());
    assert_eq!(nginx.statuses_of("GET", &path), [200], "the corrupted file was served:\n{}", nginx.access_log());
    let entry = failed.summary_entry("rig/rigsay").expect("rig/rigsay in the summary");
    assert_eq!(entry["result"], "failed", "{entry:#}");
    // The summary names the refused distfile (portage renamed it in the cache's distfiles folder).
    let refused = list(&entry, "distfile_failures");
    assert_eq!(refused.len(), 1, "{entry:#}");
    let refused = Utf8PathBuf::from(refused[0].as_str().unwrap());
    assert_eq!(refused.parent(), Some(session.cache_dir().join("distfiles").as_path()), "{entry:#}");
    assert!(refused.file_name().unwrap().starts_with(&format!("{DISTFILE}._checksum_failure_")), "{refused}");
    assert!(!session.cache_dir().join("distfiles").join(DISTFILE).exists(), "no distfile kept under its name");
    // The output names it, and keeps portage's own log of the package, which says why.
    let output = failed.output();
    assert!(output.contains(&format!("the distfile {DISTFILE} does not match its Manifest")), "{output}");
    assert!(output.contains(&format!("Couldn't download '{DISTFILE}'")), "the log's tail says so:\n{output}");
    let logs = list(&entry, "package_logs");
    assert_eq!(logs.len(), 1, "{entry:#}");
    assert_eq!(logs[0]["package"], RIGSAY, "{entry:#}");
    let build_log = std::fs::read_to_string(logs[0]["build_log"].as_str().unwrap()).unwrap();
    for line in [
        format!("!!! Fetched file: {DISTFILE} VERIFY FAILED!"),
        "!!! Reason: Failed on BLAKE2B verification".to_owned(),
        format!("!!! Couldn't download '{DISTFILE}'. Aborting."),
    ] {
        assert!(build_log.lines().any(|l| l == line), "{line:?} missing from portage's build log:\n{build_log}");
    }
    assert!(!build_log.contains(">>> Compiling source"), "nothing was compiled:\n{build_log}");
    assert_eq!(session.id("rig/rigsay"), None, "a failed build tagged an image");

    // The good mirror: the same build passes.
    let good_nginx = mirror(&dir.join("good"), &ws.root().join("tests/rig/mirror"));
    let built = session.xtask(&ws, &["--gentoo-mirrors", &good_nginx.http_url(), "build", "--no-deps", "rig/rigsay"]);
    built.expect_success();
    assert_eq!(good_nginx.statuses_of("GET", &path), [200], "{}", good_nginx.access_log());
}

/// A `~amd64` package needs the image's accept_keywords (without it emerge says it is masked by
/// keyword), and the repository's package.mask keeps emerge to the older version (an image's
/// unmask lets the newer one in).
#[test]
fn keywords_and_masks_decide_what_emerge_takes() {
    let session = Session::start("keywords-masks");
    let ws = Workspace::copy();
    let built = session.xtask(&ws, &["build", "rig/edge", "rig/pinned"]);
    built.expect_success();
    assert_eq!(ws.emerged("rig/edge").source, ["app-misc/edge-1"], "{}", ws.log("rig/edge"));
    assert_eq!(run_in_image_ok(&session.latest("rig/edge"), &["cat", "/usr/share/edge/version"]).trim(), "1");

    // The masked newer version is left out: the SBOM lists pinned 1, emerge built pinned-1.
    let packages = sbom_packages(&session, &ws, "rig/pinned");
    let pinned: Vec<&(String, String)> = packages.iter().filter(|(name, _)| name == "app-misc/pinned").collect();
    assert_eq!(pinned, [&("app-misc/pinned".to_owned(), "1".to_owned())], "{packages:?}");
    assert_eq!(ws.emerged("rig/pinned").source, ["app-misc/pinned-1"], "{}", ws.log("rig/pinned"));
    assert!(
        ws.root().join("tests/rig/repo/app-misc/pinned/pinned-2.ebuild").is_file(),
        "the newer version exists in the repository"
    );

    // Without its accept_keywords, rig/edge cannot build; with an unmask, rig/pinned gets pinned-2.
    ws.edit(EDGE_RS, "        accept_keywords: &[accept_keywords!(\"app-misc/edge\" => \"~amd64\")],\n", "");
    ws.edit(EDGE_RS, "use crate::{accept_keywords, atom,", "use crate::{atom,");
    ws.edit(PINNED_RS, "        test:", "        unmasks: &[atom!(\"=app-misc/pinned-2\")],\n        test:");
    let edited = session.xtask(&ws, &["build", "--no-deps", "--keep-going", "rig/edge", "rig/pinned"]);
    edited.expect_failure();
    assert_eq!(edited.result_of("rig/edge"), Some("FAILED"), "{}", edited.describe());
    assert_eq!(edited.result_of("rig/pinned"), Some("built"), "{}", edited.describe());
    let log = ws.log("rig/edge");
    assert!(log.contains("- app-misc/edge-1::gentoo (masked by: ~amd64 keyword)"), "emerge's keyword mask:\n{log}");
    assert!(ws.emerged("rig/edge").source.is_empty(), "{log}");
    let packages = sbom_packages(&session, &ws, "rig/pinned");
    assert!(packages.contains(&("app-misc/pinned".to_owned(), "2".to_owned())), "{packages:?}");
}
