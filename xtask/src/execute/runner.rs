//! The one runner of every plan's steps (a build's, a push's, a catalyst release's): argv by argv,
//! every command and its output written to one log (and, when watched, handed line by line to the
//! watcher as it comes: the progress display), interrupts honoured, registry commands tried
//! again on passing failures, and what the steps created tracked, so a failure or an interrupt
//! leaves no working container and no untagged image behind. Processes start through a [`Spawn`]:
//! for real, or scripted in tests of an orchestration whose tool cannot run here (catalyst).

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use camino::{Utf8Path, Utf8PathBuf};
use xshell::Shell;

use super::interrupt;
use crate::plan::step::{Effect, InProcess, PlanStep, Retry};
use crate::plan::{Command, Form, Var, Word};

/// How many times a registry command is tried before the step fails.
pub const TRIES: usize = 4;
/// The wait before the 2nd, 3rd and 4th try.
pub const BACKOFF: [Duration; TRIES - 1] = [Duration::from_secs(1), Duration::from_secs(2), Duration::from_secs(4)];

/// What a finished process gave: its exit code (`None` when a signal killed it) and, when captured,
/// its standard output.
pub struct Spawned {
    pub code: Option<i32>,
    pub stdout: String,
}

/// Starts one process and waits for it.
pub trait Spawn {
    /// Runs `argv` with `env` added; stderr (and stdout unless `capture`) goes to `log`.
    fn spawn(&mut self, argv: &[String], env: &[(String, String)], log: &File, capture: bool) -> Result<Spawned>;
}

impl<T: Spawn + ?Sized> Spawn for &mut T {
    fn spawn(&mut self, argv: &[String], env: &[(String, String)], log: &File, capture: bool) -> Result<Spawned> {
        (**self).spawn(argv, env, log, capture)
    }
}

/// Spawns real processes (from the shell's folder), each tracked so Ctrl-C reaches it.
pub struct ProcessSpawn<'a>(pub &'a Shell);

impl Spawn for ProcessSpawn<'_> {
    fn spawn(&mut self, argv: &[String], env: &[(String, String)], log: &File, capture: bool) -> Result<Spawned> {
        let mut command: std::process::Command = self.0.cmd(&argv[0]).args(&argv[1..]).into();
        command.envs(env.iter().map(|(key, value)| (key, value)));
        command.stdin(Stdio::null()).stderr(Stdio::from(log.try_clone()?));
        command.stdout(if capture { Stdio::piped() } else { Stdio::from(log.try_clone()?) });
        let mut child = command.spawn().with_context(|| format!("starting `{}`", argv[0]))?;
        let _tracked = interrupt::track(child.id());
        let mut stdout = String::new();
        if let Some(mut pipe) = child.stdout.take() {
            pipe.read_to_string(&mut stdout)?;
        }
        Ok(Spawned { code: child.wait()?.code(), stdout })
    }
}

/// Runs steps for one image (or one push, one catalyst stage, a plan's set-up), logging to one file.
pub struct StepRunner<'a> {
    spawner: Box<dyn Spawn + 'a>,
    log_path: Utf8PathBuf,
    log: File,
    vars: BTreeMap<Var, String>,
    /// Containers created by `from` and not removed yet.
    containers: Vec<(Var, String)>,
    /// An image committed but not tagged yet.
    untagged_image: Option<String>,
    /// Images that existed before this run (a reproducible commit may give one of their ids): a
    /// clean-up never removes them.
    existing_images: BTreeSet<String>,
    env: Vec<(String, String)>,
    /// Told when a registry command is tried again.
    on_retry: Option<RetryReport<'a>>,
    /// Told every line the processes write to the log, as it comes.
    on_output: Option<OutputWatch<'a>>,
}

/// Told each line of output (without its line ending), on a thread of its own.
type OutputWatch<'a> = Box<dyn FnMut(&str) + Send + 'a>;

/// Told when a step is tried again.
type RetryReport<'a> = Box<dyn Fn(&str) + 'a>;

