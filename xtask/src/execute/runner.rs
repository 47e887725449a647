//! Runs plan steps, argv by argv, writing every command and its output to the image's log. It keeps
//! track of what the steps created, so a failure or an interrupt leaves no working container and no
//! untagged image behind.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Write};
use std::process::Stdio;

use anyhow::{bail, Context, Result};
use camino::{Utf8Path, Utf8PathBuf};
use xshell::Shell;

use super::interrupt;
use crate::plan::{Form, Step, Var, Word};

/// Runs steps for one image (or the plan's set-up), logging to one file.
pub struct StepRunner<'a> {
    sh: &'a Shell,
    log_path: Utf8PathBuf,
    log: File,
    vars: BTreeMap<Var, String>,
    /// Containers created by `from` and not removed yet.
    containers: Vec<(Var, String)>,
    /// An image committed but not tagged yet.
    untagged_image: Option<String>,
    /// Images that existed before this run (a reproducible commit may give one of their ids): a
    /// clean-up never removes them.
    existing_images: std::collections::BTreeSet<String>,
    env: Vec<(String, String)>,
}

/// Why a step failed: which step, and the last lines of the log.
#[derive(Debug)]
pub struct StepFailure {
    pub index: usize,
    pub kind: &'static str,
    pub command: String,
    pub reason: String,
}

impl<'a> StepRunner<'a> {
    /// A runner logging to `log_path` (truncated). `workspace` is the value of `$PWD` in the plan.
    pub fn new(sh: &'a Shell, workspace: &Utf8Path, log_path: Utf8PathBuf) -> Result<StepRunner<'a>> {
        if let Some(dir) = log_path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating the log folder {dir}"))?;
        }
        let log = File::create(&log_path).with_context(|| format!("creating the log {log_path}"))?;
        let mut vars = BTreeMap::new();
        vars.insert(crate::plan::step::WORKSPACE, workspace.to_string());
        vars.insert(crate::plan::step::RUN, std::process::id().to_string());
        Ok(StepRunner {
            sh,
            log_path,
            log,
            vars,
            containers: Vec::new(),
            untagged_image: None,
            existing_images: Default::default(),
            env: Vec::new(),
        })
    }

