//! The executor: the only code that spawns buildah and skopeo. A command gathers its inputs once
//! ([`inputs::gather`]), plans once ([`prepare`]), and the executor runs that plan step by step: the
//! images in dependency order (up to `jobs` at once), skipping those whose input hash is unchanged,
//! logging each image to its own file and leaving nothing behind when a build fails or is interrupted.

pub mod binpkg_cache;
pub mod builder_image;
pub mod catalyst;
pub mod ci_job;
pub mod clean;
pub mod image_file;
pub mod inputs;
pub mod interrupt;
pub mod progress;
pub mod push;
pub mod remote;
pub mod remote_check;
pub mod rig_root;
pub mod root_import;
pub mod runner;
mod schedule;
pub mod source_date;
pub mod status;
pub mod storage;
pub mod summary;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use camino::{Utf8Path, Utf8PathBuf};
use image_defs::{Image, Registry, Root};
use xshell::Shell;

pub use runner::{StepFailure, StepRunner};
pub use summary::{ImageResult, Outcome, Packages, Summary};

use progress::{ImageWatch, ProgressDisplay};

use crate::plan::step::{IMAGE, INPUTS, SIZE, SIZE_BEFORE};
use crate::plan::{self, file_stem, ImageIndex, ImagePlan, Plan, PlanInputs, Status};
use crate::settings::Settings;

/// What to build and how.
pub struct BuildRequest {
    /// Images in build order.
    pub images: Vec<&'static dyn Image>,
    pub force: bool,
    pub jobs: usize,
    pub keep_failed: bool,
    pub keep_going: bool,
    /// Print why each image is built (or up to date) before building (`build --explain`).
    pub explain: bool,
    /// Where progress and the summary go.
    pub output: Output,
    /// No live progress of the images (`--quiet`): only the lines of their start and end.
    pub quiet: bool,
}

/// Where a build reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// Progress and the summary table on standard output.
    Human,
    /// The JSON summary on standard output, everything else on standard error (`build --json`).
    Json,
    /// Everything on standard error: the caller prints its own result (`ci job`).
    Stderr,
}

/// A command's plan and the inputs it was made from.
pub struct Prepared<'a> {
    pub inputs: PlanInputs<'a>,
    pub plan: Plan,
}

/// Gathers the inputs of `images` once, plans them once and writes their build contexts: what
/// `plan`, `build --dry-run` and `build` all do first. With `ensure_rig_root` (a build), the rig root
/// is made first when an image needs it and storage lacks it: it is the machine's stand-in for a
/// stage3, not an image of the plan.
pub fn prepare<'a>(
    sh: &Shell,
    workspace: &'a Utf8Path,
    settings: &'a Settings,
    registry: &'a Registry,
    images: &'a [&'static dyn Image],
    force: bool,
    ensure_rig_root: bool,
) -> Result<Prepared<'a>> {
    let request = inputs::Request { workspace, settings, registry, images, force };
    let gathering = inputs::start(sh, &request)?;
    // Drafting needs no storage: the images are drafted while buildah lists it.
    let drafts = plan::drafts(images, &gathering.inputs);
    let mut inputs = gathering.finish()?;
    // Only an image that starts on the rig root (as parent or builder) needs it: one further down
    // starts on its parent, which storage has (a CI job pulls only that).
    let on_rig = |image: &&'static dyn Image| {
        [Some(registry.parent_of(*image)), registry.builder_of(*image)]
            .contains(&Some(image_defs::registry::ResolvedParent::Root(Root::Rig)))
    };
    if ensure_rig_root && images.iter().any(on_rig) {
        let id = rig_root::ensure(sh, workspace, settings, &inputs.storage)?;
        inputs.storage.insert(inputs.rig_root.clone(), id);
    }
    let plan = plan::plan_drafted(images, drafts, &inputs)?;
    // An image up to date runs nothing: its build context stays as the build that made it left it.
    for image in plan.roots.iter().chain(&plan.images).filter(|image| image.status == Status::Build) {
        crate::build_context::write(workspace, image)?;
    }
    Ok(Prepared { inputs, plan })
}

/// Everything a build run shares between its images.
pub struct Executor<'a> {
    pub workspace: &'a Utf8Path,
    pub settings: &'a Settings,
    pub registry: &'a Registry,
}

/// One image's run: what it builds from and reports to.
struct ImageRun<'r> {
    plan: &'r ImagePlan,
    /// `[n/total]` of the progress lines.
    number: usize,
    total: usize,
    log: Utf8PathBuf,
}

