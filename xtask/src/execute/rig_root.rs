//! The offline test rig's root image, built: debootstrap and the portage wheel once (cached), then
//! the planned steps (`plan::rig_root`), unless storage holds the root already.

use anyhow::{bail, Context, Result};
use camino::{Utf8Path, Utf8PathBuf};
use xshell::{cmd, Shell};

use super::StepRunner;
use crate::hash::{sha256, tree_hash};
use crate::plan::rig_root::{root_steps, DEBOOTSTRAP_INCLUDE, PORTAGE_VERSION, ROOT_FILES};
use crate::plan::step::IMAGE;
use crate::plan::{Command, ImageIndex};
use crate::settings::Settings;

/// The rig root's reference for this workspace: `ROOT_REPOSITORY:<hash of its inputs>`.
pub fn reference(workspace: &Utf8Path) -> Result<String> {
    let files = workspace.join(ROOT_FILES);
    let files_hash = tree_hash(&files).with_context(|| format!("hashing the rig root's files {files}"))?;
    Ok(crate::plan::rig_root::reference(&files_hash, &host_suite()?))
}

/// Builds the rig root unless storage already has it. Returns its image id.
pub fn ensure(sh: &Shell, workspace: &Utf8Path, settings: &Settings, index: &ImageIndex) -> Result<String> {
    let reference = reference(workspace)?;
    if let Some(id) = index.id(&reference) {
        return Ok(id.to_owned());
    }
    crate::prerequisites::ensure(sh, crate::prerequisites::RIG_TOOLS)?;
    let log = workspace.join(&settings.work_dir).join("logs/rig-root.log");
    eprintln!("==> rig root {reference}: building (log {log})");
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
            eprintln!("==> rig root: built in {:.1}s", clock.elapsed().as_secs_f64());
            Ok(id)
        }
        Err(error) => {
            runner.clean_up(false);
            Err(error.context(format!("building the rig root (log {log}):\n{}", runner.log_tail(15))))
        }
    }
}

/// Debian minbase as a tar, made once per suite and package list.
fn debootstrap_tarball(runner: &mut StepRunner, cache: &Utf8Path) -> Result<Utf8PathBuf> {
    let suite = host_suite()?;
    let key = &sha256(format!("{suite} {DEBOOTSTRAP_INCLUDE}").as_bytes())[..12];
    let tarball = cache.join(format!("debootstrap-{suite}-{key}.tar"));
    if tarball.exists() {
        return Ok(tarball);
    }
    let mirror = debian_mirror()?;
    std::fs::create_dir_all(cache).with_context(|| format!("creating {cache}"))?;
    let tree = tempfile::Builder::new().prefix("debootstrap-").tempdir_in(cache)?;
    let tree_path = Utf8Path::from_path(tree.path()).context("cache path is not UTF-8")?.to_owned();
    eprintln!("==> rig root: debootstrap {suite} from {mirror} (once; about a minute)");
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
pub fn exists(sh: &Shell, workspace: &Utf8Path) -> bool {
    let Ok(reference) = reference(workspace) else { return false };
    cmd!(sh, "buildah inspect --type image {reference}").quiet().ignore_stdout().ignore_stderr().run().is_ok()
}
