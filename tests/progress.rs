//! Live progress of a build whose output is not a terminal (a CI log): a line each time an image
//! starts a package, with its place in emerge's list and how it comes (compiled, binary), and the
//! summary's package counts and slowest package. Real buildah, real emerge, on the offline rig:
//! `rig/greeter` emerges `dev-util/buildtool` (its build-time dependency) and `app-misc/greeter`,
//! on `rig/hello` (`app-misc/hello`) on `rig/base` (`dev-libs/libgreet`).
//!
//! Run with `BUILDAH_ISOLATION=chroot cargo xtask test -- --test progress`.

use buildah_gentoo_tests::e2e::*;
use serde_json::Value;

const BUILDTOOL: &str = "dev-util/buildtool-1";
const GREETER: &str = "app-misc/greeter-1";

/// The package lines of `image` in `lines` (`==> [i/n] IMAGE: (k of N) CPV (how)`), in order.
fn package_lines(lines: &str, image: &str) -> Vec<String> {
    lines
        .lines()
        .filter_map(Progress::parse)
        .filter(|progress| progress.image == image && progress.text.starts_with('('))
        .map(|progress| progress.text)
        .collect()
}

/// The summary entry's `packages`: (binary, compiled, slowest package, its origin, its seconds).
fn packages(entry: &Value) -> (u64, u64, String, String, f64) {
    let packages = &entry["packages"];
    let slowest = &packages["slowest"];
    (
        packages["binary"].as_u64().unwrap_or_else(|| panic!("no packages.binary: {entry:#}")),
        packages["compiled"].as_u64().unwrap_or_else(|| panic!("no packages.compiled: {entry:#}")),
        slowest["package"].as_str().unwrap_or_else(|| panic!("no packages.slowest: {entry:#}")).to_owned(),
        slowest["origin"].as_str().unwrap_or_default().to_owned(),
        slowest["seconds"].as_f64().unwrap_or(-1.0),
    )
}

#[test]
fn a_build_says_which_package_each_image_is_at_and_the_summary_counts_how_they_came() {
    let session = Session::start("progress");
    let ws = Workspace::copy();

    // An empty binary package cache: every package compiles.
    let build = session.xtask(&ws, &["build", "rig/greeter"]);
    build.expect_success();
    let lines = package_lines(&build.stdout, "rig/greeter");
    assert_eq!(
        lines,
        [format!("(1 of 2) {BUILDTOOL} (compiling)"), format!("(2 of 2) {GREETER} (compiling)")],
        "{}",
        build.stdout
    );
    // Between the image's start and its end.
    let texts = build.progress_of("rig/greeter");
    let at = |prefix: &str| texts.iter().position(|text| text.starts_with(prefix)).unwrap_or(usize::MAX);
    assert!(at("building") < at("(1 of 2)") && at("(2 of 2)") < at("built in"), "{texts:#?}");
    for (image, package) in [("rig/base", "dev-libs/libgreet-1"), ("rig/hello", "app-misc/hello-1")] {
        assert_eq!(
            package_lines(&build.stdout, image),
            [format!("(1 of 1) {package} (compiling)")],
            "{}",
            build.stdout
        );
    }
    // The log still gets every line of emerge.
    let log = ws.log("rig/greeter");
    assert!(log.contains(&format!(">>> Completed (2 of 2) {GREETER}::gentoo")), "{log}");

    let entry = build.summary_entry("rig/greeter").expect("rig/greeter in the summary");
    let (binary, compiled, slowest, origin, seconds) = packages(&entry);
    assert_eq!((binary, compiled), (0, 2), "{entry:#}");
    assert!([BUILDTOOL, GREETER].contains(&slowest.as_str()), "{entry:#}");
    assert_eq!(origin, "compiled", "{entry:#}");
    assert!(seconds >= 0.0 && seconds <= entry["seconds"].as_f64().unwrap(), "{entry:#}");
    let base = build.summary_entry("rig/base").unwrap();
    let (binary, compiled, slowest_of_base, ..) = packages(&base);
    assert_eq!((binary, compiled, slowest_of_base.as_str()), (0, 1, "dev-libs/libgreet-1"), "{base:#}");
    assert!(build.stdout.contains(&format!("packages: 0 binary, 2 compiled, slowest {slowest} (")), "{}", build.stdout);

    // Again, from the binary packages the first build made (a binary package needs no build-time
    // dependency: buildtool stays out); with --json the progress goes to standard error and
    // standard output is the summary alone.
    let again = session.xtask(&ws, &["build", "--force", "--no-deps", "--json", "rig/hello", "rig/greeter"]);
    again.expect_success();
    let printed: Value =
        serde_json::from_str(&again.stdout).unwrap_or_else(|e| panic!("stdout is not JSON: {e}\n{}", again.describe()));
    assert_eq!(Some(&printed), again.summary_json.as_ref(), "the printed summary is summary.json");
    for (image, package) in [("rig/hello", "app-misc/hello-1"), ("rig/greeter", GREETER)] {
        let lines = package_lines(&again.stderr, image);
        assert_eq!(lines, [format!("(1 of 1) {package} (binary)")], "{}", again.describe());
        let entry = again.summary_entry(image).unwrap();
        let (binary, compiled, slowest, origin, _) = packages(&entry);
        assert_eq!((binary, compiled, slowest.as_str(), origin.as_str()), (1, 0, package, "binary"), "{entry:#}");
    }

    // --quiet: the same build, its start and end, and no package lines; the summary still counts.
    let quiet = session.xtask(&ws, &["build", "--force", "--no-deps", "--quiet", "rig/greeter"]);
    quiet.expect_success();
    assert!(package_lines(&quiet.output(), "rig/greeter").is_empty(), "{}", quiet.describe());
    assert!(quiet.progress_of("rig/greeter").iter().any(|text| text.starts_with("built in")), "{}", quiet.stdout);
    assert_eq!(packages(&quiet.summary_entry("rig/greeter").unwrap()).0, 1);
}
