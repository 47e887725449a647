//! The builder image, planned: Debian with buildah, skopeo, rsync and the driver, its entrypoint the
//! driver, for CI jobs that run the tool in a container (see README, "CI farm"). Nested buildah runs
//! with chroot isolation (no namespaces of its own) and the vfs storage driver (no overlay mounts, no
//! fuse), which is what an unprivileged CI container allows; see [`STORAGE_CONF`].

use super::step::{CONTAINER, IMAGE};
use super::{container_name, ConfigOption, Pull, Step, Word, IMAGE_LABEL};
use crate::settings::Settings;

/// The image name under the namespace: `<namespace>/builder`.
pub const NAME: &str = "builder";
/// Where the driver is compiled, relative to the workspace root.
pub const DRIVER: &str = "target/release/xtask";
/// Where the driver is in the image (the entrypoint).
pub const DRIVER_IN_IMAGE: &str = "/usr/local/bin/buildah-gentoo";
/// Where a job mounts its checkout; the driver finds the workspace through `CARGO_MANIFEST_DIR`.
pub const WORKSPACE_IN_IMAGE: &str = "/workspace";
/// The Debian packages: buildah and skopeo (images, registries), rsync (binhost publishing),
/// fuse-overlayfs (overlay storage where `/dev/fuse` is passed in), ca-certificates and git (the
/// revision label), uidmap (rootless buildah).
pub const PACKAGES: [&str; 7] = ["buildah", "skopeo", "rsync", "fuse-overlayfs", "ca-certificates", "git", "uidmap"];
/// containers-storage inside the image: vfs needs no mount privilege and no fuse.
pub const STORAGE_CONF: &str = "[storage]\ndriver = \"vfs\"\nrunroot = \"/run/containers/storage\"\n\
                                graphroot = \"/var/lib/containers/storage\"";

/// Which driver goes into the image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Driver {
    /// Compiled by the plan's first step (`cargo build --release`) into [`DRIVER`].
    Release,
    /// A binary built already (a path on the host, relative to the workspace root or absolute).
    Built(String),
}

/// The steps: compile the driver (unless given), install the packages on `from`, copy the driver
/// in, configure, commit and tag `<namespace>/builder:latest` and `:<date_tag>`.
pub fn steps(settings: &Settings, from: &str, driver: &Driver, date_tag: &str) -> Vec<Step> {
    let run = |argv: &[&str]| Step::Run {
        container: CONTAINER,
        isolation: settings.isolation,
        mounts: vec![],
        env: vec![("DEBIAN_FRONTEND".into(), "noninteractive".into())],
        argv: argv.iter().map(|arg| arg.to_string()).collect(),
    };
    let mut install = vec!["apt-get", "install", "--yes", "--no-install-recommends"];
    install.extend(PACKAGES);
    let repository = settings.repository_of(NAME);
    let (compile, binary) = match driver {
        Driver::Release => (
            Some(Step::Host {
                argv: ["cargo", "build", "--release", "--locked", "-p", "xtask"].map(String::from).to_vec(),
            }),
            DRIVER,
        ),
        Driver::Built(path) => (None, path.as_str()),
    };
    compile
        .into_iter()
        .chain([
            Step::From {
                into: CONTAINER,
                name: container_name(NAME, "work"),
                image: Word::text(from),
                pull: Pull::Missing,
            },
            run(&["apt-get", "update"]),
            run(&install),
            run(&["apt-get", "clean"]),
            run(&["rm", "-rf", "/var/lib/apt/lists"]),
            Step::Copy {
                container: CONTAINER,
                source: Word::text(binary),
                destination: DRIVER_IN_IMAGE.into(),
                chmod: Some(0o755),
            },
            Step::WriteFile {
                container: CONTAINER,
                isolation: settings.isolation,
                mounts: vec![],
                path: "/etc/containers/storage.conf".into(),
                contents: Word::text(STORAGE_CONF),
            },
            Step::Config {
                container: CONTAINER,
                options: vec![
                    ConfigOption::Env("BUILDAH_ISOLATION".into(), "chroot".into()),
                    ConfigOption::Env("CARGO_MANIFEST_DIR".into(), format!("{WORKSPACE_IN_IMAGE}/xtask")),
                    ConfigOption::Workdir(WORKSPACE_IN_IMAGE.into()),
                    ConfigOption::Entrypoint(vec![DRIVER_IN_IMAGE.into()]),
                    ConfigOption::Cmd(vec!["--help".into()]),
                    ConfigOption::Label(IMAGE_LABEL.into(), NAME.into()),
                ],
            },
            Step::Commit {
                container: CONTAINER,
                into: IMAGE,
                timestamp: None,
                omit_history: false,
                docker_format: false,
            },
            Step::Tag {
                image: IMAGE,
                references: vec![
                    Word::text(format!("{repository}:latest")),
                    Word::text(format!("{repository}:{date_tag}")),
                ],
            },
        ])
        .collect()
}

/// The steps as a script a person could run from the workspace root.
pub fn render(steps: &[Step], from: &str) -> String {
    let mut out = format!(
        "#!/bin/sh\n# buildah-gentoo builder image, from {from}\n# Run from the workspace root.\nset -eu\n{}=$$\n",
        super::step::RUN.0
    );
    for step in steps {
        out.push_str(&super::script::line(step));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builder_gets_the_tools_the_driver_and_vfs_storage() {
        let settings =
            Settings { namespace: "registry.example:5000/ops".into(), ..Settings::defaults("/cache".into()) };
        let planned = steps(&settings, "docker.io/library/debian:bookworm-slim", &Driver::Release, "20260101");
        let script = render(&planned, "docker.io/library/debian:bookworm-slim");
        for part in [
            "cargo build --release --locked -p xtask",
            "--pull=missing",
            "apt-get install --yes --no-install-recommends buildah skopeo rsync fuse-overlayfs ca-certificates git uidmap",
            "--chmod 755 \"${ctr}\" target/release/xtask /usr/local/bin/buildah-gentoo",
            "driver = \"vfs\"",
            "--entrypoint '[\"/usr/local/bin/buildah-gentoo\"]'",
            "registry.example:5000/ops/builder:latest",
            "registry.example:5000/ops/builder:20260101",
        ] {
            assert!(script.contains(part), "{part:?} missing from:\n{script}");
        }
        // The host compiles before anything is created; the tag moves last.
        assert!(matches!(planned.first(), Some(Step::Host { .. })));
        assert!(matches!(planned.last(), Some(Step::Tag { .. })));
        // A driver built already is copied as it is, nothing compiled.
        let given = steps(&settings, "debian", &Driver::Built("/opt/xtask".into()), "20260101");
        assert!(!given.iter().any(|step| matches!(step, Step::Host { .. })));
        assert!(render(&given, "debian").contains("/opt/xtask /usr/local/bin/buildah-gentoo"));
    }
}
