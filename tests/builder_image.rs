//! The builder image, built for real on the rig root (a Debian, as the default `debian:bookworm-slim`):
//! the tools a CI job needs and the driver as its entrypoint; and nested buildah, as far as this
//! machine allows it.
//!
//! Run with `BUILDAH_ISOLATION=chroot cargo test -p buildah-gentoo-tests --test builder_image -- --nocapture`.

use buildah_gentoo_tests::e2e::*;

/// Whether a process in a container of `image` has CAP_SYS_ADMIN (bit 21 of its effective
/// capabilities), which nested buildah needs to mount and to make namespaces.
fn has_sys_admin(image: &str) -> bool {
    let status = run_in_image_ok(image, &["cat", "/proc/self/status"]);
    let effective = status.lines().find_map(|line| line.strip_prefix("CapEff:")).expect("CapEff in /proc/self/status");
    u64::from_str_radix(effective.trim(), 16).unwrap() & (1 << 21) != 0
}

#[test]
fn the_builder_image_has_the_tools_and_the_driver() {
    let session = Session::start("builder-image");
    let ws = Workspace::copy();
    // The driver the suite's cargo built (the release build the default compiles is the same code).
    session.xtask(&ws, &["list"]).expect_success();
    let driver = cargo_target_dir().join("debug/xtask");
    let dry =
        session.xtask(&ws, &["builder-image", "--from", session.rig_root(), "--driver", driver.as_str(), "--dry-run"]);
    dry.expect_success();
    assert!(
        dry.stdout.contains("apt-get install --yes --no-install-recommends buildah skopeo rsync"),
        "{}",
        dry.stdout
    );
    assert!(!dry.stdout.contains("cargo build"), "a given driver is not compiled again:\n{}", dry.stdout);

    let built = session.xtask(&ws, &["builder-image", "--from", session.rig_root(), "--driver", driver.as_str()]);
    built.expect_success();
    let image = session.latest("builder");
    let config = inspect_image(&image);
    let entrypoint = &config["OCIv1"]["config"]["Entrypoint"];
    assert_eq!(entrypoint, &serde_json::json!(["/usr/local/bin/buildah-gentoo"]), "{config:#}");
    assert!(run_in_image_ok(&image, &["/usr/local/bin/buildah-gentoo", "--version"]).contains("0.1"));
    for tool in [["buildah", "--version"], ["skopeo", "--version"], ["rsync", "--version"], ["git", "--version"]] {
        run_in_image_ok(&image, &tool);
    }
    let storage = run_in_image_ok(&image, &["cat", "/etc/containers/storage.conf"]);
    assert!(storage.contains("driver = \"vfs\""), "{storage}");
    assert_eq!(image_env_var(&image, "BUILDAH_ISOLATION").as_deref(), Some("chroot"));

    // Nested buildah needs CAP_SYS_ADMIN in the job's container (a privileged CI job); without it
    // (buildah's own containers drop it) it cannot make its user namespace.
    let nested = run_in_image(&image, &["buildah", "from", "--quiet", "scratch"]);
    let said = format!("{}{}", nested.stdout, nested.stderr);
    if has_sys_admin(&image) {
        assert_eq!(nested.code, Some(0), "nested buildah works with CAP_SYS_ADMIN: {said}");
    } else {
        assert_ne!(nested.code, Some(0), "nested buildah without CAP_SYS_ADMIN: {said}");
        assert!(said.contains("Operation not permitted") || said.contains("operation not permitted"), "{said}");
        eprintln!("nested buildah is not allowed on this machine (no CAP_SYS_ADMIN): {said}");
    }
}
