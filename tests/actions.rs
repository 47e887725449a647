//! Post-install actions, for real: `rig/glibc-min` (a minimal glibc root built in `rig/toolchain`)
//! gets a locale, a time zone, a group and a user with fixed ids, a folder with its mode and owner, a
//! link and a file; `rig/cxx-min` on it runs a C++ program once gcc's runtime libraries are copied
//! from the builder, and carries a health check, a volume and a stop signal. Bad values the compiler
//! cannot know (an id the root has already, a locale glibc does not know) fail the build, saying so.

use buildah_gentoo_tests::e2e::*;

const GLIBC_MIN_RS: &str = "image-defs/src/images/rig/glibc_min.rs";
const CXX_MIN_RS: &str = "image-defs/src/images/rig/cxx_min.rs";

/// What `localedef` on this (Debian) host lists in the image's locale archive.
fn locales_in(reference: &str) -> Vec<String> {
    let mounted = MountedImage::new(reference);
    let listed = std::process::Command::new("localedef")
        .arg(format!("--prefix={}", mounted.path))
        .arg("--list-archive")
        .output()
        .expect("localedef runs");
    String::from_utf8_lossy(&listed.stdout).lines().map(str::to_owned).collect()
}

#[test]
fn actions_make_accounts_locales_zones_folders_links_files_and_runtime_libraries() {
    let session = Session::start("actions");
    let ws = Workspace::copy();
    let build = session.xtask(&ws, &["build", "rig/cxx-min"]);
    build.expect_success();
    let (glibc, cxx) = (session.latest("rig/glibc-min"), session.latest("rig/cxx-min"));

    // The account, with the declared ids, resolvable in the image.
    assert_eq!(run_in_image_ok(&glibc, &["id", "svc"]).trim(), "uid=4001(svc) gid=4001(svc) groups=4001(svc)");
    let passwd = run_in_image_ok(&glibc, &["cat", "/etc/passwd"]);
    assert!(passwd.lines().any(|line| line == "svc:x:4001:4001::/srv/data:/bin/sh"), "{passwd}");
    // No bash in the image: root's shell is busybox's sh.
    assert!(passwd.lines().any(|line| line.starts_with("root:") && line.ends_with(":/bin/sh")), "{passwd}");

    // The locale, compiled into the image's archive.
    let locales = locales_in(&glibc);
    assert!(locales.iter().any(|locale| locale == "en_US.utf8"), "{locales:?}");

    // The time zone.
    assert_eq!(run_in_image_ok(&glibc, &["readlink", "/etc/localtime"]).trim(), "../usr/share/zoneinfo/Europe/Berlin");
    assert_eq!(run_in_image_ok(&glibc, &["cat", "/etc/timezone"]).trim(), "Europe/Berlin");
    assert!(exists_in_image(&glibc, "/usr/share/zoneinfo/Europe/Berlin"));

    // The folder, the link and the file.
    assert_eq!(run_in_image_ok(&glibc, &["stat", "-c", "%a %u:%g", "/srv/data"]).trim(), "750 4001:4001");
    assert_eq!(run_in_image_ok(&glibc, &["readlink", "/srv/current"]).trim(), "data");
    assert_eq!(run_in_image_ok(&glibc, &["cat", "/etc/svc/svc.conf"]), "listen = 0.0.0.0:8080\n");
    assert_eq!(run_in_image_ok(&glibc, &["stat", "-c", "%a", "/etc/svc/svc.conf"]).trim(), "640");

    // A command in the builder (ROOT names the new root) and one in the image itself (its busybox).
    assert_eq!(run_in_image_ok(&glibc, &["cat", "/etc/builder-root"]), "/emerge-root\n");
    assert_eq!(run_in_image_ok(&glibc, &["cat", "/etc/svc/uid"]).trim(), "4001");

    // The C++ program runs: libstdc++ and libgcc_s came from the builder's gcc.
    let version = run_in_image(&cxx, &["/usr/bin/pzstd", "--version"]);
    version.expect_success();
    assert!(version.output().contains("PZSTD version"), "{}", version.describe());
    for library in ["libstdc++.so.6", "libgcc_s.so.1"] {
        let found = run_in_image_ok(&cxx, &["find", "/usr/lib/gcc", "-name", library]);
        assert!(!found.trim().is_empty(), "{library} is not in rig/cxx-min");
    }
    assert!(!exists_in_image(&cxx, "/var/db/pkg/sys-devel"), "gcc itself stays in the builder");

    // The health check (a Docker-format image), the volume and the stop signal.
    let inspected = inspect_image(&cxx);
    let config = &inspected["Docker"]["config"];
    assert_eq!(config["Healthcheck"]["Test"], serde_json::json!(["CMD", "/usr/bin/pzstd", "--version"]), "{config}");
    assert_eq!(config["Healthcheck"]["StartPeriod"], 5_000_000_000u64, "{config}");
    assert!(config["Volumes"].get("/srv/data").is_some(), "{config}");
    assert_eq!(config["StopSignal"], "SIGQUIT", "{config}");
    assert!(inspected["OCIv1"]["config"]["Volumes"].get("/srv/data").is_some());

    // `list --json` shows them.
    let list = session.xtask(&ws, &["list", "--json"]);
    list.expect_success();
    let entries: Vec<serde_json::Value> = serde_json::from_str(&list.stdout).unwrap();
    let entry = entries.iter().find(|entry| entry["name"] == "rig/glibc-min").unwrap();
    let kinds: Vec<&str> = entry["actions"].as_array().unwrap().iter().map(|a| a["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["locale", "timezone", "group", "user", "mkdir", "symlink", "write-file", "run-in-builder", "run-in-image"]
    );
    let cxx_entry = entries.iter().find(|entry| entry["name"] == "rig/cxx-min").unwrap();
    assert_eq!(cxx_entry["volumes"], serde_json::json!(["/srv/data"]));
    assert_eq!(cxx_entry["healthcheck"]["argv"], serde_json::json!(["/usr/bin/pzstd", "--version"]));

    // Without the runtime libraries, the same program cannot start: the build fails at its test.
    ws.edit(CXX_MIN_RS, "actions: &[Action::RuntimeLibraries(atom!(\"sys-devel/gcc\"))],", "");
    ws.edit(CXX_MIN_RS, "use crate::{atom, image, Action, Healthcheck", "use crate::{atom, image, Healthcheck");
    let without = session.xtask(&ws, &["build", "--no-deps", "rig/cxx-min"]);
    without.expect_failure();
    assert_eq!(without.result_of("rig/cxx-min"), Some("FAILED"), "{}", without.describe());
    let log = ws.log("rig/cxx-min");
    assert!(log.contains("libstdc++.so.6"), "the loader names the missing library:\n{log}");
}

#[test]
fn a_taken_uid_and_an_unknown_locale_fail_the_build_naming_them() {
    let session = Session::start("actions-bad");
    let ws = Workspace::copy();
    session.xtask(&ws, &["build", "rig/toolchain"]).expect_success();

    // uid 0 is root's: useradd refuses it, the build fails at that step and leaves nothing behind.
    ws.edit(
        GLIBC_MIN_RS,
        "Action::Mkdir {",
        "Action::User(User::new(\"clash\", 0, 4001)),\n            Action::Mkdir {",
    );
    let before = containers();
    let taken = session.xtask(&ws, &["build", "--no-deps", "rig/glibc-min"]);
    taken.expect_failure();
    let output = taken.output();
    assert!(output.contains("rig/glibc-min") && output.contains("useradd"), "{output}");
    assert!(ws.log("rig/glibc-min").contains("UID 0 is not unique"), "{}", ws.log("rig/glibc-min"));
    assert!(session.new_containers(&before, &containers()).is_empty(), "containers left after the failure");
    assert_eq!(session.id("rig/glibc-min"), None, "a failed build tagged an image");

    // A locale glibc does not know: localedef says so, the build fails naming it.
    ws.edit(GLIBC_MIN_RS, "Action::User(User::new(\"clash\", 0, 4001)),\n            ", "");
    ws.edit(GLIBC_MIN_RS, "locale: \"en_US\"", "locale: \"xx_XX\"");
    let unknown = session.xtask(&ws, &["build", "--no-deps", "rig/glibc-min"]);
    unknown.expect_failure();
    let output = unknown.output();
    assert!(output.contains("xx_XX"), "the failure names the locale:\n{output}");
    let log = ws.log("rig/glibc-min");
    assert!(log.contains("xx_XX"), "{log}");
    assert_eq!(session.id("rig/glibc-min"), None);
}
