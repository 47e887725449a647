//! The offline test rig's root image: Debian minbase (debootstrap) with portage from PyPI, standing
//! in for a Gentoo stage3 on machines without Gentoo or internet. Its inputs are `tests/rig/root/`
//! (files copied into the root) and the constants below; the image is tagged with their hash, built
//! once and reused. `tests/rig/RECIPE.md` explains every step.

use anyhow::{bail, Context, Result};
use camino::{Utf8Path, Utf8PathBuf};
use sha2::{Digest, Sha256};
use xshell::{cmd, Shell};

use crate::execute::{hex, tree_hash, ImageIndex, StepRunner};
use crate::plan::step::{CONTAINER, IMAGE};
use crate::plan::{Command, ConfigOption, Pull, Step, Word, IMAGE_LABEL};
use crate::settings::Settings;

/// The repository of rig root images; the tag is the hash of the rig's inputs.
pub const ROOT_REPOSITORY: &str = "localhost/buildah-gentoo/rig-root";
/// Files copied into the root, relative to the workspace root.
pub const ROOT_FILES: &str = "tests/rig/root";
/// Portage from PyPI, pinned so the root is the same everywhere.
pub const PORTAGE_VERSION: &str = "3.0.83";
/// Debian packages the root needs besides minbase: python for portage, the compressors portage uses,
/// wget (portage's fetcher), gpg (binary package signatures), ca-certificates (its
/// `update-ca-certificates` installs a site CA, as on a stage3) and a static busybox, which the rig's
/// `sys-apps/busybox` installs into minimal images (a shell for their tests).
pub const DEBOOTSTRAP_INCLUDE: &str =
    "python3,python3-venv,bzip2,xz-utils,zstd,wget,gpg,ca-certificates,busybox-static";
/// Bumped when the steps below change in a way the hash would not see.
const RECIPE_VERSION: &str = "1";

/// The rig root's reference for this workspace: `ROOT_REPOSITORY:<hash of its inputs>`.
pub fn root_reference(workspace: &Utf8Path) -> String {
    let files = tree_hash(&workspace.join(ROOT_FILES)).unwrap_or_else(|_| "missing".to_owned());
    let suite = host_suite().unwrap_or_else(|_| "unknown".to_owned());
    let inputs = format!("{RECIPE_VERSION}\n{files}\n{suite}\n{DEBOOTSTRAP_INCLUDE}\n{PORTAGE_VERSION}\n");
    format!("{ROOT_REPOSITORY}:{}", &hex(&Sha256::digest(inputs.as_bytes()))[..16])
}

/// Builds the rig root unless storage already has it. Returns its image id.
pub fn ensure_root(sh: &Shell, workspace: &Utf8Path, settings: &Settings, index: &ImageIndex) -> Result<String> {
    let reference = root_reference(workspace);
    if let Some(id) = index.id(&reference) {
        return Ok(id.to_owned());
    }
    crate::prerequisites::ensure(sh, crate::prerequisites::RIG_TOOLS)?;
    let log = workspace.join(&settings.work_dir).join("logs/rig-root.log");
    println!("==> rig root {reference}: building (log {log})");
    let clock = std::time::Instant::now();
    let mut runner = StepRunner::new(sh, workspace, log.clone())?;
    runner.env("BUILDAH_ISOLATION", settings.isolation.as_str());
    let cache = settings.cache_dir.join("rig");
    let result = (|| -> Result<String> {
        let tarball = debootstrap_tarball(&mut runner, &cache)?;
        let wheel = portage_wheel(&mut runner, &cache)?;
        let steps = root_steps(settings, &tarball, &wheel, &reference);
        if let Err(failure) = runner.run_all(&steps) {
            bail!("step {} ({}) failed: {}\n$ {}", failure.index + 1, failure.kind, failure.reason, failure.command);
        }
        Ok(runner.var(IMAGE).unwrap_or_default().to_owned())
    })();
    match result {
        Ok(id) => {
            println!("==> rig root: built in {:.1}s", clock.elapsed().as_secs_f64());
            Ok(id)
        }
        Err(error) => {
            runner.clean_up(false);
            Err(error.context(format!("building the rig root (log {log}):\n{}", runner.log_tail(15))))
        }
    }
}

/// The buildah steps that make the root from the debootstrap tarball and the portage wheel.
fn root_steps(settings: &Settings, tarball: &Utf8Path, wheel: &Utf8Path, reference: &str) -> Vec<Step> {
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
            name: crate::plan::container_name(&std::process::id().to_string(), "rig-root", "work"),
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
        Step::Commit { container: CONTAINER, into: IMAGE, timestamp: None, omit_history: false },
        Step::Tag { image: IMAGE, references: vec![reference.to_owned()] },
    ]
}

