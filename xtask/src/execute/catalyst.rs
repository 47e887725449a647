//! Runs a [`CatalystPlan`]: each catalyst command argv by argv from the workspace root, its output
//! to the step's log, a progress line per step, and a stop at the first non-zero exit.
//!
//! Processes are started through a [`CatalystRunner`], so the order and the error handling can be
//! tested without catalyst (which only runs on Gentoo, as root).

use std::ffi::OsStr;
use std::fmt;
use std::io::Write;
use std::process::Stdio;
use std::time::Instant;

use anyhow::{bail, Context as _, Result};
use camino::{Utf8Path, Utf8PathBuf};
use xshell::Shell;

use super::interrupt;
use crate::catalyst::CatalystPlan;

/// How many lines of a failed step's log the error shows.
pub const TAIL_LINES: usize = 20;

/// What to tell someone without catalyst.
pub const INSTALL_HINT: &str =
    "catalyst is not installed (no `catalyst` on PATH): it runs on Gentoo, as root; install it \
     with `emerge dev-util/catalyst` (Debian does not package it, and PyPI's `catalyst` is an unrelated deep-learning \
     library). `cargo xtask catalyst --spec-only` writes the spec files and catalyst.conf without it";

/// Starts one command and waits for it.
pub trait CatalystRunner {
    /// Runs `argv` from the workspace root with stdout and stderr appended to `log` (a path from
    /// the workspace root); the exit code, `None` when killed by a signal.
    fn run(&mut self, argv: &[String], log: &Utf8Path) -> Result<Option<i32>>;
}

/// The real runner: spawns the process.
pub struct ProcessRunner<'a> {
    pub sh: &'a Shell,
    pub workspace: &'a Utf8Path,
}

impl CatalystRunner for ProcessRunner<'_> {
    fn run(&mut self, argv: &[String], log: &Utf8Path) -> Result<Option<i32>> {
        let path = self.workspace.join(log);
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("opening the log {path}"))?;
        writeln!(file, "$ {}", argv.iter().map(|arg| crate::plan::command::quote(arg)).collect::<Vec<_>>().join(" "))?;
        let mut command: std::process::Command = self.sh.cmd(&argv[0]).args(&argv[1..]).into();
        command.stdin(Stdio::null()).stdout(Stdio::from(file.try_clone()?)).stderr(Stdio::from(file));
        let mut child = command.spawn().with_context(|| format!("starting `{}`", argv[0]))?;
        let _tracked = interrupt::track(child.id());
        Ok(child.wait()?.code())
    }
}

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
    runner: &mut dyn CatalystRunner,
    out: &mut dyn Write,
) -> Result<()> {
    let count = plan.steps.len();
    for (index, step) in plan.steps.iter().enumerate() {
        let log_path = workspace.join(&step.log);
        if let Some(dir) = log_path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating the log folder {dir}"))?;
        }
        std::fs::write(&log_path, "").with_context(|| format!("creating the log {log_path}"))?;
        let argv: Vec<String> =
            step.command.argv.iter().map(|word| word.resolve(&Default::default())).collect::<Result<_, _>>()?;
        writeln!(out, "[{}/{count}] {} {}: running, log {}", index + 1, plan.release, step.name, step.log)?;
        let started = Instant::now();
        let how = if interrupt::requested() {
            Some("was interrupted before it started".to_owned())
        } else {
            match runner.run(&argv, &step.log) {
                Ok(Some(0)) => None,
                Ok(Some(code)) => Some(format!("exited with status {code}")),
                Ok(None) => Some("was killed by a signal".to_owned()),
                Err(error) => Some(format!("could not start: {error:#}")),
            }
        };
        let elapsed = started.elapsed().as_secs_f64();
        match how {
            None => writeln!(out, "[{}/{count}] {} {}: done in {elapsed:.1}s", index + 1, plan.release, step.name)?,
            Some(how) => {
                writeln!(out, "[{}/{count}] {} {}: FAILED after {elapsed:.1}s", index + 1, plan.release, step.name)?;
                return Err(StepFailure {
                    release: plan.release.to_owned(),
                    step: step.name.to_owned(),
                    command: step.command.to_shell(),
                    how,
                    log: step.log.clone(),
                    tail: super::runner::log_tail(&log_path, TAIL_LINES),
                }
                .into());
            }
        }
    }
    Ok(())
}

