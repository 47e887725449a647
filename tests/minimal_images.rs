//! End-to-end tests of minimal images (two-phase ROOT= builds): real buildah, real emerge, through the
//! real `cargo xtask` CLI, on the offline rig. The rig's minimal images are built in `rig/base`:
//! scratch → `rig/busybox` (a static busybox) → `rig/greeter-min` (greeter, its run-time dependency
//! libgreet and its user) → `rig/hello-min` (hello, and libgreet again, which its parent holds).
//!
//! Run with `BUILDAH_ISOLATION=chroot cargo test -p buildah-gentoo-tests --test minimal_images -- --nocapture`.

use std::collections::BTreeMap;

use buildah_gentoo_tests::e2e::*;
use serde_json::Value;

const GREETER_MIN_RS: &str = "image-defs/src/images/rig/greeter_min.rs";

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| item.to_string()).collect()
}

/// The packages a label lists (one `CAT/PF` a line).
fn label_list(reference: &str, label: &str) -> Vec<String> {
    let labels = image_labels(reference);
    let value = labels.get(label).unwrap_or_else(|| panic!("{reference} has no label {label}: {labels:#?}"));
    value.split_whitespace().map(str::to_owned).collect()
}

/// Issue tests 1, 2 and 4: a minimal image of greeter holds greeter and its run-time dependency (libgreet), not
/// its build-time one (buildtool), nor python, nor portage; the user its package creates; it is under
/// 1% of greeter built on the full rig root; and its post-build test ran (busybox gives it a shell).
#[test]
fn a_minimal_image_holds_its_package_and_run_time_dependencies_only() {
    let session = Session::start("min-contents");
    let ws = Workspace::copy();
    // The minimal image first, so that greeter and buildtool are built from source for it.
    let build = session.xtask(&ws, &["build", "rig/greeter-min"]);
    build.expect_success();
    for image in ["rig/base", "rig/busybox", "rig/greeter-min"] {
        assert_eq!(build.result_of(image), Some("built"), "{image}:\n{}", build.stdout);
    }
    let full_build = session.xtask(&ws, &["build", "rig/greeter"]);
    full_build.expect_success();
    let (minimal, full) = (session.latest("rig/greeter-min"), session.latest("rig/greeter"));

    // The files, listed.
    let tree = image_tree(&minimal);
    let files: Vec<&String> =
        tree.keys().filter(|path| !path.starts_with("/bin/") || *path == "/bin/busybox").collect();
    eprintln!("rig/greeter-min holds {} paths (plus {} busybox applet links):", files.len(), tree.len() - files.len());
    for path in &files {
        eprintln!("  {path}");
    }
    for wanted in
        ["/usr/bin/greeter", "/usr/share/greeter/stamp", "/usr/share/libgreet/greeting", "/bin/busybox", "/bin/sh"]
    {
        assert!(tree.contains_key(wanted), "{wanted} missing from rig/greeter-min: {files:#?}");
    }
    assert!(!tree.contains_key("/usr/bin/buildtool"), "the build-time dependency reached the minimal root");
    for path in tree.keys() {
        for unwanted in ["python", "portage/bin", "/opt", "/usr/lib", "/var/db/repos", "emerge", "/usr/include"] {
            assert!(!path.contains(unwanted), "{path} ({unwanted}) is in rig/greeter-min");
        }
    }
    // Cleanup::PackageDatabase: no package database, but the labels still say what is inside.
    assert!(!tree.contains_key("/var/db/pkg"), "rig/greeter-min drops its package database");
    // (busybox is in that database too: its image kept its own.)
    let packages = label_list(&minimal, "io.buildah-gentoo.packages");
    let expected =
        ["acct-group/rig-0", "acct-user/rig-0", "app-misc/greeter-1", "dev-libs/libgreet-1", "sys-apps/busybox-1"];
    assert_eq!(packages, strings(&expected));
    assert_eq!(label_list(&minimal, "io.buildah-gentoo.provided"), strings(&["sys-apps/busybox-1"]));
    // buildtool was built and installed in the builder (rig/base), greeter and libgreet in the new root.
    let log = ws.log("rig/greeter-min");
    let merged = |package: &str| -> Vec<&str> {
        log.lines().filter(|line| line.starts_with(">>> Installing (") && line.contains(package)).collect()
    };
    assert!(merged("dev-util/buildtool-1::gentoo").iter().all(|line| !line.contains("emerge-root")), "{log}");
    assert!(Emerged::parse(&log).source.contains(&"dev-util/buildtool-1".to_owned()), "{log}");
    for package in ["app-misc/greeter-1::gentoo", "dev-libs/libgreet-1::gentoo", "acct-user/rig-0::gentoo"] {
        let lines = merged(package);
        assert!(lines.len() == 1 && lines[0].ends_with(" to /emerge-root/"), "{package}: {lines:?}\n{log}");
    }

    // The full image, for comparison, has portage and python (its depclean removed buildtool).
    for path in ["/usr/bin/greeter", "/opt/portage/bin/emerge", "/usr/bin/python3"] {
        assert!(exists_in_image(&full, path), "{path} missing from rig/greeter");
    }

    // Accounts created by acct-group/rig and acct-user/rig reached the new root.
    let passwd = std::fs::read_to_string(mounted_file(&minimal, "/etc/passwd")).unwrap();
    assert!(passwd.lines().any(|line| line == "rig:x:900:900::/dev/null:/sbin/nologin"), "{passwd}");
    let group = std::fs::read_to_string(mounted_file(&minimal, "/etc/group")).unwrap();
    assert!(group.lines().any(|line| line == "rig:x:900:"), "{group}");
    assert_eq!(inspect_image(&minimal)["OCIv1"]["config"]["User"], "rig");

    // The post-build test ran, in the committed image, as user rig, with busybox's shell.
    assert!(log.contains("-- /usr/bin/greeter\ngreetings from libgreet\n"), "the test did not run:\n{log}");
    assert_eq!(run_in_image_ok(&minimal, &["/usr/bin/greeter"]).trim(), "greetings from libgreet");
    assert_eq!(run_in_image_ok(&minimal, &["id", "-un"]).trim(), "rig");
    assert!(ws.log("rig/busybox").contains("-- /bin/sh -c 'busybox true'\n"));

    // Sizes: the summary reports both; the minimal image is under 1% of the full one.
    let (minimal_bytes, full_bytes) = (image_bytes(&minimal), image_bytes(&full));
    eprintln!(
        "sizes: rig/greeter-min {minimal_bytes} bytes ({:.2} MB), rig/greeter {full_bytes} bytes ({:.1} MB): {:.2}%",
        minimal_bytes as f64 / 1e6,
        full_bytes as f64 / 1e6,
        100.0 * minimal_bytes as f64 / full_bytes as f64
    );
    assert!(minimal_bytes * 100 < full_bytes, "{minimal_bytes} is not under 1% of {full_bytes}");
    for (image, run) in [("rig/greeter-min", &build), ("rig/greeter", &full_build)] {
        let entry = run.summary_entry(image).unwrap();
        assert!(entry["size"].as_u64().is_some_and(|size| size > 0), "no size in the summary for {image}: {entry}");
        eprintln!("summary: {image}  {entry}");
    }

    // `list --json` carries the layout and the builder.
    let list = session.xtask(&ws, &["list", "--json"]);
    list.expect_success();
    let entries: Vec<Value> = serde_json::from_str(&list.stdout).unwrap();
    let entry = |name: &str| entries.iter().find(|entry| entry["name"] == name).unwrap().clone();
    assert_eq!(entry("rig/greeter-min")["layout"], "minimal");
    assert_eq!(entry("rig/greeter-min")["builder"]["image"], "rig/base");
    assert_eq!(entry("rig/greeter-min")["parent"]["image"], "rig/busybox");
    assert_eq!(entry("rig/greeter")["layout"], "full");
    assert_eq!(entry("rig/greeter")["builder"], Value::Null);
}