/// Why a step failed.
#[derive(Debug)]
pub struct StepFailure {
    pub index: usize,
    pub kind: &'static str,
    pub command: String,
    pub reason: String,
    /// How many times it was tried (1 unless it is a registry command that failed for a passing reason).
    pub tries: usize,
    /// What the tool said last: the line of its output carrying its error.
    pub said: String,
}

impl<'a> StepRunner<'a> {
    /// A runner of real processes logging to `log_path` (truncated). `workspace` is the value of
    /// `$PWD` in the plan.
    pub fn new(sh: &'a Shell, workspace: &Utf8Path, log_path: Utf8PathBuf) -> Result<StepRunner<'a>> {
        StepRunner::with_spawner(Box::new(ProcessSpawn(sh)), workspace, log_path)
    }

    /// A runner whose processes start through `spawner`.
    pub fn with_spawner(
        spawner: Box<dyn Spawn + 'a>,
        workspace: &Utf8Path,
        log_path: Utf8PathBuf,
    ) -> Result<StepRunner<'a>> {
        if let Some(dir) = log_path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating the log folder {dir}"))?;
        }
        let log = File::create(&log_path).with_context(|| format!("creating the log {log_path}"))?;
        let mut vars = BTreeMap::new();
        vars.insert(crate::plan::step::WORKSPACE, workspace.to_string());
        vars.insert(crate::plan::step::RUN, std::process::id().to_string());
        Ok(StepRunner {
            spawner,
            log_path,
            log,
            vars,
            containers: Vec::new(),
            untagged_image: None,
            existing_images: BTreeSet::new(),
            env: Vec::new(),
            on_retry: None,
            on_output: None,
        })
    }

    /// Images a clean-up must leave alone, whatever a commit returns.
    pub fn existing_images(&mut self, ids: impl IntoIterator<Item = String>) {
        self.existing_images.extend(ids);
    }

    /// Told (`try 2 of 4 in 1s ...`) whenever a registry command is tried again.
    pub fn on_retry(&mut self, report: impl Fn(&str) + 'a) {
        self.on_retry = Some(Box::new(report));
    }

    /// Told every line the commands write (standard output and error, as the log gets them) while
    /// they run: their output then reaches the log through a pipe this runner reads.
    pub fn on_output(&mut self, watch: impl FnMut(&str) + Send + 'a) {
        self.on_output = Some(Box::new(watch));
    }

    /// Starts one process through the spawner and waits for it. With an [`StepRunner::on_output`]
    /// watch, the process writes to a pipe; a thread copies what comes to the log as it comes and
    /// hands the watch each line.
    fn spawn(&mut self, argv: &[String], capture: bool) -> Result<Spawned> {
        let StepRunner { spawner, log, env, on_output, .. } = self;
        let Some(watch) = on_output.as_mut() else { return spawner.spawn(argv, env, log, capture) };
        let (reader, writer) = std::io::pipe().context("making a pipe for the output")?;
        let writer = File::from(std::os::fd::OwnedFd::from(writer));
        let mut copy_to = log.try_clone().context("sharing the log")?;
        std::thread::scope(|scope| {
            let copier = scope.spawn(move || copy_lines(reader, &mut copy_to, watch));
            let spawned = spawner.spawn(argv, env, &writer, capture);
            // The last writer closed: the copier reads to the end of the output, then stops.
            drop(writer);
            let copied = copier.join().expect("the output copier does not panic");
            let spawned = spawned?;
            copied.context("copying the output to the log")?;
            Ok(spawned)
        })
    }

    /// A word's value with the variables known so far.
    pub fn resolve(&self, word: &Word) -> Result<String> {
        Ok(word.resolve(&self.vars)?)
    }

    /// Sets an environment variable for every command (e.g. `BUILDAH_ISOLATION`).
    pub fn env(&mut self, key: &str, value: &str) {
        self.env.push((key.to_owned(), value.to_owned()));
    }

    /// Makes a variable known, e.g. one assigned by the plan's set-up.
    pub fn set_var(&mut self, var: Var, value: String) {
        self.vars.insert(var, value);
    }

    pub fn var(&self, var: Var) -> Option<&str> {
        self.vars.get(&var).map(String::as_str)
    }

    pub fn log_path(&self) -> &Utf8Path {
        &self.log_path
    }

    /// Writes a line to the log.
    pub fn note(&mut self, line: &str) {
        let _ = writeln!(self.log, "{line}");
    }

    /// Runs the steps in order; stops at the first failure (or at an interrupt).
    pub fn run_all<S: PlanStep>(&mut self, steps: &[S]) -> Result<(), StepFailure> {
        for (index, step) in steps.iter().enumerate() {
            self.run(index, step)?;
        }
        Ok(())
    }

    /// Runs a host command that is not a step of a plan (debootstrap for the rig root), logged like
    /// one; an error unless it exits 0. Returns its trimmed standard output when it assigns one.
    pub fn run_host(&mut self, command: &Command) -> Result<String> {
        let spawned = self.query(command)?;
        match spawned.code {
            Some(0) => Ok(spawned.stdout.trim().to_owned()),
            code => bail!("`{}` {}", command.to_shell(), exit_text(code)),
        }
    }

    /// Runs a short query (`git log -1`, `rdsquashfs -c FILE`), logged; its exit code and output.
    pub fn query(&mut self, command: &Command) -> Result<Spawned> {
        if interrupt::requested() {
            bail!("interrupted");
        }
        let argv: Vec<String> = command.argv.iter().map(|word| word.resolve(&self.vars)).collect::<Result<_, _>>()?;
        self.note(&format!("$ {}", command.to_shell()));
        let spawned = self.spawn(&argv, command.assign.is_some())?;
        if command.assign.is_some() {
            let _ = writeln!(self.log, "{}", spawned.stdout.trim_end());
        }
        Ok(spawned)
    }

    fn run<S: PlanStep>(&mut self, index: usize, step: &S) -> Result<(), StepFailure> {
        let command = step.command();
        let shell = command.to_shell();
        let fail = |reason: String| StepFailure {
            index,
            kind: step.kind(),
            command: shell.clone(),
            said: reason.clone(),
            reason,
            tries: 1,
        };
        if interrupt::requested() {
            return Err(fail("interrupted".into()));
        }
        let resolve = |word: &Word, vars: &BTreeMap<Var, String>| word.resolve(vars).map_err(|e| fail(e.to_string()));
        let argv: Vec<String> =
            command.argv.iter().map(|word| resolve(word, &self.vars)).collect::<Result<_, StepFailure>>()?;
        self.note(&format!("$ {shell}"));
        match (&command.form, step.in_process()) {
            (Form::Value, _) => {
                let var = command.assign.expect("a value is assigned");
                self.vars.insert(var, argv[0].clone());
                return Ok(());
            }
            (Form::UnlessEqualTolerant(a, b), _) => {
                if resolve(a, &self.vars)? != resolve(b, &self.vars)? {
                    match self.spawn(&argv, false) {
                        Ok(Spawned { code: Some(0), .. }) => {}
                        Ok(Spawned { code, .. }) => {
                            self.note(&format!("warning: {} (the run goes on)", exit_text(code)))
                        }
                        Err(error) => self.note(&format!("warning: {error:#} (the run goes on)")),
                    }
                }
                return Ok(());
            }
            (Form::Run, Some(InProcess::Sbom { root, image, created, inputs, output })) => {
                // What `cargo xtask sbom --from-root` does, without a nested cargo.
                let root = resolve(root, &self.vars)?;
                let inputs = inputs.map(|word| resolve(word, &self.vars)).transpose()?;
                let output = Utf8Path::new(&self.vars[&crate::plan::step::WORKSPACE]).join(output);
                let info = crate::sbom::DocumentInfo { image, created, inputs: inputs.as_deref() };
                return crate::sbom::write(Utf8Path::new(&root), info, &output).map_err(|e| fail(format!("{e:#}")));
            }
            (Form::Run, Some(InProcess::InputHash { partial, base, builder, into })) => {
                // What `cargo xtask inputs` prints, without a nested cargo.
                let base = resolve(base, &self.vars)?;
                let builder = builder.map(|word| resolve(word, &self.vars)).transpose()?;
                let hash = crate::plan::input_hash::combine(partial, &base, builder.as_deref());
                self.note(&hash);
                self.vars.insert(into, hash);
                return Ok(());
            }
            (Form::Run, Some(InProcess::BinpkgFolder { cache_dir, root_key, flags, parent, into })) => {
                // What `cargo xtask binpkg-folder` prints, without a nested cargo.
                let flags = resolve(&Word::var(flags), &self.vars)?;
                let parent = match parent {
                    Some((reference, var)) => Some((reference, resolve(&Word::var(var), &self.vars)?)),
                    None => None,
                };
                let parent = parent.as_ref().map(|(reference, labels)| (*reference, labels.as_str()));
                let key = super::binpkg_cache::ensure_folder(Utf8Path::new(cache_dir), root_key, &flags, parent)
                    .map_err(|e| fail(format!("{e:#}")))?;
                self.note(&key);
                self.vars.insert(into, key);
                return Ok(());
            }
            (Form::Run, None) => {}
        }
        if let Effect::CreatesContainer(into, name) = step.effect() {
            // Known before it exists: an interrupted `from` may still have created it.
            let name = resolve(&name, &self.vars)?;
            self.containers.push((into, name));
        }
        let capture = command.assign.is_some();
        let output = self.spawn_with_retries(&argv, capture, step.retry()).map_err(|(error, tries)| {
            let mut failure = fail(error.reason);
            failure.said = error.said;
            failure.tries = tries;
            failure
        })?;

        // Bookkeeping of what exists now, so clean-up knows what to remove.
        match step.effect() {
            Effect::Commits(container) => {
                self.containers.retain(|(var, _)| *var != container);
                self.untagged_image = Some(output.clone());
            }
            Effect::RemovesContainer(container) => self.containers.retain(|(var, _)| *var != container),
            Effect::Tags => self.untagged_image = None,
            Effect::CreatesContainer(..) | Effect::None => {}
        }
        if let Some(var) = command.assign {
            if output.is_empty() && !step.may_assign_empty() {
                return Err(fail(format!("`{}` printed nothing to assign to ${}", argv[0], var.0)));
            }
            self.vars.insert(var, output);
        }
        Ok(())
    }

    /// Runs argv; a registry command that fails for a passing reason is tried again, up to [`TRIES`]
    /// times, after the [`BACKOFF`] waits. Returns the trimmed stdout (when captured); a failure
    /// comes with how many times it was tried.
    fn spawn_with_retries(
        &mut self,
        argv: &[String],
        capture: bool,
        retry: Retry,
    ) -> Result<String, (SpawnError, usize)> {
        let mut tries = 0;
        loop {
            tries += 1;
            let start = self.log.stream_position().unwrap_or(0);
            let error = match self.spawn(argv, capture) {
                Ok(Spawned { code: Some(0), stdout }) => {
                    if capture {
                        let _ = writeln!(self.log, "{}", stdout.trim_end());
                    }
                    return Ok(stdout.trim().to_owned());
                }
                Ok(Spawned { code, .. }) => format!("`{}` {}", argv[0], exit_text(code)),
                Err(error) => format!("{error:#}"),
            };
            let output = read_from(&self.log_path, start);
            let said = last_error_line(&output).unwrap_or_else(|| error.clone());
            // Only an error exit is read: a command that could not start or was killed is not retried.
            let transient = match retry {
                Retry::Registry if error.contains("exited with status") => {
                    super::push::transient_reason(&said).or_else(|| super::push::transient_reason(&output))
                }
                Retry::BuildahRun if error.contains("exited with status") => buildah_run_flake(&output),
                _ => None,
            };
            if let Some(why) = transient {
                if tries < TRIES && !interrupt::requested() {
                    let delay = BACKOFF[tries - 1];
                    let text = format!("{why}; retrying in {}s (try {} of {TRIES})", delay.as_secs(), tries + 1);
                    self.note(&format!("# {text}"));
                    if let Some(report) = &self.on_retry {
                        report(&text);
                    }
                    if sleep_unless_interrupted(delay) {
                        continue;
                    }
                }
            }
            return Err((SpawnError { reason: error, said }, tries));
        }
    }

    /// Removes what the steps created and did not hand over: working containers (unless
    /// `keep_containers`, then their names are returned) and an untagged image.
    pub fn clean_up(&mut self, keep_containers: bool) -> Vec<String> {
        let mut kept = Vec::new();
        for (_, container) in std::mem::take(&mut self.containers) {
            if keep_containers {
                kept.push(container);
            } else {
                self.quietly(&["buildah", "rm", &container]);
            }
        }
        if let Some(image) = self.untagged_image.take() {
            if self.existing_images.contains(image.trim_start_matches("sha256:")) {
                self.note(&format!("# {image} existed before this build (same inputs, same image): kept"));
            } else {
                self.quietly(&["buildah", "rmi", &image]);
            }
        }
        kept
    }

    /// Copies portage's own log (`build.log`) and `environment` of the packages that failed out of
    /// the containers still alive (the working container, or a minimal image's builder) into
    /// `log_dir`, as `<stem>.<cat>+<pf>.build.log` and `.environment`, before a clean-up removes
    /// them. Done with `buildah mount` and `buildah umount` (logged), leaving each container as it
    /// was. A package emerge named as failed in the log (`>>> Failed to emerge ...`, `ERROR: ...
    /// failed`) is preferred; without such a line, every package whose build folder is left.
    pub fn rescue_package_logs(&mut self, log_dir: &Utf8Path, stem: &str) -> Vec<PackageLog> {
        let failed = failed_packages(&std::fs::read_to_string(&self.log_path).unwrap_or_default());
        let mut rescued = Vec::new();
        let containers: Vec<String> = self.containers.iter().map(|(_, name)| name.clone()).collect();
        for container in containers {
            let mount = Command::new(["buildah", "mount", container.as_str()]).assigning(Var("mnt"));
            let root = match self.query(&mount) {
                Ok(Spawned { code: Some(0), stdout }) => Utf8PathBuf::from(stdout.trim()),
                _ => continue,
            };
            let found = package_build_logs(&root.join("var/tmp/portage"));
            let wanted: Vec<&(String, Utf8PathBuf)> = if failed.is_empty() {
                found.iter().collect()
            } else {
                found.iter().filter(|(package, _)| failed.contains(package)).collect()
            };
            for (package, temp) in wanted {
                let name = format!("{stem}.{}", package.replace('/', "+"));
                let copy = |file: &str, suffix: &str| -> Option<Utf8PathBuf> {
                    let to = log_dir.join(format!("{name}.{suffix}"));
                    std::fs::copy(temp.join(file), &to).ok().map(|_| to)
                };
                let build_log = copy("build.log", "build.log");
                let environment = copy("environment", "environment");
                if let Some(build_log) = build_log {
                    self.note(&format!("# kept {package}'s build log: {build_log}"));
                    rescued.push(PackageLog { package: package.clone(), build_log, environment });
                }
            }
            let _ = self.query(&Command::new(["buildah", "umount", container.as_str()]));
        }
        rescued
    }

    /// A clean-up command: logged, its failure only noted.
    fn quietly(&mut self, argv: &[&str]) {
        self.note(&format!("$ {} (clean-up)", argv.join(" ")));
        let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
        match self.spawn(&argv, false) {
            Ok(Spawned { code: Some(0), .. }) => {}
            Ok(Spawned { code, .. }) => self.note(&format!("clean-up failed: {}", exit_text(code))),
            Err(error) => self.note(&format!("clean-up failed: {error:#}")),
        }
    }

    /// The last `count` lines of the log.
    pub fn log_tail(&self, count: usize) -> String {
        log_tail(&self.log_path, count)
    }
}