/// The last `count` lines of the file at `path` (empty when it cannot be read).
/// What must hold before catalyst runs: catalyst installed, the seed stage and `portage_confdir`
/// present. Checked up front so a missing piece is reported before hours of building.
pub fn preflight(plan: &CatalystPlan, path: &OsStr) -> Result<()> {
    if crate::prerequisites::find_on_path("catalyst", path).is_none() {
        bail!("{INSTALL_HINT}");
    }
    if !seed_exists(&plan.seed) {
        bail!(
            "release `{}`: the seed stage {} is missing (catalyst looks for that path or `<path>.tar.*`): put a stage3 \
             there, e.g. the latest official one from https://distfiles.gentoo.org/releases/",
            plan.release,
            plan.seed
        );
    }
    if let Some(dir) = &plan.portage_confdir {
        if !dir.is_dir() {
            bail!("release `{}`: portage_confdir {dir} is not a folder", plan.release);
        }
    }
    Ok(())
}

/// Whether catalyst finds the seed: the path itself, or one `<path>.<ext>` that is not a
/// `.DIGESTS`, `.CONTENTS(.gz)` or `.sha256` file (catalyst/support.py `file_check`).
fn seed_exists(seed: &Utf8Path) -> bool {
    if seed.is_file() {
        return true;
    }
    let (Some(dir), Some(name)) = (seed.parent(), seed.file_name()) else { return false };
    let Ok(entries) = dir.read_dir_utf8() else { return false };
    let prefix = format!("{name}.");
    entries.flatten().any(|entry| {
        let file = entry.file_name();
        file.starts_with(&prefix)
            && ![".DIGESTS", ".CONTENTS", ".CONTENTS.gz", ".sha256"].iter().any(|s| file.ends_with(s))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalyst::plan;
    use crate::settings::Settings;
    use image_defs::releases::AMD64_HARDENED;

    /// Records every argv and returns scripted exit codes, writing a few lines to the step's log as
    /// catalyst would.
    struct Scripted {
        workspace: Utf8PathBuf,
        codes: Vec<Option<i32>>,
        ran: Vec<Vec<String>>,
    }

    impl CatalystRunner for Scripted {
        fn run(&mut self, argv: &[String], log: &Utf8Path) -> Result<Option<i32>> {
            self.ran.push(argv.to_vec());
            let lines: String = (1..=30).map(|n| format!("{} line {n}\n", argv.last().unwrap())).collect();
            std::fs::write(self.workspace.join(log), lines)?;
            Ok(self.codes.get(self.ran.len() - 1).copied().unwrap_or(Some(0)))
        }
    }

    fn run(snapshot_exists: bool, codes: Vec<Option<i32>>) -> (Scripted, Result<()>, String) {
        let dir = tempfile::tempdir().unwrap();
        let workspace = Utf8Path::from_path(dir.path()).unwrap().to_owned();
        let settings = Settings::defaults("/var/cache".into());
        let plan = plan(&AMD64_HARDENED, &settings, &workspace, snapshot_exists).unwrap();
        let mut runner = Scripted { workspace: workspace.clone(), codes, ran: Vec::new() };
        let mut out = Vec::new();
        let result = run_steps(&plan, &workspace, &mut runner, &mut out);
        let logs = workspace.join("target/buildah-gentoo/logs");
        let written = std::fs::read_dir(&logs).map(|entries| entries.count()).unwrap_or(0);
        assert_eq!(written, runner.ran.len(), "one log per step that ran, in {logs}");
        (runner, result, String::from_utf8(out).unwrap())
    }

    fn last_args(runner: &Scripted) -> Vec<String> {
        runner.ran.iter().map(|argv| argv[argv.len() - 2..].join(" ")).collect()
    }

    #[test]
    fn runs_snapshot_then_stages_in_order() {
        let (runner, result, out) = run(false, vec![]);
        result.unwrap();
        assert_eq!(
            last_args(&runner),
            [
                "-s da31ee840e7887feb345ce81fb714853c2fc940c",
                "-f target/buildah-gentoo/catalyst/amd64-hardened/stage1.spec",
                "-f target/buildah-gentoo/catalyst/amd64-hardened/stage2.spec",
                "-f target/buildah-gentoo/catalyst/amd64-hardened/stage3.spec",
            ]
        );
        assert!(
            runner
                .ran
                .iter()
                .all(|argv| argv[..3]
                    == ["catalyst", "-c", "target/buildah-gentoo/catalyst/amd64-hardened/catalyst.conf"])
        );
        assert!(out.contains("[4/4] amd64-hardened stage3: done in "), "{out}");
    }

    #[test]
    fn skips_the_snapshot_when_it_exists() {
        let (runner, result, _) = run(true, vec![]);
        result.unwrap();
        assert_eq!(runner.ran.len(), 3);
        assert!(runner.ran.iter().all(|argv| argv[3] == "-f"));
    }

    #[test]
    fn a_failing_stage_stops_the_rest_and_names_stage_and_log() {
        let (runner, result, out) = run(true, vec![Some(0), Some(2), Some(0)]);
        assert_eq!(runner.ran.len(), 2, "stage3 must not run after stage2 failed");
        let error = result.unwrap_err();
        let failure = error.downcast_ref::<StepFailure>().expect("a StepFailure");
        assert_eq!(failure.step, "stage2");
        assert_eq!(failure.how, "exited with status 2");
        assert_eq!(failure.log, "target/buildah-gentoo/logs/catalyst+amd64-hardened+stage2.log");
        assert_eq!(failure.tail.lines().count(), TAIL_LINES);
        assert!(failure.tail.ends_with("stage2.spec line 30"), "{}", failure.tail);
        let text = error.to_string();
        assert!(
            text.starts_with(
                "catalyst stage2 of release `amd64-hardened` exited with status 2\n  command: catalyst -c "
            ),
            "{text}"
        );
        assert!(text.contains("\n  log: target/buildah-gentoo/logs/catalyst+amd64-hardened+stage2.log\n"), "{text}");
        assert!(out.contains("[2/3] amd64-hardened stage2: FAILED after"), "{out}");
        assert!(!out.contains("stage3: running"), "{out}");
    }

    #[test]
    fn a_failing_snapshot_stops_before_any_stage() {
        let (runner, result, _) = run(false, vec![None]);
        assert_eq!(runner.ran.len(), 1);
        let error = result.unwrap_err();
        let failure = error.downcast_ref::<StepFailure>().unwrap();
        assert_eq!((failure.step.as_str(), failure.how.as_str()), ("snapshot", "was killed by a signal"));
    }

    #[test]
    fn preflight_names_what_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let root = Utf8Path::from_path(dir.path()).unwrap();
        let bin = root.join("bin");
        std::fs::create_dir(&bin).unwrap();
        let mut settings = Settings::defaults("/var/cache".into());
        settings.catalyst_storedir = root.join("store");
        let plan = plan(&AMD64_HARDENED, &settings, root, true).unwrap();

        let error = preflight(&plan, bin.as_os_str()).unwrap_err().to_string();
        assert!(error.contains("emerge dev-util/catalyst"), "{error}");

        // An executable `catalyst` (the check only looks, it never runs it).
        use std::os::unix::fs::PermissionsExt;
        std::fs::write(bin.join("catalyst"), "").unwrap();
        std::fs::set_permissions(bin.join("catalyst"), std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(crate::prerequisites::find_on_path("catalyst", bin.as_os_str()), Some(bin.join("catalyst")));
        let error = preflight(&plan, bin.as_os_str()).unwrap_err().to_string();
        assert!(error.contains("the seed stage") && error.contains("stage3-amd64-hardened-openrc-latest"), "{error}");

        let seeds = plan.seed.parent().unwrap();
        std::fs::create_dir_all(seeds).unwrap();
        std::fs::write(format!("{}.tar.xz.DIGESTS", plan.seed), "").unwrap();
        assert!(preflight(&plan, bin.as_os_str()).is_err(), "a DIGESTS file is not a seed");
        std::fs::write(format!("{}.tar.xz", plan.seed), "").unwrap();
        preflight(&plan, bin.as_os_str()).unwrap();
    }
}
