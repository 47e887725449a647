//! The offline test rig's root image, planned: Debian minbase (debootstrap) with portage from PyPI,
//! standing in for a Gentoo stage3 on machines without Gentoo or internet. Its inputs are
//! `tests/rig/root/` (files copied into the root) and the constants below; the image is tagged with
//! their hash, built once and reused (`execute::rig_root`). `tests/rig/RECIPE.md` explains every step.

use camino::Utf8Path;

use super::step::{CONTAINER, IMAGE};
use super::{container_name, ConfigOption, Pull, Step, Word, IMAGE_LABEL};
use crate::hash::sha256;
use crate::settings::Settings;

/// The repository of rig root images; the tag is the hash of the rig's inputs.
pub const ROOT_REPOSITORY: &str = "localhost/buildah-gentoo/rig-root";
/// The prefix of the rig root's content tag in a registry (`rig-<hash of its inputs>`), where the
/// `ci rig-root` job puts it for the image jobs.
pub const REMOTE_TAG_PREFIX: &str = "rig-";
/// Files copied into the root, relative to the workspace root.
pub const ROOT_FILES: &str = "tests/rig/root";
/// Portage from PyPI, pinned so the root is the same everywhere.
pub const PORTAGE_VERSION: &str = "3.0.83";
/// Debian packages the root needs besides minbase: python for portage, the compressors portage uses,
/// wget (portage's fetcher), gpg (binary package signatures), ca-certificates (its
/// `update-ca-certificates` installs a site CA, as on a stage3) and a static busybox, which the rig's
/// `sys-apps/busybox` installs into minimal images (a shell for their tests). `tzdata` is what the
/// rig's `sys-libs/timezone-data` copies (minbase has it today; named so it stays), and `locales`
/// holds glibc's locale sources (`/usr/share/i18n`), which `localedef --prefix=ROOT -i en_US -f UTF-8`
/// needs to generate a locale for a new root. `zstd` also brings `pzstd`, the C++ program of the rig's
/// `app-arch/pzstd`. `gcc` and `libc6-dev` are the C compiler and C library headers the rig's
/// source packages (`app-misc/rigsay`, through its `rig-cc` eclass) compile with, as a stage3's
/// toolchain would.
pub const DEBOOTSTRAP_INCLUDE: &str =
    "python3,python3-venv,bzip2,xz-utils,zstd,wget,gpg,ca-certificates,busybox-static,tzdata,locales,gcc,libc6-dev";
/// Bumped when the steps below change in a way the hash would not see.
const RECIPE_VERSION: &str = "1";

/// The rig root's reference: `ROOT_REPOSITORY:<hash of its inputs>`, from the hash of
/// [`ROOT_FILES`] and the Debian suite it is made of.
pub fn reference(files_hash: &str, suite: &str) -> String {
    let inputs = format!("{RECIPE_VERSION}\n{files_hash}\n{suite}\n{DEBOOTSTRAP_INCLUDE}\n{PORTAGE_VERSION}\n");
    format!("{ROOT_REPOSITORY}:{}", &sha256(inputs.as_bytes())[..16])
}

/// The rig root's content tag in a registry, from its local reference.
pub fn remote_tag(reference: &str) -> String {
    let hash = reference.rsplit_once(':').map_or(reference, |(_, hash)| hash);
    format!("{REMOTE_TAG_PREFIX}{hash}")
}

/// The buildah steps that make the root from the debootstrap tarball and the portage wheel.
pub fn root_steps(settings: &Settings, tarball: &Utf8Path, wheel: &Utf8Path, reference: &str) -> Vec<Step> {
    let wheel_name = wheel.file_name().expect("a wheel file");
    let inside = format!("/tmp/{wheel_name}");
    let run = |argv: &[&str]| Step::Run {
        container: CONTAINER,
        isolation: settings.isolation,
        mounts: vec![],
        env: vec![],
        argv: argv.iter().map(|arg| arg.to_string()).collect(),
    };
    vec![
        Step::From {
            into: CONTAINER,
            name: container_name("rig-root", "work"),
            image: Word::text("scratch"),
            pull: Pull::Never,
        },
        // A tar keeps owners, groups and modes; `buildah copy` of the folder would not.
        Step::Add { container: CONTAINER, source: Word::text(tarball.as_str()), destination: "/".into() },
        Step::Copy {
            container: CONTAINER,
            source: Word::text(wheel.as_str()),
            destination: inside.clone(),
            chmod: None,
        },
        run(&["python3", "-m", "venv", "/opt/portage"]),
        run(&[
            "/opt/portage/bin/pip",
            "install",
            "--no-index",
            "--no-cache-dir",
            "--disable-pip-version-check",
            &inside,
        ]),
        run(&["rm", &inside]),
        run(&["apt-get", "clean"]),
        Step::Copy {
            container: CONTAINER,
            source: Word::text(format!("{ROOT_FILES}/")),
            destination: "/".into(),
            chmod: None,
        },
        run(&["groupadd", "--system", "--gid", "250", "portage"]),
        run(&[
            "useradd",
            "--system",
            "--uid",
            "250",
            "--gid",
            "portage",
            "--home-dir",
            "/var/tmp/portage",
            "--shell",
            "/bin/false",
            "--no-create-home",
            "portage",
        ]),
        Step::Config {
            container: CONTAINER,
            options: vec![
                // The PyPI portage would treat its venv as EPREFIX; this makes it manage `/`.
                ConfigOption::Env("PORTAGE_OVERRIDE_EPREFIX".into(), "/".into()),
                ConfigOption::Env("PATH".into(), "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into()),
                ConfigOption::Env("TERM".into(), "dumb".into()),
                ConfigOption::Label(IMAGE_LABEL.into(), "rig-root".into()),
            ],
        },
        Step::Commit { container: CONTAINER, into: IMAGE, timestamp: None, omit_history: false, docker_format: false },
        Step::Tag { image: IMAGE, references: vec![Word::text(reference)] },
    ]
}