/// Copies `from` to `log` as it comes, handing `watch` each line (a partial last line too, at the end).
/// It reads to the end whatever happens (a log that cannot be written, a watch that panics), so the
/// process writing never blocks on a full pipe; the first write error is returned then.
fn copy_lines(mut from: impl Read, log: &mut File, watch: &mut (dyn FnMut(&str) + Send)) -> std::io::Result<()> {
    let mut buffer = [0u8; 8192];
    let mut pending: Vec<u8> = Vec::new();
    let mut written = Ok(());
    let mut watching = true;
    let mut tell = |bytes: &[u8], watching: &mut bool| {
        for line in String::from_utf8_lossy(bytes).lines() {
            let told = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| watch(line)));
            if told.is_err() {
                *watching = false;
                break;
            }
        }
    };
    loop {
        let read = match from.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => return written.and(Err(error)),
        };
        if written.is_ok() {
            written = log.write_all(&buffer[..read]);
        }
        if !watching {
            continue;
        }
        pending.extend_from_slice(&buffer[..read]);
        if let Some(end) = pending.iter().rposition(|byte| *byte == b'\n') {
            let complete: Vec<u8> = pending.drain(..=end).collect();
            tell(&complete, &mut watching);
        }
    }
    if watching && !pending.is_empty() {
        tell(&pending, &mut watching);
    }
    written
}