/// A file of an image, copied out of a mounted working container into a temporary file.
fn mounted_file(reference: &str, path: &str) -> tempfile::TempPath {
    let container = buildah_ok(&["from", "--pull=never", "--quiet", reference]);
    let mount = buildah_ok(&["mount", &container]);
    let copy = tempfile::NamedTempFile::new().unwrap().into_temp_path();
    std::fs::copy(format!("{mount}{path}"), &copy).unwrap_or_else(|error| panic!("{path} in {reference}: {error}"));
    buildah_ok(&["rm", &container]);
    copy
}

/// Issue test 3: a minimal child of a minimal parent does not install the parent's packages again: hello-min asks
/// for libgreet too, which greeter-min holds (without a package database), and its own layer holds
/// only hello. `plan` shows the package.provided it gets, once the parent is built.
#[test]
fn a_minimal_child_does_not_reinstall_its_minimal_parents_packages() {
    let session = Session::start("min-child");
    let ws = Workspace::copy();
    let before = session.xtask(&ws, &["plan", "rig/hello-min"]);
    before.expect_success();
    assert!(
        before.stdout.contains("# What `rig/greeter-min` holds (its labels) goes into package.provided"),
        "{}",
        before.stdout
    );

    session.xtask(&ws, &["build", "rig/hello-min"]).expect_success();
    let (parent, child) = (session.latest("rig/greeter-min"), session.latest("rig/hello-min"));

    // emerge merged hello only; libgreet was not merged again, package.provided said why.
    let log = ws.log("rig/hello-min");
    let emerged = Emerged::parse(&log);
    assert_eq!([emerged.source.clone(), emerged.binary.clone()].concat(), strings(&["app-misc/hello-1"]), "{log}");
    assert!(log.contains("A requested package will not be merged because it is listed in\npackage.provided:"), "{log}");
    assert!(log.contains("dev-libs/libgreet pulled in by 'args'"), "{log}");
    // What the builder's package.provided held (the parent's packages, sorted), recorded in the
    // child's label.
    let listed = label_list(&child, "io.buildah-gentoo.provided");
    assert_eq!(
        listed,
        ["acct-group/rig-0", "acct-user/rig-0", "app-misc/greeter-1", "dev-libs/libgreet-1", "sys-apps/busybox-1"]
    );

    // The child's own layer: hello and portage's bookkeeping, nothing of its parents.
    let (parent_layers, child_layers) = (diff_ids(&parent), diff_ids(&child));
    assert!(child_layers.starts_with(&parent_layers) && child_layers.len() == parent_layers.len() + 1);
    let top = top_layer_paths(&child);
    eprintln!("rig/hello-min's own layer:\n  {}", top.join("\n  "));
    for wanted in ["usr/bin/hello", "usr/share/hello/extra", "usr/share/hello/greeting", "var/db/pkg/app-misc/hello-1"]
    {
        assert!(top.iter().any(|path| path == wanted), "{wanted} not in the top layer: {top:#?}");
    }
    for path in &top {
        let ours = [
            "usr/bin/hello",
            "usr/share/hello",
            "var/db/pkg/app-misc/hello-1",
            "var/lib/portage",
            "var/cache/edb",
            "etc",
            // Every image carries its own SBOM, replacing its parent's.
            "usr/share/buildah-gentoo/sbom.spdx.json",
        ]
        .iter()
        .any(|prefix| path.starts_with(prefix) || prefix.starts_with(path.as_str()));
        assert!(ours, "{path} in rig/hello-min's own layer: {top:#?}");
        assert!(!path.contains("libgreet") && !path.contains("greeter") && !path.contains("busybox"), "{path}");
    }
    // And the parent's files are the parent's: the same in both.
    let (parent_tree, child_tree) = (image_tree(&parent), image_tree(&child));
    for (path, size) in &parent_tree {
        if !path.starts_with("/etc/") && !path.starts_with("/var/") && path != xtask::sbom::IMAGE_PATH {
            assert_eq!(child_tree.get(path), Some(size), "{path} differs in the child");
        }
    }
    let new: Vec<&String> = child_tree.keys().filter(|path| !parent_tree.contains_key(*path)).collect();
    assert!(new.iter().all(|path| path.contains("hello") || path.starts_with("/var/")), "{new:#?}");
    assert_eq!(run_in_image_ok(&child, &["hello"]).trim(), "hello from rig");
    assert_eq!(run_in_image_ok(&child, &["/usr/bin/greeter"]).trim(), "greetings from libgreet");

    // Every package of the child, from its labels.
    assert_eq!(label_list(&child, "io.buildah-gentoo.packages"), strings(&["app-misc/hello-1"]));
    assert_eq!(
        label_list(&child, "io.buildah-gentoo.provided"),
        listed.iter().map(|p| p.to_string()).collect::<Vec<_>>()
    );

    // Now that the parent and the builder are built, `plan` knows the input hash: the one the child
    // carries.
    let after = session.xtask(&ws, &["plan", "rig/hello-min"]);
    after.expect_success();
    let hash = &image_labels(&child)["io.buildah-gentoo.inputs"];
    assert!(after.stdout.contains(&format!("\ninputs={hash}\n")), "{}", after.stdout);
}