impl Executor<'_> {
    fn log_dir(&self) -> Utf8PathBuf {
        self.workspace.join(&self.settings.work_dir).join("logs")
    }

    /// Builds the requested images: prepares the plan, then runs it.
    pub fn build(&self, sh: &Shell, request: &BuildRequest) -> Result<Summary> {
        interrupt::install();
        let started = Instant::now();
        let prepared = prepare(sh, self.workspace, self.settings, self.registry, &request.images, request.force, true)?;
        if request.explain {
            for image in status::of_plan(sh, &prepared.plan, &prepared.inputs.storage)? {
                say(request, &image.line());
            }
        }
        self.prepare_caches()?;
        self.run_plan(sh, request, &prepared, started)
    }

    /// Runs a prepared plan: set-up, the roots to import, the images, tear-down; then the summary.
    fn run_plan(&self, sh: &Shell, request: &BuildRequest, prepared: &Prepared, started: Instant) -> Result<Summary> {
        let Prepared { inputs, plan } = prepared;
        // Set-up shared by every image (the revision, mounting a repository image), undone at the end;
        // none when every image is up to date already (a no-op build spawns one `buildah images`).
        let nothing_runs =
            plan.roots.is_empty() && plan.images.iter().all(|image| matches!(image.status, Status::UpToDate { .. }));
        let (setup_steps, teardown_steps) =
            if nothing_runs { (&[][..], &[][..]) } else { (&plan.setup[..], &plan.teardown[..]) };
        let mut setup = StepRunner::new(sh, self.workspace, self.log_dir().join("setup.log"))?;
        if let Err(failure) = setup.run_all(setup_steps) {
            setup.clean_up(false);
            bail!("set-up failed at `{}`: {}; log {}", failure.command, failure.reason, setup.log_path());
        }
        // What the set-up assigns (the revision, where repository images are mounted) every image uses.
        let shared_vars: Vec<(plan::Var, String)> = setup_steps
            .iter()
            .filter_map(|step| step.command().assign)
            .filter_map(|var| setup.var(var).map(|value| (var, value.to_owned())))
            .collect();
        let index = Mutex::new(inputs.storage.clone());
        let display = ProgressDisplay::start(request.output.stream(), request.quiet);
        let result = self.import_roots(sh, &plan.roots, &index).and_then(|()| {
            let log_dir = self.log_dir();
            schedule::run(&plan.images, request, self.registry, &log_dir, &display, &|run: ImageRun| {
                self.build_one(run, request, &index, &shared_vars, &display)
            })
        });
        drop(display);
        if let Err(failure) = setup.run_all(teardown_steps) {
            eprintln!("warning: tear-down failed at `{}`: {}", failure.command, failure.reason);
        }
        setup.clean_up(false);
        let mut summary = result?;
        summary.seconds = started.elapsed().as_secs_f64();
        let path = self.log_dir().join("summary.json");
        std::fs::write(&path, summary.to_json()).with_context(|| format!("writing {path}"))?;
        match request.output {
            Output::Human => print!("{}", summary.table()),
            Output::Json => {
                println!("{}", summary.to_json());
                eprint!("{}", summary.table());
            }
            Output::Stderr => eprint!("{}", summary.table()),
        }
        let done: Vec<&str> = summary
            .images
            .iter()
            .filter(|image| matches!(image.outcome, Outcome::Built { .. } | Outcome::UpToDate { .. }))
            .map(|image| image.name.as_str())
            .collect();
        let built = summary.images.iter().any(|image| matches!(image.outcome, Outcome::Built { .. }));
        let list = crate::package_list::path(&self.log_dir());
        // Nothing built, and the list is there: it says what it said (the SBOMs did not change).
        if !done.is_empty() && (built || !list.exists()) {
            match crate::package_list::write(&self.log_dir(), &done) {
                Ok(path) => say(request, &format!("packages of each image: {path}")),
                Err(error) => eprintln!("warning: {error:#}"),
            }
        }
        Ok(summary)
    }

    /// Imports the stage3 tarballs the plan needs (those storage lacked).
    fn import_roots(&self, sh: &Shell, roots: &[ImagePlan], index: &Mutex<ImageIndex>) -> Result<()> {
        if !roots.is_empty() {
            crate::prerequisites::ensure(sh, crate::prerequisites::IMPORT_TOOLS)?;
        }
        for root in roots {
            let id = root_import::run(sh, self.workspace, self.settings, root)?;
            let mut index = index.lock().unwrap();
            for tag in &root.tags {
                index.insert(tag.resolve(&Default::default())?, id.clone());
            }
        }
        Ok(())
    }

    /// Binary packages of the build's folder (`key`, as its run assigned it) that portage renamed
    /// `*._checksum_failure_*` since `since`.
    fn checksum_failures(&self, key: Option<&str>, since: std::time::SystemTime) -> Vec<Utf8PathBuf> {
        let Some(key) = key else { return Vec::new() };
        renamed_since(self.settings.cache_dir.join("binpkgs").join(key), true, since)
    }

    /// Distfiles portage refused since `since`: a fetched file whose size or digests differ from its
    /// Manifest's is renamed `*._checksum_failure_*` in the distfiles folder (a flat folder).
    fn distfile_failures(&self, since: std::time::SystemTime) -> Vec<Utf8PathBuf> {
        renamed_since(self.settings.cache_dir.join("distfiles"), false, since)
    }

    /// The distfiles folder must exist to be mounted (a step of each build makes its binary package
    /// folders, see [`binpkg_cache`]).
    fn prepare_caches(&self) -> Result<()> {
        let folder = self.settings.cache_dir.join("distfiles");
        std::fs::create_dir_all(&folder).with_context(|| format!("creating the cache folder {folder}"))
    }

    fn build_one(
        &self,
        run: ImageRun,
        request: &BuildRequest,
        index: &Mutex<ImageIndex>,
        shared_vars: &[(plan::Var, String)],
        display: &ProgressDisplay,
    ) -> (Outcome, Duration, Packages) {
        let clock = Instant::now();
        let ImageRun { plan, number, total, .. } = run;
        let watch = display.watch(number, total, &plan.name);
        let progress = |text: &str| watch.say(text);
        // A shell per worker: xshell's Shell is not shared between threads.
        let result = Shell::new().map_err(anyhow::Error::from).and_then(|sh| {
            sh.change_dir(self.workspace);
            self.try_build_one(&sh, &run, request, index, shared_vars, &watch)
        });
        let packages = watch.finish();
        let elapsed = clock.elapsed();
        let outcome = match result {
            Ok(outcome) => {
                match &outcome {
                    Outcome::Built { .. } => progress(&format!("built in {:.1}s", elapsed.as_secs_f64())),
                    Outcome::UpToDate { .. } => progress(&format!("up to date ({:.1}s)", elapsed.as_secs_f64())),
                    _ => {}
                }
                outcome
            }
            Err(error) => {
                let mut message = format!(
                    "FAILED after {:.1}s\n    {}",
                    elapsed.as_secs_f64(),
                    format!("{error:#}").replace('\n', "\n    ")
                );
                message.push_str(&format!("\n    log: {}", run.log));
                let (package_logs, checksum_failures, distfile_failures) = match error.downcast_ref::<FailedBuild>() {
                    Some(failed) => (
                        failed.package_logs.clone(),
                        failed.checksum_failures.clone(),
                        failed.distfile_failures.clone(),
                    ),
                    None => Default::default(),
                };
                for log in &package_logs {
                    message.push_str(&format!("\n    {} failed; its build log: {}", log.package, log.build_log));
                    if let Some(environment) = &log.environment {
                        message.push_str(&format!(" (environment: {environment})"));
                    }
                }
                for file in &checksum_failures {
                    message.push_str(&format!(
                        "\n    the binary package {} failed its checksum (portage renamed it {}): rebuild it \
                         (remove the renamed file; the next build compiles the package again)",
                        checksum_failed_package(file),
                        file
                    ));
                }
                for file in &distfile_failures {
                    message.push_str(&format!(
                        "\n    the distfile {} does not match its Manifest (portage renamed it {}): where it was \
                         fetched from (a mirror, or upstream) serves another file than the repository names",
                        refused_distfile(file),
                        file
                    ));
                }
                progress(&message);
                Outcome::Failed { error: format!("{error:#}"), package_logs, checksum_failures, distfile_failures }
            }
        };
        (outcome, elapsed, packages)
    }

    fn try_build_one(
        &self,
        sh: &Shell,
        run: &ImageRun,
        request: &BuildRequest,
        index: &Mutex<ImageIndex>,
        shared_vars: &[(plan::Var, String)],
        watch: &ImageWatch,
    ) -> Result<Outcome> {
        let plan = run.plan;
        if let Status::UpToDate { id } = &plan.status {
            let hash = plan.input_hash.clone().unwrap_or_default();
            return Ok(Outcome::UpToDate { id: id.clone(), input_hash: hash });
        }
        for (reference, role) in &plan.needs {
            if index.lock().unwrap().id(reference).is_none() {
                bail!("its {role} image {reference} is not in local storage: build it first (or drop --no-deps)");
            }
        }
        let mut runner = StepRunner::new(sh, self.workspace, run.log.clone())?;
        runner.env("BUILDAH_ISOLATION", self.settings.isolation.as_str());
        runner.existing_images(index.lock().unwrap().ids());
        for (var, value) in shared_vars {
            runner.set_var(*var, value.clone());
        }
        runner.note(&format!("# image `{}`", plan.name));
        let build_started = std::time::SystemTime::now();
        let fail = |runner: &mut StepRunner, failure: StepFailure| -> anyhow::Error {
            // Before the clean-up removes the containers: portage's log of what failed.
            let package_logs = if failure.kind == "run" {
                runner.rescue_package_logs(&self.log_dir(), &file_stem(&plan.name))
            } else {
                Vec::new()
            };
            let (checksum_failures, distfile_failures) = if failure.kind == "run" && failure.command.contains("emerge")
            {
                let key = runner.var(plan::binpkg_cache::BINPKG_KEY);
                (self.checksum_failures(key, build_started), self.distfile_failures(build_started))
            } else {
                Default::default()
            };
            let kept = runner.clean_up(request.keep_failed);
            let mut message = format!(
                "step {} ({}) failed: {}\n$ {}\nlast lines of the log:\n{}",
                failure.index + 1,
                failure.kind,
                failure.reason,
                failure.command,
                indent(&runner.log_tail(15))
            );
            let entries: Vec<plan::clean::LedgerEntry> = kept
                .iter()
                .map(|container| plan::clean::LedgerEntry {
                    namespace: self.settings.namespace.trim_end_matches('/').to_owned(),
                    image: None,
                    container: Some(container.clone()),
                })
                .collect();
            if let Err(error) = clean::record(self.workspace, self.settings, &entries) {
                runner.note(&format!("warning: {error:#}"));
            }
            for container in kept {
                message.push_str(&format!("\nkept the working container {container} (--keep-failed)"));
            }
            anyhow::Error::new(FailedBuild { message, package_logs, checksum_failures, distfile_failures })
        };
        if let Err(failure) = runner.run_all(&plan.prelude) {
            return Err(fail(&mut runner, failure));
        }
        let hash = runner.var(INPUTS).unwrap_or_default().to_owned();
        if !request.force {
            let index = index.lock().unwrap();
            let latest = index.id(&format!("{}:latest", plan.repository));
            if let Some(id) = latest.filter(|id| Some(*id) == index.id(&plan::inputs_tag(&plan.repository, &hash))) {
                return Ok(Outcome::UpToDate { id: id.to_owned(), input_hash: hash });
            }
        }
        watch.say(&format!("building (log {})", run.log));
        watch.show();
        runner.on_output(|line| watch.line(line));
        if let Err(failure) = runner.run_all(&plan.steps) {
            return Err(fail(&mut runner, failure));
        }
        let id = runner.var(IMAGE).unwrap_or_default().to_owned();
        let tags: Vec<String> = plan.tags.iter().map(|tag| runner.resolve(tag)).collect::<Result<_>>()?;
        {
            let mut index = index.lock().unwrap();
            for step in &plan.steps {
                if let plan::Step::UntagStale { reference, .. } = step {
                    if !tags.contains(reference) {
                        index.remove(reference);
                    }
                }
            }
            for tag in &tags {
                index.insert(tag.clone(), id.clone());
            }
        }
        let entry = plan::clean::LedgerEntry {
            namespace: self.settings.namespace.trim_end_matches('/').to_owned(),
            image: Some(id.trim_start_matches("sha256:").to_owned()),
            container: None,
        };
        if let Err(error) = clean::record(self.workspace, self.settings, &[entry]) {
            runner.note(&format!("warning: {error:#}"));
        }
        let size = |var| runner.var(var).and_then(parse_du);
        Ok(Outcome::Built { id, input_hash: hash, tags, size: size(SIZE), size_before: size(SIZE_BEFORE) })
    }
}