/// Portage's log of a package that failed, copied out of its container.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PackageLog {
    /// `CATEGORY/PF`.
    pub package: String,
    pub build_log: Utf8PathBuf,
    pub environment: Option<Utf8PathBuf>,
}

/// The packages emerge's output names as failed: `>>> Failed to emerge CAT/PF` and
/// `ERROR: CAT/PF::REPO failed (PHASE phase):`.
pub fn failed_packages(output: &str) -> BTreeSet<String> {
    let mut packages = BTreeSet::new();
    for line in output.lines() {
        let line = line.trim_start_matches([' ', '*']).trim();
        let package = if let Some(rest) = line.strip_prefix(">>> Failed to emerge ") {
            rest.split([',', ' ']).next()
        } else if let Some(rest) = line.strip_prefix("ERROR: ") {
            rest.split_once("::").filter(|(_, tail)| tail.contains(" failed")).map(|(package, _)| package)
        } else {
            None
        };
        if let Some(package) = package.filter(|package| package.contains('/') && !package.contains(' ')) {
            packages.insert(package.to_owned());
        }
    }
    packages
}

/// `CAT/PF` → its `temp` folder, for every `<portage tmp>/CAT/PF/temp/build.log` there is.
fn package_build_logs(portage_tmp: &Utf8Path) -> Vec<(String, Utf8PathBuf)> {
    let mut found = Vec::new();
    let dirs = |dir: &Utf8Path| -> Vec<(String, Utf8PathBuf)> {
        let Ok(entries) = dir.read_dir_utf8() else { return Vec::new() };
        let mut dirs: Vec<(String, Utf8PathBuf)> = entries
            .flatten()
            .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_dir()))
            .map(|entry| (entry.file_name().to_owned(), entry.path().to_owned()))
            .collect();
        dirs.sort();
        dirs
    };
    for (category, category_dir) in dirs(portage_tmp) {
        for (pf, package_dir) in dirs(&category_dir) {
            let temp = package_dir.join("temp");
            if temp.join("build.log").is_file() {
                found.push((format!("{category}/{pf}"), temp));
            }
        }
    }
    found
}