    /// Images a clean-up must leave alone, whatever a commit returns.
    pub fn existing_images(&mut self, ids: impl IntoIterator<Item = String>) {
        self.existing_images.extend(ids);
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
    pub fn run_all(&mut self, steps: &[Step]) -> Result<(), StepFailure> {
        for (index, step) in steps.iter().enumerate() {
            self.run(index, step)?;
        }
        Ok(())
    }

    /// Runs a host command that is not a buildah step (e.g. debootstrap), logged like one.
    pub fn run_host(&mut self, command: &crate::plan::Command) -> Result<String> {
        if interrupt::requested() {
            bail!("interrupted");
        }
        let argv: Vec<String> = command.argv.iter().map(|word| word.resolve(&self.vars)).collect::<Result<_, _>>()?;
        self.note(&format!("$ {}", command.to_shell()));
        self.spawn(&argv, command.assign.is_some())
    }

    fn run(&mut self, index: usize, step: &Step) -> Result<(), StepFailure> {
        let command = step.command();
        let shell = command.to_shell();
        let fail = |reason: String| StepFailure { index, kind: step.kind(), command: shell.clone(), reason };
        if interrupt::requested() {
            return Err(fail("interrupted".into()));
        }
        let argv: Vec<String> = command
            .argv
            .iter()
            .map(|word| word.resolve(&self.vars))
            .collect::<Result<_, _>>()
            .map_err(|e| fail(e.to_string()))?;
        self.note(&format!("$ {shell}"));
        match (&command.form, step) {
            (Form::Value, _) => {
                let var = command.assign.expect("a value is assigned");
                self.vars.insert(var, argv[0].clone());
                return Ok(());
            }
            (Form::UnlessEqualTolerant(a, b), _) => {
                let resolve = |word: &Word| word.resolve(&self.vars).map_err(|e| fail(e.to_string()));
                if resolve(a)? != resolve(b)? {
                    if let Err(error) = self.spawn(&argv, false) {
                        self.note(&format!("warning: {error:#} (the build goes on)"));
                    }
                }
                return Ok(());
            }
            (Form::Run, Step::Sbom { root, image, created, inputs, output }) => {
                // What `cargo xtask sbom --from-root` does, without a nested cargo.
                let resolve = |word: &Word| word.resolve(&self.vars).map_err(|e| fail(e.to_string()));
                let root = resolve(root)?;
                let inputs = inputs.as_ref().map(resolve).transpose()?;
                let output = Utf8Path::new(&self.vars[&crate::plan::step::WORKSPACE]).join(output);
                let info = crate::sbom::DocumentInfo { image, created: *created, inputs: inputs.as_deref() };
                return crate::sbom::write(Utf8Path::new(&root), info, &output).map_err(|e| fail(format!("{e:#}")));
            }
            (Form::Run, Step::InputHash { partial, base, builder, into }) => {
                // What `cargo xtask inputs` prints, without a nested cargo.
                let resolve = |word: &Word| word.resolve(&self.vars).map_err(|e| fail(e.to_string()));
                let (base, builder) = (resolve(base)?, builder.as_ref().map(resolve).transpose()?);
                let hash = crate::plan::input_hash::combine(partial, &base, builder.as_deref());
                self.note(&hash);
                self.vars.insert(*into, hash);
                return Ok(());
            }
            _ => {}
        }
        if let Step::From { into, name, .. } = step {
            // Known before it exists: an interrupted `from` may still have created it.
            let name = name.resolve(&self.vars).map_err(|e| fail(e.to_string()))?;
            self.containers.push((*into, name));
        }
        let output = self.spawn(&argv, command.assign.is_some()).map_err(|e| fail(format!("{e:#}")))?;

        // Bookkeeping of what exists now, so cleanup knows what to remove.
        match step {
            Step::Commit { container, .. } => {
                self.containers.retain(|(var, _)| var != container);
                self.untagged_image = Some(output.clone());
            }
            Step::Remove { container } => self.containers.retain(|(var, _)| var != container),
            Step::Tag { .. } => self.untagged_image = None,
            _ => {}
        }
        if let Some(var) = command.assign {
            if output.is_empty() && !step.may_assign_empty() {
                return Err(fail(format!("`{}` printed nothing to assign to ${}", argv[0], var.0)));
            }
            self.vars.insert(var, output);
        }
        Ok(())
    }

    /// Runs argv; stderr (and stdout unless captured) goes to the log. Returns the trimmed stdout
    /// when `capture`.
    fn spawn(&mut self, argv: &[String], capture: bool) -> Result<String> {
        let mut command: std::process::Command = self.sh.cmd(&argv[0]).args(&argv[1..]).into();
        for (key, value) in &self.env {
            command.env(key, value);
        }
        let log_out = self.log.try_clone()?;
        let log_err = self.log.try_clone()?;
        command.stdin(Stdio::null()).stderr(Stdio::from(log_err));
        if capture {
            command.stdout(Stdio::piped());
        } else {
            command.stdout(Stdio::from(log_out));
        }
        let mut child = command.spawn().with_context(|| format!("starting `{}`", argv[0]))?;
        let _tracked = interrupt::track(child.id());
        let mut stdout = String::new();
        if let Some(mut pipe) = child.stdout.take() {
            pipe.read_to_string(&mut stdout)?;
        }
        let status = child.wait()?;
        if capture {
            let _ = writeln!(self.log, "{}", stdout.trim_end());
        }
        if !status.success() {
            let why = match status.code() {
                Some(code) => format!("exited with status {code}"),
                None => "was killed by a signal".to_owned(),
            };
            bail!("`{}` {why}", argv[0]);
        }
        Ok(stdout.trim().to_owned())
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

    /// A clean-up command: logged, its failure only noted.
    fn quietly(&mut self, argv: &[&str]) {
        self.note(&format!("$ {} (clean-up)", argv.join(" ")));
        let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
        if let Err(error) = self.spawn(&argv, false) {
            self.note(&format!("clean-up failed: {error:#}"));
        }
    }

    /// The last `count` lines of the log.
    pub fn log_tail(&self, count: usize) -> String {
        log_tail(&self.log_path, count)
    }
}

/// The last `count` lines of a log file (empty when it cannot be read).
pub fn log_tail(path: &Utf8Path, count: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(count)..].join("\n")
}
