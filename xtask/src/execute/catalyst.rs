//! Runs a [`CatalystPlan`]: each catalyst command argv by argv from the workspace root, its output
//! to the step's log, a progress line per step, and a stop at the first non-zero exit; then the
//! snapshot check, the `-latest` seed links and the import ([`build_release`]), and the
//! `--snapshot stable` flow that records a snapshot in `releases.lock` ([`record_snapshot`]).
//!
//! The steps run through the one runner of every plan ([`StepRunner`]); its processes start through
//! a [`Spawn`], so the order and the error handling can be tested without catalyst (which only runs
//! on Gentoo, as root). Those tests check our ordering and error handling against scripted exit
//! codes; they say nothing about what catalyst does.

use std::ffi::OsStr;
use std::fmt;
use std::io::Write;
use std::time::Instant;

use anyhow::{bail, Context as _, Result};
use camino::{Utf8Path, Utf8PathBuf};

use super::runner::{Spawn, StepRunner};
use crate::catalyst::{lock, CatalystPlan, Snapshot, SnapshotPlan, REPO_NAME};
use crate::plan::Command;

/// How many lines of a failed step's log the error shows.
pub const TAIL_LINES: usize = 20;

/// What to tell someone without catalyst.
pub const INSTALL_HINT: &str =
    "catalyst is not installed (no `catalyst` on PATH): it runs on Gentoo, as root; install it \
     with `emerge dev-util/catalyst` (Debian does not package it, and PyPI's `catalyst` is an unrelated deep-learning \
     library). `cargo xtask catalyst --spec-only` writes the spec files and catalyst.conf without it";

/// A step that did not succeed: which, how, and where its log is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepFailure {
    pub release: String,
    pub step: String,
    pub command: String,
    /// `exited with status 2`, `was killed by a signal`, `could not start: ...`.
    pub how: String,
    pub log: Utf8PathBuf,
    pub tail: String,
}