/// Debian minbase as a tar, made once per suite and package list.
fn debootstrap_tarball(runner: &mut StepRunner, cache: &Utf8Path) -> Result<Utf8PathBuf> {
    let suite = host_suite()?;
    let key = &hex(&Sha256::digest(format!("{suite} {DEBOOTSTRAP_INCLUDE}").as_bytes()))[..12];
    let tarball = cache.join(format!("debootstrap-{suite}-{key}.tar"));
    if tarball.exists() {
        return Ok(tarball);
    }
    let mirror = debian_mirror()?;
    std::fs::create_dir_all(cache).with_context(|| format!("creating {cache}"))?;
    let tree = tempfile::Builder::new().prefix("debootstrap-").tempdir_in(cache)?;
    let tree_path = Utf8Path::from_path(tree.path()).context("cache path is not UTF-8")?.to_owned();
    println!("==> rig root: debootstrap {suite} from {mirror} (once; about a minute)");
    runner.run_host(&Command::new([
        "debootstrap",
        "--variant=minbase",
        &format!("--include={DEBOOTSTRAP_INCLUDE}"),
        &suite,
        tree_path.as_str(),
        &mirror,
    ]))?;
    let partial = cache.join(format!("debootstrap-{suite}-{key}.tar.partial"));
    runner.run_host(&Command::new([
        "tar",
        "--numeric-owner",
        "--xattrs",
        "-C",
        tree_path.as_str(),
        "-cf",
        partial.as_str(),
        ".",
    ]))?;
    std::fs::rename(&partial, &tarball).with_context(|| format!("moving {partial} into place"))?;
    Ok(tarball)
}

/// The pinned portage wheel from PyPI, downloaded once.
fn portage_wheel(runner: &mut StepRunner, cache: &Utf8Path) -> Result<Utf8PathBuf> {
    let dir = cache.join("wheels");
    let wheel = dir.join(format!("portage-{PORTAGE_VERSION}-py3-none-any.whl"));
    if wheel.exists() {
        return Ok(wheel);
    }
    runner
        .run_host(&Command::new([
            "pip3",
            "download",
            "--quiet",
            "--no-deps",
            "--disable-pip-version-check",
            "--dest",
            dir.as_str(),
            &format!("portage=={PORTAGE_VERSION}"),
        ]))
        .context("downloading the portage wheel from PyPI (is python3-pip installed?)")?;
    if !wheel.exists() {
        bail!("pip did not leave {wheel}");
    }
    Ok(wheel)
}

/// The host's Debian codename (the rig root uses the same suite as the host's apt).
fn host_suite() -> Result<String> {
    let text = std::fs::read_to_string("/etc/os-release").context("reading /etc/os-release")?;
    text.lines()
        .find_map(|line| line.strip_prefix("VERSION_CODENAME="))
        .map(|value| value.trim_matches('"').to_owned())
        .filter(|value| !value.is_empty())
        .context("the rig root needs a Debian host: /etc/os-release has no VERSION_CODENAME")
}

/// The Debian mirror apt on this machine already uses (never a hard-coded host).
fn debian_mirror() -> Result<String> {
    let mut candidates = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/etc/apt/sources.list.d") {
        let mut paths: Vec<_> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
        paths.sort();
        for path in paths {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            if path.extension().is_some_and(|ext| ext == "sources") {
                candidates.extend(
                    text.lines()
                        .filter_map(|l| l.strip_prefix("URIs:"))
                        .flat_map(|uris| uris.split_whitespace().map(str::to_owned).collect::<Vec<_>>()),
                );
            } else {
                candidates.extend(one_line_sources(&text));
            }
        }
    }
    candidates.extend(one_line_sources(&std::fs::read_to_string("/etc/apt/sources.list").unwrap_or_default()));
    candidates
        .into_iter()
        .find(|uri| !uri.contains("security") && (uri.starts_with("http://") || uri.starts_with("https://")))
        .context("no Debian mirror found in apt's sources (/etc/apt/sources.list{,.d/})")
}

fn one_line_sources(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace().filter(|w| !w.starts_with('['));
            (words.next() == Some("deb")).then(|| words.next().map(str::to_owned)).flatten()
        })
        .collect()
}

/// Whether buildah can see the rig root (for tests and `doctor`-style checks).
pub fn root_exists(sh: &Shell, workspace: &Utf8Path) -> bool {
    let reference = root_reference(workspace);
    cmd!(sh, "buildah inspect --type image {reference}").quiet().ignore_stdout().ignore_stderr().run().is_ok()
}