/// A failed spawn: why, and the tool's own error line.
struct SpawnError {
    reason: String,
    said: String,
}

/// `exited with status 2` or `was killed by a signal`.
fn exit_text(code: Option<i32>) -> String {
    match code {
        Some(code) => format!("exited with status {code}"),
        None => "was killed by a signal".to_owned(),
    }
}

/// Sleeps, waking early on Ctrl-C; false when interrupted.
fn sleep_unless_interrupted(delay: Duration) -> bool {
    let step = Duration::from_millis(100);
    let mut slept = Duration::ZERO;
    while slept < delay {
        if interrupt::requested() {
            return false;
        }
        std::thread::sleep(step);
        slept += step;
    }
    !interrupt::requested()
}

/// The log from byte `start` on (what the last command wrote).
fn read_from(path: &Utf8Path, start: u64) -> String {
    let mut text = String::new();
    if let Ok(mut file) = File::open(path) {
        if file.seek(SeekFrom::Start(start)).is_ok() {
            let mut bytes = Vec::new();
            let _ = file.read_to_end(&mut bytes);
            text = String::from_utf8_lossy(&bytes).into_owned();
        }
    }
    text
}

/// The line carrying the tool's final error: buildah's `Error: ...`, skopeo's `level=fatal msg=...`.
pub fn last_error_line(output: &str) -> Option<String> {
    let lines = output.lines().map(str::trim).filter(|line| !line.is_empty() && !line.starts_with("$ "));
    let lines: Vec<&str> = lines.collect();
    lines
        .iter()
        .rev()
        .find(|line| line.starts_with("Error") || line.contains("level=fatal") || line.contains("level=error"))
        .or(lines.last())
        .map(|line| line.to_string())
}