impl fmt::Display for StepFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "catalyst {} of release `{}` {}\n  command: {}\n  log: {}",
            self.step, self.release, self.how, self.command, self.log
        )?;
        if !self.tail.is_empty() {
            write!(f, "\n  last lines of the log:")?;
            for line in self.tail.lines() {
                write!(f, "\n    {line}")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for StepFailure {}

/// Runs the plan's steps in order, printing a progress line per step to `out`; stops at the first
/// failure, which it returns as a [`StepFailure`] (through `anyhow`).
pub fn run_steps(
    plan: &CatalystPlan,
    workspace: &Utf8Path,
    spawner: &mut dyn Spawn,
    out: &mut dyn Write,
) -> Result<()> {
    run_step_list(plan.release, &plan.steps, workspace, spawner, out)
}

fn run_step_list(
    release: &str,
    steps: &[crate::catalyst::CatalystStep],
    workspace: &Utf8Path,
    spawner: &mut dyn Spawn,
    out: &mut dyn Write,
) -> Result<()> {
    let count = steps.len();
    for (index, step) in steps.iter().enumerate() {
        let log_path = workspace.join(&step.log);
        writeln!(out, "[{}/{count}] {release} {}: running, log {}", index + 1, step.name, step.log)?;
        let started = Instant::now();
        let mut runner = StepRunner::with_spawner(Box::new(&mut *spawner), workspace, log_path.clone())?;
        let result = runner.run_all(std::slice::from_ref(step));
        let elapsed = started.elapsed().as_secs_f64();
        match result {
            Ok(()) => writeln!(out, "[{}/{count}] {release} {}: done in {elapsed:.1}s", index + 1, step.name)?,
            Err(failure) => {
                writeln!(out, "[{}/{count}] {release} {}: FAILED after {elapsed:.1}s", index + 1, step.name)?;
                // `catalyst` exited with status 2 → exited with status 2.
                let how = failure.reason.split_once("` ").map_or(failure.reason.as_str(), |(_, how)| how);
                let how = if how == "interrupted" { "was interrupted before it started" } else { how };
                return Err(StepFailure {
                    release: release.to_owned(),
                    step: step.name.to_owned(),
                    command: failure.command,
                    how: how.to_owned(),
                    log: step.log.clone(),
                    tail: runner.log_tail(TAIL_LINES),
                }
                .into());
            }
        }
    }
    Ok(())
}

/// The tool that reads a snapshot without mounting it: squashfs-tools-ng's `rdsquashfs`, from the
/// same package as the `tar2sqfs` catalyst makes snapshots with, so it is there wherever catalyst is.
pub const SQUASHFS_READER: &str = "rdsquashfs";

/// What must hold before catalyst runs: catalyst and the snapshot reader installed, the seed stage
/// present and unambiguous, `portage_confdir` present. Checked up front so a missing piece is
/// reported before hours of building.
pub fn preflight(plan: &CatalystPlan, path: &OsStr) -> Result<()> {
    if crate::prerequisites::find_on_path("catalyst", path).is_none() {
        bail!("{INSTALL_HINT}");
    }
    if crate::prerequisites::find_on_path(SQUASHFS_READER, path).is_none() {
        bail!(
            "`{SQUASHFS_READER}` is not installed: it checks catalyst's snapshots; install sys-fs/squashfs-tools-ng \
             (catalyst needs it too, for tar2sqfs)"
        );
    }
    seed_file(&plan.seed).with_context(|| format!("release `{}`: stage1's seed", plan.release))?;
    if let Some(dir) = &plan.portage_confdir {
        if !dir.is_dir() {
            bail!("release `{}`: portage_confdir {dir} is not a folder", plan.release);
        }
    }
    Ok(())
}

/// The file catalyst takes for the seed, as catalyst/support.py `file_check` finds it: the path
/// itself, else the one `<path>.*` that is not a `.CONTENTS`, `.CONTENTS.gz`, `.DIGESTS` or `.sha256`
/// file. Two candidates (a stage and its `.asc`, say) are an error, as in catalyst.
pub fn seed_file(seed: &Utf8Path) -> Result<Utf8PathBuf> {
    if seed.is_file() {
        return Ok(seed.to_owned());
    }
    let (Some(dir), Some(name)) = (seed.parent(), seed.file_name()) else { bail!("{seed} is not a file path") };
    let prefix = format!("{name}.");
    let mut found: Vec<Utf8PathBuf> = match dir.read_dir_utf8() {
        Ok(entries) => entries
            .flatten()
            .filter(|entry| {
                let file = entry.file_name();
                file.starts_with(&prefix)
                    && ![".CONTENTS", ".CONTENTS.gz", ".DIGESTS", ".sha256"].iter().any(|s| file.ends_with(s))
            })
            .map(|entry| entry.path().to_owned())
            .collect(),
        Err(_) => Vec::new(),
    };
    found.sort();
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => bail!(
            "{seed} is missing (catalyst looks for that path or one `<path>.*`): put a stage3 there, e.g. the latest \
             official one from https://distfiles.gentoo.org/releases/"
        ),
        _ => bail!(
            "{seed} is ambiguous: {} all match, and catalyst refuses a seed name that matches more than one file \
             besides .CONTENTS, .CONTENTS.gz, .DIGESTS and .sha256; move the others away",
            found.iter().map(|path| path.file_name().unwrap_or_default()).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// Checks a snapshot file: not empty, and its `profiles/repo_name` reads `gentoo`. `catalyst -s
/// <commit>` ignores `git archive`'s failure and still writes a valid, empty 4 KiB image, so a
/// snapshot that merely exists proves nothing.
pub fn check_snapshot(path: &Utf8Path, runner: &mut StepRunner) -> Result<()> {
    let size = std::fs::metadata(path).with_context(|| format!("reading the snapshot {path}"))?.len();
    if size == 0 {
        bail!("the snapshot {path} is empty");
    }
    let query = Command::new([SQUASHFS_READER, "-c", "profiles/repo_name", path.as_str()])
        .assigning(crate::plan::Var("repo_name"));
    let spawned = runner.query(&query).with_context(|| {
        format!("running `{SQUASHFS_READER}` (sys-fs/squashfs-tools-ng) to check the snapshot {path}")
    })?;
    let (code, stdout) = (spawned.code, spawned.stdout);
    if code != Some(0) || stdout.trim() != REPO_NAME {
        bail!(
            "the snapshot {path} holds no ebuild repository (`{SQUASHFS_READER} -c profiles/repo_name` {}): catalyst \
             made it from a commit its clone does not have",
            if code == Some(0) { format!("printed `{}`", stdout.trim()) } else { "failed".to_owned() }
        );
    }
    Ok(())
}

/// Builds one release: the snapshot when the plan makes it, else a check of the existing one; the
/// stages; the `-latest` links; the import (`import` returns what to print). A failing step stops
/// everything after it: nothing is linked, nothing imported.
pub fn build_release(
    plan: &CatalystPlan,
    workspace: &Utf8Path,
    spawner: &mut dyn Spawn,
    import: &mut dyn FnMut(&CatalystPlan) -> Result<String>,
    out: &mut dyn Write,
) -> Result<()> {
    let makes_snapshot = plan.steps.first().is_some_and(|step| step.name == "snapshot");
    let fix = format!("remove it and run `{}`, or check the commit in {}", lock::SNAPSHOT_COMMAND, lock::LOCK_FILE);
    let checks_log = plan
        .steps
        .first()
        .context("a release has stages")?
        .log
        .with_file_name(format!("catalyst+{}+checks.log", plan.release));
    if !makes_snapshot {
        let mut checks = StepRunner::with_spawner(Box::new(&mut *spawner), workspace, workspace.join(&checks_log))?;
        check_snapshot(&plan.snapshot, &mut checks)
            .with_context(|| format!("release `{}`: the existing snapshot is not usable ({fix})", plan.release))?;
    }
    let (snapshot_steps, stage_steps) = plan.steps.split_at(usize::from(makes_snapshot));
    run_step_list(plan.release, snapshot_steps, workspace, spawner, out)?;
    if makes_snapshot {
        let mut checks = StepRunner::with_spawner(Box::new(&mut *spawner), workspace, workspace.join(&checks_log))?;
        check_snapshot(&plan.snapshot, &mut checks).with_context(|| {
            format!(
                "release `{}`: `catalyst -s {}` did not make a usable snapshot (it only archives its local clone and \
                 never fetches); run `{}` to fetch and record the current commit",
                plan.release,
                plan.treeish,
                lock::SNAPSHOT_COMMAND
            )
        })?;
    }
    run_step_list(plan.release, stage_steps, workspace, spawner, out)?;
    link_latest(plan)?;
    for link in &plan.links {
        writeln!(out, "{}: linked {} -> {}", plan.release, link.path, link.target)?;
    }
    let imported = import(plan).with_context(|| format!("importing {} as {}", plan.stage3, plan.repository))?;
    writeln!(out, "{}: {imported}", plan.release)?;
    Ok(())
}

/// Points the `-latest` names at the new stage3 (and its DIGESTS), each link made under a
/// temporary name and renamed over the old one, as releng's `ln -sf` after a build.
pub fn link_latest(plan: &CatalystPlan) -> Result<()> {
    for link in &plan.links {
        let dir = link.path.parent().context("a link path has a folder")?;
        if !dir.join(&link.target).exists() {
            bail!(
                "release `{}`: {} is missing after stage3, so {} is not linked",
                plan.release,
                link.target,
                link.path
            );
        }
        let temporary = dir.join(format!(".{}.tmp", link.path.file_name().unwrap_or_default()));
        let _ = std::fs::remove_file(&temporary);
        std::os::unix::fs::symlink(&link.target, &temporary).with_context(|| format!("linking {temporary}"))?;
        std::fs::rename(&temporary, &link.path).with_context(|| format!("linking {}", link.path))?;
    }
    Ok(())
}

/// `--snapshot stable`: runs `catalyst -s stable`, asks catalyst's clone which commit it fetched,
/// checks the snapshot and records it in `<workspace>/releases.lock`.
pub fn record_snapshot(
    plan: &SnapshotPlan,
    settings: &crate::settings::Settings,
    workspace: &Utf8Path,
    lock_path: &Utf8Path,
    spawner: &mut dyn Spawn,
    out: &mut dyn Write,
) -> Result<Snapshot> {
    run_step_list("snapshot", std::slice::from_ref(&plan.step), workspace, spawner, out)?;
    let checks_log = plan.step.log.with_file_name("catalyst+snapshot+checks.log");
    let mut runner = StepRunner::with_spawner(Box::new(&mut *spawner), workspace, workspace.join(&checks_log))?;
    let query = plan.query.clone().assigning(crate::plan::Var("snapshot"));
    let spawned = runner.query(&query).context("asking catalyst's clone which commit it fetched")?;
    let (code, stdout) = (spawned.code, spawned.stdout);
    if code != Some(0) {
        bail!("`{}` failed: catalyst's clone has no `stable` branch", plan.query.to_shell());
    }
    let snapshot =
        SnapshotPlan::parse_query(&stdout).with_context(|| format!("reading `{}`", plan.query.to_shell()))?;
    let path = crate::catalyst::snapshot_path(&snapshot.commit, settings);
    check_snapshot(&path, &mut runner).context("after `catalyst -s stable`")?;
    snapshot.write(lock_path)?;
    writeln!(
        out,
        "recorded snapshot {} of {} in {lock_path} (version stamps default to {}); commit it",
        snapshot.commit,
        crate::clock::rfc3339(snapshot.date),
        snapshot.stamp()
    )?;
    Ok(snapshot)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::catalyst::{plan, plan_snapshot, Inputs};
    use crate::execute::runner::Spawned;
    use crate::settings::Settings;
    use image_defs::releases::AMD64_HARDENED;

    const COMMIT: &str = "da31ee840e7887feb345ce81fb714853c2fc940c";
    const STAGE3: &str = "store/builds/23.0-hardened/stage3-amd64-hardened-openrc-20260101T000000Z.tar.xz";

    /// A stand-in for catalyst, rdsquashfs and git that records every argv and answers from a
    /// script: it tests our ordering and error handling, not what those tools do.
    struct Scripted {
        root: Utf8PathBuf,
        /// Exit codes by the argv's last word (`stage3.spec`, the commit, ...); others succeed.
        codes: BTreeMap<String, Option<i32>>,
        /// Whether `catalyst -s` writes a usable snapshot (else the empty 4 KiB image it can make).
        good_snapshot: bool,
        ran: Vec<Vec<String>>,
    }

    impl Scripted {
        fn new(root: &Utf8Path) -> Scripted {
            Scripted { root: root.to_owned(), codes: BTreeMap::new(), good_snapshot: true, ran: Vec::new() }
        }

        fn code(&self, argv: &[String]) -> Option<i32> {
            self.codes.get(argv.last().unwrap()).copied().unwrap_or(Some(0))
        }

        /// What ran, shortened: `catalyst -s <treeish>`, `catalyst -f stage1.spec`, `rdsquashfs`, `git`.
        fn summary(&self) -> Vec<String> {
            self.ran
                .iter()
                .map(|argv| match argv[0].as_str() {
                    "catalyst" => {
                        let last = Utf8Path::new(argv.last().unwrap()).file_name().unwrap();
                        format!("catalyst {} {last}", argv[argv.len() - 2])
                    }
                    other => other.to_owned(),
                })
                .collect()
        }
    }

    impl Spawn for Scripted {
        fn spawn(
            &mut self,
            argv: &[String],
            _env: &[(String, String)],
            mut log: &std::fs::File,
            capture: bool,
        ) -> Result<Spawned> {
            self.ran.push(argv.to_vec());
            if capture {
                return match argv[0].as_str() {
                    SQUASHFS_READER => {
                        let good = std::fs::read(argv.last().unwrap())? == b"GOOD";
                        let (code, stdout) = if good { (Some(0), "gentoo\n") } else { (Some(1), "") };
                        Ok(Spawned { code, stdout: stdout.to_owned() })
                    }
                    "git" => Ok(Spawned { code: self.code(argv), stdout: format!("{COMMIT} 1767225600\n") }),
                    other => bail!("unexpected {other}"),
                };
            }
            let lines: String = (1..=30).map(|n| format!("{} line {n}\n", argv.last().unwrap())).collect();
            log.write_all(lines.as_bytes())?;
            let code = self.code(argv);
            if code == Some(0) && argv[argv.len() - 2] == "-s" {
                let treeish = if argv.last().unwrap() == "stable" { COMMIT } else { argv.last().unwrap() };
                let path = self.root.join(format!("store/snapshots/gentoo-{treeish}.sqfs"));
                std::fs::create_dir_all(path.parent().unwrap())?;
                std::fs::write(path, if self.good_snapshot { b"GOOD".to_vec() } else { vec![0; 4096] })?;
            }
            if code == Some(0) && argv.last().unwrap().ends_with("stage3.spec") {
                std::fs::write(self.root.join(STAGE3), "stage3")?;
                std::fs::write(self.root.join(format!("{STAGE3}.DIGESTS")), "digests")?;
            }
            Ok(Spawned { code, stdout: String::new() })
        }
    }

    struct Fixture {
        _dir: tempfile::TempDir,
        root: Utf8PathBuf,
        settings: Settings,
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let root = Utf8Path::from_path(dir.path()).unwrap().to_owned();
        let mut settings = Settings::defaults("/var/cache".into());
        settings.catalyst_storedir = root.join("store");
        std::fs::create_dir_all(root.join("store/builds/23.0-hardened")).unwrap();
        Fixture { _dir: dir, root, settings }
    }

    impl Fixture {
        fn plan(&self, snapshot_exists: bool) -> CatalystPlan {
            let snapshot = Snapshot::new(COMMIT, 1_767_225_600).unwrap();
            let inputs = Inputs { workspace: &self.root, snapshot: &snapshot, stamp: None, cores: 2 };
            plan(&AMD64_HARDENED, &self.settings, &inputs, snapshot_exists).unwrap()
        }

        /// Runs [`build_release`], counting imports.
        fn build(&self, plan: &CatalystPlan, runner: &mut Scripted) -> (Result<()>, Vec<Utf8PathBuf>, String) {
            let mut imported = Vec::new();
            let mut import = |plan: &CatalystPlan| -> Result<String> {
                imported.push(plan.stage3.clone());
                Ok(format!("imported as {}:sha512-0123", plan.repository))
            };
            let mut out = Vec::new();
            let result = build_release(plan, &self.root, runner, &mut import, &mut out);
            (result, imported, String::from_utf8(out).unwrap())
        }

        fn latest(&self) -> Utf8PathBuf {
            self.root.join("store/builds/23.0-hardened/stage3-amd64-hardened-openrc-latest.tar.xz")
        }
    }

    #[test]
    fn snapshot_then_its_check_then_stages_then_links_then_import() {
        let f = fixture();
        let plan = f.plan(false);
        let mut runner = Scripted::new(&f.root);
        let (result, imported, out) = f.build(&plan, &mut runner);
        result.unwrap();
        assert_eq!(
            runner.summary(),
            [
                format!("catalyst -s {COMMIT}"),
                "rdsquashfs".to_owned(),
                "catalyst -f stage1.spec".to_owned(),
                "catalyst -f stage3.spec".to_owned(),
            ]
        );
        assert!(runner.ran[2..].iter().all(|argv| argv[1] == "-a"), "every stage clears autoresume");
        assert_eq!(imported, [f.root.join(STAGE3)]);
        let target = std::fs::read_link(f.latest()).unwrap();
        assert_eq!(target.to_str(), Some("stage3-amd64-hardened-openrc-20260101T000000Z.tar.xz"), "relative");
        assert_eq!(std::fs::read_to_string(f.latest()).unwrap(), "stage3");
        assert_eq!(std::fs::read_to_string(format!("{}.DIGESTS", f.latest())).unwrap(), "digests");
        assert_eq!(seed_file(&plan.seed).unwrap(), f.latest(), "the next release's stage1 finds it");
        assert!(out.contains("[2/2] amd64-hardened stage3: done in "), "{out}");
        assert!(
            out.ends_with("amd64-hardened: imported as localhost/gentoo/stage3-amd64-hardened:sha512-0123\n"),
            "{out}"
        );
    }

    #[test]
    fn a_failing_stage_links_and_imports_nothing() {
        for failing in ["stage1.spec", "stage3.spec"] {
            let f = fixture();
            std::fs::write(f.latest(), "the official seed").unwrap();
            let plan = f.plan(true);
            std::fs::create_dir_all(plan.snapshot.parent().unwrap()).unwrap();
            std::fs::write(&plan.snapshot, "GOOD").unwrap();
            let mut runner = Scripted::new(&f.root);
            let spec = plan.steps.iter().find(|step| step.name == failing.trim_end_matches(".spec")).unwrap();
            let spec_path = spec.command.argv.last().unwrap().to_shell();
            runner.codes.insert(spec_path, Some(2));
            let (result, imported, out) = f.build(&plan, &mut runner);
            let error = result.unwrap_err();
            let failure = error.downcast_ref::<StepFailure>().expect("a StepFailure");
            assert_eq!((failure.step.as_str(), failure.how.as_str()), (&failing[..6], "exited with status 2"));
            assert_eq!(failure.tail.lines().count(), TAIL_LINES);
            assert!(imported.is_empty(), "{failing}: nothing imported");
            assert_eq!(std::fs::read_to_string(f.latest()).unwrap(), "the official seed", "{failing}: nothing linked");
            assert!(std::fs::symlink_metadata(f.latest()).unwrap().is_file());
            assert!(!out.contains("linked"), "{out}");
            let ran = runner.summary();
            assert_eq!(ran.last().unwrap(), &format!("catalyst -f {failing}"), "nothing runs after the failure");
        }
    }

    #[test]
    fn an_existing_snapshot_is_checked_before_skipping_dash_s() {
        let f = fixture();
        let plan = f.plan(true);
        std::fs::create_dir_all(plan.snapshot.parent().unwrap()).unwrap();
        for (content, says) in [(vec![], "is empty"), (vec![0u8; 4096], "holds no ebuild repository")] {
            std::fs::write(&plan.snapshot, content).unwrap();
            let mut runner = Scripted::new(&f.root);
            let (result, imported, _) = f.build(&plan, &mut runner);
            let error = format!("{:#}", result.unwrap_err());
            assert!(error.contains(says), "{error}");
            assert!(
                error.starts_with(
                    "release `amd64-hardened`: the existing snapshot is not usable (remove it and run \
                                   `cargo xtask catalyst --snapshot stable`"
                ),
                "{error}"
            );
            assert!(runner.ran.iter().all(|argv| argv[0] != "catalyst"), "no stage ran: {:?}", runner.ran);
            assert!(imported.is_empty());
        }
    }

    #[test]
    fn an_empty_snapshot_from_dash_s_stops_before_the_stages() {
        let f = fixture();
        let plan = f.plan(false);
        let mut runner = Scripted::new(&f.root);
        runner.good_snapshot = false;
        let (result, imported, _) = f.build(&plan, &mut runner);
        let error = format!("{:#}", result.unwrap_err());
        assert!(error.contains(&format!("`catalyst -s {COMMIT}` did not make a usable snapshot")), "{error}");
        assert!(error.contains("run `cargo xtask catalyst --snapshot stable`"), "{error}");
        assert_eq!(runner.summary(), [format!("catalyst -s {COMMIT}"), "rdsquashfs".to_owned()]);
        assert!(imported.is_empty());

        let mut runner = Scripted::new(&f.root);
        runner.codes.insert(COMMIT.to_owned(), None);
        let (result, _, _) = f.build(&plan, &mut runner);
        let error = result.unwrap_err();
        let failure = error.downcast_ref::<StepFailure>().unwrap();
        assert_eq!((failure.step.as_str(), failure.how.as_str()), ("snapshot", "was killed by a signal"));
        assert_eq!(runner.ran.len(), 1);
    }

    #[test]
    fn the_seed_is_found_as_catalysts_file_check_finds_it() {
        let f = fixture();
        let seed = f.root.join("store/builds/23.0-hardened/stage3-amd64-hardened-openrc-latest");
        let error = format!("{:#}", seed_file(&seed).unwrap_err());
        assert!(error.contains("is missing") && error.contains("distfiles.gentoo.org"), "{error}");
        for ignored in [".tar.xz.DIGESTS", ".tar.xz.CONTENTS", ".tar.xz.CONTENTS.gz", ".tar.xz.sha256"] {
            std::fs::write(format!("{seed}{ignored}"), "").unwrap();
        }
        assert!(seed_file(&seed).is_err(), "DIGESTS, CONTENTS and sha256 files are not seeds");
        std::fs::write(format!("{seed}.tar.xz"), "").unwrap();
        assert_eq!(seed_file(&seed).unwrap(), format!("{seed}.tar.xz"));
        std::fs::write(format!("{seed}.tar.xz.asc"), "").unwrap();
        let error = seed_file(&seed).unwrap_err().to_string();
        assert_eq!(
            error,
            format!(
                "{seed} is ambiguous: stage3-amd64-hardened-openrc-latest.tar.xz, \
                 stage3-amd64-hardened-openrc-latest.tar.xz.asc all match, and catalyst refuses a seed name that \
                 matches more than one file besides .CONTENTS, .CONTENTS.gz, .DIGESTS and .sha256; move the others away"
            )
        );
        std::fs::write(&seed, "").unwrap();
        assert_eq!(seed_file(&seed).unwrap(), seed, "the exact path wins, as in catalyst");
    }

    #[test]
    fn preflight_names_what_is_missing() {
        let f = fixture();
        let bin = f.root.join("bin");
        std::fs::create_dir(&bin).unwrap();
        let plan = f.plan(true);
        let error = preflight(&plan, bin.as_os_str()).unwrap_err().to_string();
        assert!(error.contains("emerge dev-util/catalyst"), "{error}");

        // Executables that are only looked at, never run.
        use std::os::unix::fs::PermissionsExt;
        let install = |name: &str| {
            std::fs::write(bin.join(name), "").unwrap();
            std::fs::set_permissions(bin.join(name), std::fs::Permissions::from_mode(0o755)).unwrap();
        };
        install("catalyst");
        let error = preflight(&plan, bin.as_os_str()).unwrap_err().to_string();
        assert!(error.contains("`rdsquashfs` is not installed") && error.contains("squashfs-tools-ng"), "{error}");
        install(SQUASHFS_READER);
        let error = format!("{:#}", preflight(&plan, bin.as_os_str()).unwrap_err());
        assert!(error.starts_with("release `amd64-hardened`: stage1's seed: "), "{error}");
        std::fs::write(format!("{}.tar.xz", plan.seed), "").unwrap();
        std::fs::write(format!("{}.tar.xz.asc", plan.seed), "").unwrap();
        let error = format!("{:#}", preflight(&plan, bin.as_os_str()).unwrap_err());
        assert!(error.contains("is ambiguous"), "{error}");
        std::fs::remove_file(format!("{}.tar.xz.asc", plan.seed)).unwrap();
        let error = preflight(&plan, bin.as_os_str()).unwrap_err().to_string();
        assert!(error.contains("portage_confdir") && error.contains("is not a folder"), "{error}");
        std::fs::create_dir_all(plan.portage_confdir.as_ref().unwrap()).unwrap();
        preflight(&plan, bin.as_os_str()).unwrap();
    }

    #[test]
    fn snapshot_stable_records_the_commit_it_fetched() {
        let f = fixture();
        let plan = plan_snapshot(&f.settings, 2).unwrap();
        crate::catalyst::write_files(&f.root, &plan.files).unwrap();
        let lock_path = f.root.join("releases.lock");
        let mut runner = Scripted::new(&f.root);
        let mut out = Vec::new();
        let snapshot = record_snapshot(&plan, &f.settings, &f.root, &lock_path, &mut runner, &mut out).unwrap();
        assert_eq!(runner.summary(), ["catalyst -s stable", "git", "rdsquashfs"]);
        assert_eq!(runner.ran[1][..3], ["git", "-C", f.root.join("store/repos/gentoo.git").as_str()]);
        assert_eq!((snapshot.commit.as_str(), snapshot.stamp().as_str()), (COMMIT, "20260101T000000Z"));
        assert_eq!(Snapshot::read(&lock_path).unwrap(), snapshot);
        let out = String::from_utf8(out).unwrap();
        assert!(out.contains(&format!("recorded snapshot {COMMIT} of 2026-01-01T00:00:00Z in {lock_path}")), "{out}");

        // An empty snapshot is not recorded.
        std::fs::remove_file(&lock_path).unwrap();
        let mut runner = Scripted::new(&f.root);
        runner.good_snapshot = false;
        let error = record_snapshot(&plan, &f.settings, &f.root, &lock_path, &mut runner, &mut Vec::new());
        assert!(format!("{:#}", error.unwrap_err()).contains("holds no ebuild repository"));
        assert!(!lock_path.exists());
        // Nor is anything when catalyst fails.
        let mut runner = Scripted::new(&f.root);
        runner.codes.insert("stable".to_owned(), Some(1));
        assert!(record_snapshot(&plan, &f.settings, &f.root, &lock_path, &mut runner, &mut Vec::new()).is_err());
        assert_eq!(runner.summary(), ["catalyst -s stable"]);
        assert!(!lock_path.exists());
    }

    /// The snapshot check with the real squashfs-tools-ng on real images: one made from a tree with
    /// `profiles/repo_name`, one from the empty input `catalyst -s <commit>` can feed tar2sqfs.
    #[test]
    fn the_snapshot_check_reads_real_squashfs_images() {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let tools = [SQUASHFS_READER, "tar2sqfs"];
        if tools.iter().any(|tool| crate::prerequisites::find_on_path(tool, &path).is_none()) {
            // `cargo xtask test` installs them; CI must run this test, not skip it.
            assert!(std::env::var_os("CI").is_none(), "needs {} (squashfs-tools-ng)", tools.join(" and "));
            eprintln!("skipped: needs {} (Debian: apt-get install squashfs-tools-ng)", tools.join(" and "));
            return;
        }
        let f = fixture();
        let tree = f.root.join("tree");
        std::fs::create_dir_all(tree.join("profiles")).unwrap();
        std::fs::write(tree.join("profiles/repo_name"), "gentoo\n").unwrap();
        let make = |name: &str, tar_args: &[&str]| -> Utf8PathBuf {
            let tar = f.root.join(format!("{name}.tar"));
            let status = std::process::Command::new("tar").arg("-cf").arg(&tar).args(tar_args).status().unwrap();
            assert!(status.success());
            let image = f.root.join(format!("{name}.sqfs"));
            let status = std::process::Command::new("tar2sqfs")
                .args([image.as_str(), "-q", "-f", "-j1", "-c", "gzip"])
                .stdin(std::fs::File::open(&tar).unwrap())
                .status()
                .unwrap();
            assert!(status.success());
            image
        };
        let good = make("good", &["-C", tree.as_str(), "profiles"]);
        let empty = make("empty", &["-T", "/dev/null"]);
        assert!(std::fs::metadata(&empty).unwrap().len() > 0, "tar2sqfs makes a valid, non-empty image of nothing");
        let sh = xshell::Shell::new().unwrap();
        let mut runner = StepRunner::new(&sh, &f.root, f.root.join("checks.log")).unwrap();
        check_snapshot(&good, &mut runner).unwrap();
        let error = check_snapshot(&empty, &mut runner).unwrap_err().to_string();
        assert!(error.contains("holds no ebuild repository"), "{error}");
    }
}