/// Issue test 5: built again (images removed, binary packages kept), a minimal image comes from binary packages
/// only; and with nothing changed, nothing is built at all.
#[test]
fn a_second_build_of_a_minimal_image_comes_from_binary_packages() {
    let session = Session::start("min-binpkg");
    let ws = Workspace::copy();
    let chain = ["rig/base", "rig/busybox", "rig/greeter-min"];
    session.xtask(&ws, &["build", "rig/greeter-min"]).expect_success();
    let first = ws.emerged("rig/greeter-min");
    assert!(first.source.contains(&"app-misc/greeter-1".to_owned()), "{first:?}");
    assert_eq!(ws.emerged("rig/busybox").source, strings(&["sys-apps/busybox-1"]));

    let unchanged = session.xtask(&ws, &["build", "rig/greeter-min"]);
    unchanged.expect_success();
    assert_eq!(
        unchanged.totals().as_deref(),
        Some("0 built, 3 up to date, 0 failed, 0 skipped"),
        "{}",
        unchanged.stdout
    );

    let old: BTreeMap<String, Option<String>> = session.ids(&chain);
    session.remove_images(&["rig/greeter-min", "rig/busybox", "rig/base"]);
    let again = session.xtask(&ws, &["build", "rig/greeter-min"]);
    again.expect_success();
    assert_eq!(again.totals().as_deref(), Some("3 built, 0 up to date, 0 failed, 0 skipped"), "{}", again.stdout);
    for image in chain {
        let log = ws.log(image);
        let emerged = Emerged::parse(&log);
        assert!(emerged.source.is_empty() && !emerged.binary.is_empty(), "{image} compiled: {emerged:?}\n{log}");
        assert!(!log.contains(">>> Emerging ("), "{image}:\n{log}");
        assert!(!log.contains(">>> Compiling source"), "{image}:\n{log}");
        eprintln!("{image}: binary only: {:?}", emerged.binary);
    }
    let binary = ws.emerged("rig/greeter-min").binary;
    for package in ["dev-libs/libgreet-1", "app-misc/greeter-1", "acct-user/rig-0"] {
        assert!(binary.contains(&package.to_owned()), "{package} not merged from its binary package: {binary:?}");
    }
    assert!(!binary.contains(&"dev-util/buildtool-1".to_owned()), "a binary greeter needs no buildtool: {binary:?}");
    let new = session.ids(&chain);
    for image in chain {
        assert!(new[image].is_some() && new[image] != old[image], "{image}: {:?} vs {:?}", new[image], old[image]);
    }
    assert_eq!(
        run_in_image_ok(&session.latest("rig/greeter-min"), &["/usr/bin/greeter"]).trim(),
        "greetings from libgreet"
    );
}