/// The last `count` lines of a log file (empty when it cannot be read).
pub fn log_tail(path: &Utf8Path, count: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(count)..].join("\n")
}

/// Why a failed `buildah run` may run again: buildah failed before the command started (see
/// [`Retry::BuildahRun`]).
fn buildah_run_flake(output: &str) -> Option<&'static str> {
    output
        .contains("sealing memfd copy")
        .then_some("buildah failed before the command started (memfd copy busy, a buildah 1.28 flake)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_packages_come_from_emerges_own_lines() {
        let output = "\
>>> Emerging (2 of 2) app-misc/broken-1::rig
 * ERROR: app-misc/broken-1::rig failed (compile phase):
 *   deliberate build failure
>>> Failed to emerge app-misc/broken-1, Log file:
>>>  '/var/tmp/portage/app-misc/broken-1/temp/build.log'
 * ERROR: something else went wrong
";
        assert_eq!(failed_packages(output).into_iter().collect::<Vec<_>>(), ["app-misc/broken-1"]);
        assert!(failed_packages(">>> Emerging (1 of 1) app-misc/alpha-1::rig\n").is_empty());
    }

    /// Writes `lines` to the log it is given, in pieces that split lines, then exits 0.
    struct Chatty(&'static [&'static str]);

    impl Spawn for Chatty {
        fn spawn(&mut self, _: &[String], _: &[(String, String)], mut log: &File, _: bool) -> Result<Spawned> {
            let text = self.0.join("\n");
            let (first, second) = text.split_at(text.len() / 2);
            log.write_all(first.as_bytes())?;
            log.flush()?;
            log.write_all(second.as_bytes())?; // no line ending at the end
            Ok(Spawned { code: Some(0), stdout: String::new() })
        }
    }

    fn run_step(argv: &[&str]) -> crate::plan::Step {
        crate::plan::Step::Run {
            container: crate::plan::step::CONTAINER,
            isolation: crate::settings::Isolation::Chroot,
            mounts: vec![],
            env: vec![],
            argv: argv.iter().map(|word| word.to_string()).collect(),
        }
    }

    #[test]
    fn a_watch_is_told_every_line_the_log_gets_as_it_gets_it() {
        let dir = tempfile::tempdir().unwrap();
        let dir = Utf8Path::from_path(dir.path()).unwrap();
        let lines =
            &[">>> Emerging (1 of 2) dev-util/buildtool-1::gentoo", "compiling", ">>> Completed (1 of 2) x/y-1"];
        let seen = std::sync::Mutex::new(Vec::new());
        {
            let mut runner = StepRunner::with_spawner(Box::new(Chatty(lines)), dir, dir.join("log")).unwrap();
            runner.set_var(crate::plan::step::CONTAINER, "ctr".into());
            runner.on_output(|line| seen.lock().unwrap().push(line.to_owned()));
            runner.run_all(&[run_step(&["emerge"])]).unwrap();
            runner.note("# after");
        }
        assert_eq!(*seen.lock().unwrap(), lines, "each line once, the last one without its line ending too");
        let log = std::fs::read_to_string(dir.join("log")).unwrap();
        assert_eq!(
            log,
            format!("$ buildah run --isolation chroot \"${{ctr}}\" -- emerge\n{}# after\n", lines.join("\n"))
        );
    }

    #[test]
    fn a_real_process_output_reaches_the_watch_and_the_log_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let dir = Utf8Path::from_path(dir.path()).unwrap();
        let sh = Shell::new().unwrap();
        let seen = std::sync::Mutex::new(Vec::new());
        let mut runner = StepRunner::new(&sh, dir, dir.join("log")).unwrap();
        runner.on_output(|line| seen.lock().unwrap().push(line.to_owned()));
        let script = "echo '>>> Emerging binary (1 of 1) a/b-1::rig'; echo oops >&2; printf 'no end'";
        let said = runner.run_host(&Command::new(["sh", "-c", script])).unwrap();
        assert_eq!(said, "");
        assert_eq!(*seen.lock().unwrap(), [">>> Emerging binary (1 of 1) a/b-1::rig", "oops", "no end"]);
        let log = std::fs::read_to_string(dir.join("log")).unwrap();
        assert!(log.ends_with(">>> Emerging binary (1 of 1) a/b-1::rig\noops\nno end"), "{log}");
        // Captured output is the value, not the log's.
        let value =
            runner.run_host(&Command::new(["sh", "-c", "echo value; echo said >&2"]).assigning(Var("v"))).unwrap();
        assert_eq!(value, "value");
        let seen = seen.lock().unwrap();
        assert_eq!(seen.last().map(String::as_str), Some("said"), "standard error is watched, the assigned value not");
    }

    #[test]
    fn a_watch_that_panics_does_not_stop_the_output_reaching_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let dir = Utf8Path::from_path(dir.path()).unwrap();
        let sh = Shell::new().unwrap();
        let mut runner = StepRunner::new(&sh, dir, dir.join("log")).unwrap();
        runner.on_output(|_| panic!("a watch that fails"));
        // More than a pipe holds: the process would block if nobody read on.
        runner.run_host(&Command::new(["sh", "-c", "yes line | head -c 300000"])).unwrap();
        let log = std::fs::read_to_string(dir.join("log")).unwrap();
        assert_eq!(log.matches("line\n").count(), 60000, "every line reached the log");
    }

    /// A stand-in for buildah: the first `failures` runs fail with `said`, the others succeed.
    struct Flaky {
        said: &'static str,
        failures: usize,
        runs: std::rc::Rc<std::cell::Cell<usize>>,
    }

    impl Spawn for Flaky {
        fn spawn(&mut self, _: &[String], _: &[(String, String)], mut log: &File, _: bool) -> Result<Spawned> {
            let run = self.runs.get() + 1;
            self.runs.set(run);
            if run <= self.failures {
                writeln!(log, "{}\nError: exit status 1", self.said)?;
                return Ok(Spawned { code: Some(1), stdout: String::new() });
            }
            Ok(Spawned { code: Some(0), stdout: String::new() })
        }
    }

    #[test]
    fn a_buildah_run_that_failed_before_its_command_runs_again_other_failures_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let dir = Utf8Path::from_path(dir.path()).unwrap();
        let step = crate::plan::Step::Run {
            container: crate::plan::step::CONTAINER,
            isolation: crate::settings::Isolation::Chroot,
            mounts: vec![],
            env: vec![],
            argv: vec!["true".into()],
        };
        let runner = |said, failures, runs: &std::rc::Rc<std::cell::Cell<usize>>| {
            let flaky = Flaky { said, failures, runs: runs.clone() };
            let mut runner = StepRunner::with_spawner(Box::new(flaky), dir, dir.join("log")).unwrap();
            runner.set_var(crate::plan::step::CONTAINER, "ctr".into());
            runner
        };
        let runs = std::rc::Rc::new(std::cell::Cell::new(0));
        let flake = "Close_Fd sealing memfd copy: Device or resource busy";
        runner(flake, 1, &runs).run_all(std::slice::from_ref(&step)).unwrap();
        assert_eq!(runs.get(), 2, "tried again after the memfd flake");

        let runs = std::rc::Rc::new(std::cell::Cell::new(0));
        let failure = runner("emerge: there are no ebuilds to satisfy \"x\"", 1, &runs).run_all(&[step]).unwrap_err();
        assert_eq!((runs.get(), failure.kind), (1, "run"), "a real failure is not tried again");
    }
}