/// Files of `folder` (and its subfolders, with `recursive`) that portage renamed
/// `*._checksum_failure_*` since `since` (a rename changes the file's ctime), sorted.
fn renamed_since(folder: Utf8PathBuf, recursive: bool, since: std::time::SystemTime) -> Vec<Utf8PathBuf> {
    use std::os::unix::fs::MetadataExt;
    let since = since.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    let mut found = Vec::new();
    let mut folders = vec![folder];
    while let Some(folder) = folders.pop() {
        let Ok(entries) = folder.read_dir_utf8() else { continue };
        for entry in entries.flatten() {
            let Ok(metadata) = entry.metadata() else { continue };
            if metadata.is_dir() {
                if recursive {
                    folders.push(entry.path().to_owned());
                }
            } else if entry.file_name().contains("._checksum_failure_") && metadata.ctime() >= since {
                found.push(entry.path().to_owned());
            }
        }
    }
    found.sort();
    found
}

/// `rigsay-1.0.tar.gz` from `.../distfiles/rigsay-1.0.tar.gz._checksum_failure_.h9fmdb54`.
fn refused_distfile(file: &Utf8Path) -> &str {
    let name = file.file_name().unwrap_or_default();
    name.split("._checksum_failure_").next().unwrap_or(name)
}

/// An image's build that failed at a step, with what was saved of it.
#[derive(Debug)]
struct FailedBuild {
    message: String,
    package_logs: Vec<runner::PackageLog>,
    checksum_failures: Vec<Utf8PathBuf>,
    distfile_failures: Vec<Utf8PathBuf>,
}