/// A failure in the builder phase fails the image cleanly: the step and log named, neither the
/// builder nor the mounted working container left behind, no tag moved.
#[test]
fn a_failing_minimal_build_leaves_no_builder_and_no_mounted_container() {
    let session = Session::start("min-fail");
    let ws = Workspace::copy();
    session.xtask(&ws, &["build", "rig/busybox"]).expect_success();
    ws.edit(GREETER_MIN_RS, r#"atom!("acct-user/rig")]"#, r#"atom!("acct-user/rig"), atom!("app-misc/broken")]"#);
    ws.edit(
        GREETER_MIN_RS,
        "        cleanups: ",
        "        package_use: &[crate::package_use!(\"app-misc/broken\" => \"fail\")],\n        cleanups: ",
    );
    let before = containers();
    let failed = session.xtask(&ws, &["build", "--no-deps", "rig/greeter-min"]);
    failed.expect_failure();
    assert_eq!(failed.result_of("rig/greeter-min"), Some("FAILED"), "{}", failed.stdout);
    let output = failed.output();
    assert!(output.contains("(run) failed"), "{output}");
    let log = ws.log("rig/greeter-min");
    assert!(log.contains(">>> Failed to emerge app-misc/broken-1"), "{log}");
    // Both the working container (mounted) and the builder were removed.
    let removed: Vec<&str> =
        log.lines().filter(|line| line.starts_with("$ buildah rm ") && line.ends_with(" (clean-up)")).collect();
    assert_eq!(removed.len(), 2, "{log}");
    let left = session.new_containers(&before, &containers());
    assert!(left.is_empty(), "containers left after a failed minimal build: {left:#?}");
    assert_eq!(session.id("rig/greeter-min"), None, "a tag was moved");
}