impl std::fmt::Display for FailedBuild {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for FailedBuild {}

/// `app-misc/broken-1` from `.../app-misc/broken/broken-1-1.gpkg.tar._checksum_failure_.abc` (or
/// `.../app-misc/broken-1.tbz2._checksum_failure_...`); the file name when the path says less.
fn checksum_failed_package(file: &Utf8Path) -> String {
    let name = file.file_name().unwrap_or_default();
    let package = name.split("._checksum_failure_").next().unwrap_or(name);
    let package = package.trim_end_matches(".gpkg.tar").trim_end_matches(".tbz2").trim_end_matches(".xpak");
    let mut parts = file.iter().rev().skip(1);
    let category = match file.parent().and_then(|dir| dir.file_name()) {
        // gpkg layout: CAT/PN/PF-BUILDID.gpkg.tar
        Some(pn) if package.starts_with(pn) => parts.nth(1),
        _ => parts.next(),
    };
    // A gpkg's name ends with its build id (`-1`).
    let pf = match package.rsplit_once('-') {
        Some((pf, build_id)) if build_id.chars().all(|c| c.is_ascii_digit()) && pf.contains('-') => pf,
        _ => package,
    };
    match category {
        Some(category) => format!("{category}/{pf}"),
        None => pf.to_owned(),
    }
}

impl Output {
    /// Where progress lines go: standard output, or standard error when standard output carries a
    /// result.
    fn stream(self) -> progress::Stream {
        match self {
            Output::Human => progress::Stream::Stdout,
            Output::Json | Output::Stderr => progress::Stream::Stderr,
        }
    }
}

/// A line of the build outside any image's run (no live lines are shown then).
fn say(request: &BuildRequest, line: &str) {
    if request.output == Output::Human {
        println!("{line}");
    } else {
        eprintln!("{line}");
    }
}

/// The log file of an image.
fn log_path(log_dir: &Utf8Path, name: &str) -> Utf8PathBuf {
    log_dir.join(format!("{}.log", file_stem(name)))
}

/// Bytes from `du -sb` output (`12345\t/`).
fn parse_du(output: &str) -> Option<u64> {
    output.split_whitespace().next()?.parse().ok()
}

/// `275.1 MB` (decimal units, as buildah prints sizes).
pub fn human_size(bytes: u64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < units.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", units[unit])
    }
}

fn indent(text: &str) -> String {
    text.lines().map(|line| format!("  | {line}")).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checksum_failure_names_its_package() {
        let gpkg = Utf8Path::new("/c/binpkgs/rig/app-misc/broken/broken-1-1.gpkg.tar._checksum_failure_.x1y2");
        assert_eq!(checksum_failed_package(gpkg), "app-misc/broken-1");
        let tbz2 = Utf8Path::new("/c/binpkgs/rig/app-misc/broken-1.tbz2._checksum_failure_.x1y2");
        assert_eq!(checksum_failed_package(tbz2), "app-misc/broken-1");
        let distfile = Utf8Path::new("/c/distfiles/rigsay-1.0.tar.gz._checksum_failure_.h9fmdb54");
        assert_eq!(refused_distfile(distfile), "rigsay-1.0.tar.gz");
    }
}
