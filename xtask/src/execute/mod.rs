//! The executor: the only code that spawns buildah. It builds images in dependency order (up to
//! `jobs` at once), skips those whose input hash is unchanged, logs each image to its own file and
//! leaves nothing behind when a build fails or is interrupted.

pub mod catalyst;
mod fingerprint;
pub mod image_file;
pub mod interrupt;
pub mod push;
pub mod root_import;
mod runner;
mod storage;

use std::collections::{BTreeMap, HashMap};
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use camino::{Utf8Path, Utf8PathBuf};
use image_defs::registry::ResolvedParent;
use image_defs::{Image, Registry, Root};
use xshell::Shell;

pub use fingerprint::{hex, tree_hash};
pub use runner::{StepFailure, StepRunner};
pub use storage::ImageIndex;

use crate::plan::{self, file_stem, PlanInputs, RIG_REPOSITORY};
use crate::settings::{RepositorySource, Settings};
use fingerprint::FingerprintInputs;

/// What to build and how.
pub struct BuildRequest {
    /// Images in build order.
    pub images: Vec<&'static dyn Image>,
    pub force: bool,
    pub jobs: usize,
    pub keep_failed: bool,
    pub keep_going: bool,
}

/// How one image's build ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Built {
        id: String,
        /// Bytes of the root filesystem at the end of the build.
        size: Option<u64>,
        /// Bytes before depclean and the cleanups, when the image has them.
        size_before: Option<u64>,
    },
    UpToDate {
        id: String,
    },
    Failed {
        log: Utf8PathBuf,
    },
    /// Not built because a parent failed, or the run stopped at a failure or an interrupt.
    Skipped {
        why: String,
    },
}

impl Outcome {
    fn word(&self) -> &'static str {
        match self {
            Outcome::Built { .. } => "built",
            Outcome::UpToDate { .. } => "up to date",
            Outcome::Failed { .. } => "FAILED",
            Outcome::Skipped { .. } => "skipped",
        }
    }
}

/// The result of a build run.
pub struct Summary {
    pub results: Vec<(String, Outcome, Duration)>,
    pub interrupted: bool,
}

impl Summary {
    pub fn succeeded(&self) -> bool {
        !self.interrupted
            && self.results.iter().all(|(_, o, _)| matches!(o, Outcome::Built { .. } | Outcome::UpToDate { .. }))
    }

    /// The table printed at the end.
    pub fn table(&self, elapsed: Duration) -> String {
        let width = self.results.iter().map(|(name, _, _)| name.len()).max().unwrap_or(5).max(5);
        let mut out = format!("\n{:width$}  {:10}  {:>8}  details\n", "image", "result", "time");
        for (name, outcome, time) in &self.results {
            let details = match outcome {
                Outcome::Built { id, size, size_before } => {
                    let mut details = format!("id {}", &id[..12.min(id.len())]);
                    if let Some(size) = size {
                        details.push_str(&format!(", {}", human_size(*size)));
                    }
                    if let Some(before) = size_before {
                        details.push_str(&format!(" (before finalize {})", human_size(*before)));
                    }
                    details
                }
                Outcome::UpToDate { id } => format!("id {}", &id[..12.min(id.len())]),
                Outcome::Failed { log } => format!("log {log}"),
                Outcome::Skipped { why } => why.clone(),
            };
            out.push_str(&format!("{name:width$}  {:10}  {:>7.1}s  {details}\n", outcome.word(), time.as_secs_f64()));
        }
        let count = |word: &str| self.results.iter().filter(|(_, o, _)| o.word() == word).count();
        out.push_str(&format!(
            "{} built, {} up to date, {} failed, {} skipped in {:.1}s{}\n",
            count("built"),
            count("up to date"),
            count("FAILED"),
            count("skipped"),
            elapsed.as_secs_f64(),
            if self.interrupted { " (interrupted)" } else { "" }
        ));
        out
    }
}

/// Everything a build run shares between its images.
pub struct Executor<'a> {
    pub workspace: &'a Utf8Path,
    pub settings: &'a Settings,
    pub registry: &'a Registry,
    pub date_tag: String,
    pub rig_root: String,
    /// The tarball roots of the images to build, resolved ([`root_import::resolve_all`]).
    pub tarballs: BTreeMap<String, plan::TarballImport>,
    /// SOURCE_DATE_EPOCH of rig images and of the others.
    pub source_dates: crate::source_date::SourceDates,
}

impl Executor<'_> {
    fn log_dir(&self) -> Utf8PathBuf {
        self.workspace.join(&self.settings.work_dir).join("logs")
    }

    fn plan_inputs(&self) -> PlanInputs<'_> {
        PlanInputs {
            registry: self.registry,
            settings: self.settings,
            date_tag: self.date_tag.clone(),
            rig_root: self.rig_root.clone(),
            run_id: std::process::id().to_string(),
            packages: Default::default(),
            tarballs: self.tarballs.clone(),
            source_dates: self.source_dates,
        }
    }

    /// Builds the requested images.
    pub fn build(&self, sh: &Shell, request: &BuildRequest) -> Result<Summary> {
        interrupt::install();
        let started = Instant::now();
        self.prepare_caches(&request.images)?;
        let inputs = self.plan_inputs();
        let whole = plan::plan(&request.images, &inputs)?;

        // Set-up shared by every image (mounting a repository image), undone at the end.
        let mut setup = StepRunner::new(sh, self.workspace, self.log_dir().join("setup.log"))?;
        if let Err(failure) = setup.run_all(&whole.setup) {
            setup.clean_up(false);
            bail!("set-up failed at `{}`: {}; log {}", failure.command, failure.reason, setup.log_path());
        }
        let shared_vars: Vec<(plan::Var, String)> = [plan::step::REPOSITORY_MOUNT, plan::step::REVISION]
            .into_iter()
            .filter_map(|var| setup.var(var).map(|value| (var, value.to_owned())))
            .collect();

        let mut index = ImageIndex::load(sh)?;
        if request.images.iter().any(|image| self.registry.root_of(*image) == Root::Rig) {
            let id = crate::rig::ensure_root(sh, self.workspace, self.settings, &index)?;
            index.insert(self.rig_root.clone(), id);
        }
        let run_id = std::process::id().to_string();
        for tarball in self.tarballs.values() {
            root_import::ensure(sh, self.workspace, self.settings, &mut index, tarball, &run_id)?;
        }
        let index = Mutex::new(index);
        let repository_ids = self.repository_identities(&index.lock().unwrap())?;
        let result = self.schedule(request, &index, &shared_vars, &repository_ids);

        if let Err(failure) = setup.run_all(&whole.teardown) {
            eprintln!("warning: tear-down failed at `{}`: {}", failure.command, failure.reason);
        }
        setup.clean_up(false);
        let summary = result?;
        print!("{}", summary.table(started.elapsed()));
        let done: Vec<&str> = summary
            .results
            .iter()
            .filter(|(_, outcome, _)| matches!(outcome, Outcome::Built { .. } | Outcome::UpToDate { .. }))
            .map(|(name, _, _)| name.as_str())
            .collect();
        if !done.is_empty() {
            match crate::package_list::write(&self.log_dir(), &done) {
                Ok(path) => println!("packages of each image: {path}"),
                Err(error) => eprintln!("warning: {error:#}"),
            }
        }
        Ok(summary)
    }

    /// The binary package and distfiles folders must exist to be mounted.
    fn prepare_caches(&self, images: &[&'static dyn Image]) -> Result<()> {
        let mut folders = vec![self.settings.cache_dir.join("distfiles")];
        for image in images {
            let key = plan::binpkg_key(self.registry.root_of(*image));
            folders.push(self.settings.cache_dir.join("binpkgs").join(&key));
            if !self.settings.binhosts.is_empty() {
                folders.push(self.settings.cache_dir.join("binhost").join(&key));
            }
        }
        for folder in folders {
            std::fs::create_dir_all(&folder).with_context(|| format!("creating the cache folder {folder}"))?;
        }
        Ok(())
    }

    /// The repository's identity for each root kind in use: the rig repository's content hash, the
    /// host folder's sync timestamp, or the repository image's id.
    fn repository_identities(&self, index: &ImageIndex) -> Result<HashMap<bool, String>> {
        let mut identities = HashMap::new();
        identities.insert(true, format!("rig {}", tree_hash(&self.workspace.join(RIG_REPOSITORY))?));
        let other = match &self.settings.repository {
            RepositorySource::Folder(path) => {
                let stamp = ["metadata/timestamp.chk", "metadata/timestamp.commit", "metadata/timestamp"]
                    .iter()
                    .find_map(|file| std::fs::read_to_string(path.join(file)).ok())
                    .unwrap_or_default();
                format!("folder {path} {}", stamp.trim())
            }
            RepositorySource::Image(reference) => {
                format!("image {reference} {}", index.id(reference).unwrap_or("not pulled"))
            }
        };
        identities.insert(false, other);
        Ok(identities)
    }

    fn schedule(
        &self,
        request: &BuildRequest,
        index: &Mutex<ImageIndex>,
        shared_vars: &[(plan::Var, String)],
        repository_ids: &HashMap<bool, String>,
    ) -> Result<Summary> {
        let names: Vec<&str> = request.images.iter().map(|image| image.name()).collect();
        let position: HashMap<&str, usize> = names.iter().enumerate().map(|(i, name)| (*name, i)).collect();
        // The dependencies (parent, builder) of each requested image that are requested too.
        let dependencies: Vec<Vec<usize>> = request
            .images
            .iter()
            .map(|image| {
                self.registry
                    .dependencies(*image)
                    .iter()
                    .filter_map(|dependency| position.get(dependency.name()).copied())
                    .collect()
            })
            .collect();
        let total = names.len();
        let mut outcomes: Vec<Option<(Outcome, Duration)>> = vec![None; total];
        let mut running = 0usize;
        let mut stop = false;
        let jobs = request.jobs.max(1);

        std::thread::scope(|scope| {
            let (sender, receiver) = mpsc::channel::<(usize, Outcome, Duration)>();
            let mut started = vec![false; total];
            loop {
                // Mark the dependants of failed or skipped images.
                for i in 0..total {
                    if outcomes[i].is_none() && !started[i] {
                        for &dependency in &dependencies[i] {
                            if let Some((Outcome::Failed { .. } | Outcome::Skipped { .. }, _)) = &outcomes[dependency] {
                                let role = if self.registry.parent_image(request.images[i]).map(|p| p.name())
                                    == Some(names[dependency])
                                {
                                    "parent"
                                } else {
                                    "builder"
                                };
                                let why = format!("{role} `{}` did not build", names[dependency]);
                                println!("==> {}: skipped: {why}", names[i]);
                                outcomes[i] = Some((Outcome::Skipped { why }, Duration::ZERO));
                                break;
                            }
                        }
                    }
                }
                if interrupt::requested() {
                    stop = true;
                }
                // Start what is ready.
                for i in 0..total {
                    if running >= jobs || stop {
                        break;
                    }
                    let ready = !started[i]
                        && outcomes[i].is_none()
                        && dependencies[i].iter().all(|&d| {
                            matches!(outcomes[d], Some((Outcome::Built { .. } | Outcome::UpToDate { .. }, _)))
                        });
                    if ready {
                        started[i] = true;
                        running += 1;
                        let sender = sender.clone();
                        let image = request.images[i];
                        let number = i + 1;
                        scope.spawn(move || {
                            let clock = Instant::now();
                            let outcome =
                                self.build_one(image, request, index, shared_vars, repository_ids, number, total);
                            let _ = sender.send((i, outcome, clock.elapsed()));
                        });
                    }
                }
                if running == 0 {
                    break;
                }
                let (i, outcome, elapsed) = receiver.recv().expect("a worker reports");
                running -= 1;
                if matches!(outcome, Outcome::Failed { .. }) && !request.keep_going {
                    stop = true;
                }
                outcomes[i] = Some((outcome, elapsed));
            }
        });

        let interrupted = interrupt::requested();
        let results = names
            .iter()
            .zip(outcomes)
            .map(|(name, outcome)| {
                let (outcome, time) = outcome.unwrap_or_else(|| {
                    let why = if interrupted { "interrupted" } else { "stopped after a failure (see --keep-going)" };
                    (Outcome::Skipped { why: why.into() }, Duration::ZERO)
                });
                (name.to_string(), outcome, time)
            })
            .collect();
        Ok(Summary { results, interrupted })
    }

    #[allow(clippy::too_many_arguments)]
    fn build_one(
        &self,
        image: &'static dyn Image,
        request: &BuildRequest,
        index: &Mutex<ImageIndex>,
        shared_vars: &[(plan::Var, String)],
        repository_ids: &HashMap<bool, String>,
        number: usize,
        total: usize,
    ) -> Outcome {
        let name = image.name();
        let log = self.log_dir().join(format!("{}.log", file_stem(name)));
        let clock = Instant::now();
        let progress = |text: &str| println!("==> [{number}/{total}] {name}: {text}");
        // A shell per worker: xshell's Shell is not shared between threads.
        let result = Shell::new().map_err(anyhow::Error::from).and_then(|sh| {
            sh.change_dir(self.workspace);
            self.try_build_one(&sh, image, request, index, shared_vars, repository_ids, &log, &progress)
        });
        match result {
            Ok(outcome) => {
                let elapsed = clock.elapsed().as_secs_f64();
                match &outcome {
                    Outcome::Built { .. } => progress(&format!("built in {elapsed:.1}s")),
                    Outcome::UpToDate { .. } => progress(&format!("up to date ({elapsed:.1}s)")),
                    _ => {}
                }
                outcome
            }
            Err(error) => {
                let elapsed = clock.elapsed().as_secs_f64();
                let mut message =
                    format!("FAILED after {elapsed:.1}s\n    {}", format!("{error:#}").replace('\n', "\n    "));
                message.push_str(&format!("\n    log: {log}"));
                progress(&message);
                Outcome::Failed { log }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn try_build_one(
        &self,
        sh: &Shell,
        image: &'static dyn Image,
        request: &BuildRequest,
        index: &Mutex<ImageIndex>,
        shared_vars: &[(plan::Var, String)],
        repository_ids: &HashMap<bool, String>,
        log: &Utf8Path,
        progress: &dyn Fn(&str),
    ) -> Result<Outcome> {
        let name = image.name();
        // The input hash is taken from a draft planned with a fixed run id, so that container names,
        // which differ from run to run, do not change it; the plan that runs gets this run's id.
        let mut inputs = PlanInputs { run_id: "inputs".to_owned(), ..self.plan_inputs() };
        let draft = plan::plan_image(image, &inputs, None)?;
        let root = self.registry.root_of(image);
        let base_id = if draft.base == plan::SCRATCH {
            plan::SCRATCH.to_owned()
        } else {
            let what = if draft.minimal.is_some() { "minimal parent" } else { "parent" };
            self.image_id(sh, index, &draft.base, self.registry.parent_of(image), what, progress)?
        };
        let builder_id = match (&draft.minimal, self.registry.builder_of(image)) {
            (Some(minimal), Some(builder)) => {
                Some(self.image_id(sh, index, &minimal.builder, builder, "builder", progress)?)
            }
            _ => None,
        };
        let repository_id = &repository_ids[&(root == Root::Rig)];
        // The hash is taken before the minimal parent's labels are read: what the parent holds (its
        // package.provided here) is a function of its image id, which the hash covers already, so an
        // up-to-date image costs no `buildah inspect`.
        let hash = fingerprint::fingerprint(
            self.workspace,
            &draft,
            &FingerprintInputs { base_id: &base_id, builder_id: builder_id.as_deref(), repository: repository_id },
        )?;
        let latest = format!("{}:latest", draft.repository);
        let marker = plan::inputs_tag(&draft.repository, &hash);
        if !request.force {
            let index = index.lock().unwrap();
            if let (Some(latest_id), Some(marker_id)) = (index.id(&latest), index.id(&marker)) {
                if latest_id == marker_id {
                    return Ok(Outcome::UpToDate { id: latest_id.to_owned() });
                }
            }
        }
        // What the minimal parent holds, from its labels: the new root's package.provided.
        if let Some(parent) = self.registry.minimal_parent(image) {
            let labels = storage::labels(sh, &base_id)?;
            let packages = storage::recorded_packages(&labels).with_context(|| {
                format!(
                    "its minimal parent `{}` has no {} label (built by an older buildah-gentoo?): \
                     rebuild it with --force",
                    parent.name(),
                    plan::PACKAGES_LABEL
                )
            })?;
            inputs.packages.insert(parent.name().to_owned(), packages);
        }

        inputs.run_id = self.plan_inputs().run_id;
        let plan = plan::plan_image(image, &inputs, Some(&hash))?;
        crate::build_context::write(self.workspace, &plan)?;
        progress(&format!("building (log {log})"));
        let mut runner = StepRunner::new(sh, self.workspace, log.to_owned())?;
        runner.env("BUILDAH_ISOLATION", self.settings.isolation.as_str());
        for (var, value) in shared_vars {
            runner.set_var(*var, value.clone());
        }
        runner.note(&format!("# image `{name}`, input hash {hash}"));
        if let Err(failure) = runner.run_all(&plan.steps) {
            let kept = runner.clean_up(request.keep_failed);
            let mut message = format!(
                "step {} ({}) failed: {}\n$ {}\nlast lines of the log:\n{}",
                failure.index + 1,
                failure.kind,
                failure.reason,
                failure.command,
                indent(&runner.log_tail(15))
            );
            for container in kept {
                message.push_str(&format!("\nkept the working container {container} (--keep-failed)"));
            }
            bail!(message);
        }
        let id = runner.var(plan::step::IMAGE).unwrap_or_default().to_owned();
        // The image this one replaces loses its input-hash tag (it no longer matches `latest`); an image
        // left with no tag at all is removed by buildah with it.
        let stale_tags: Vec<String> = {
            let mut index = index.lock().unwrap();
            let previous = index.id(&latest).filter(|previous| *previous != id).map(str::to_owned);
            let prefix = format!("{}:{}", draft.repository, plan::INPUTS_TAG_PREFIX);
            let stale = previous
                .map(|previous| {
                    // A forced rebuild carries the same input tag: that one now marks the new image.
                    index
                        .names_of(&previous)
                        .into_iter()
                        .filter(|name| name.starts_with(&prefix) && !plan.tags.contains(name))
                        .collect()
                })
                .unwrap_or_default();
            for tag in &plan.tags {
                index.insert(tag.clone(), id.clone());
            }
            stale
        };
        for tag in stale_tags {
            runner.note(&format!("# untagging {tag}: the image it marks is no longer `latest`"));
            if let Err(error) = runner.run_host(&plan::Command::new(["buildah", "rmi", tag.as_str()])) {
                runner.note(&format!("untagging failed: {error:#}"));
            }
            index.lock().unwrap().remove(&tag);
        }
        let size = |var| runner.var(var).and_then(parse_du);
        Ok(Outcome::Built { id, size: size(plan::step::SIZE), size_before: size(plan::step::SIZE_BEFORE) })
    }
}

impl Executor<'_> {
    /// The id of a parent or builder image (`reference`, standing for `parent`), pulling a root from
    /// its registry when local storage lacks it.
    fn image_id(
        &self,
        sh: &Shell,
        index: &Mutex<ImageIndex>,
        reference: &str,
        parent: ResolvedParent,
        what: &str,
        progress: &dyn Fn(&str),
    ) -> Result<String> {
        if let Some(id) = index.lock().unwrap().id(reference) {
            return Ok(id.to_owned());
        }
        match parent {
            ResolvedParent::Image(_) => {
                bail!("its {what} image {reference} is not in local storage: build it first (or drop --no-deps)")
            }
            ResolvedParent::Root(Root::Registry(root)) => {
                progress(&format!("pulling {root}"));
                let id = xshell::cmd!(sh, "buildah pull --quiet {root}")
                    .quiet()
                    .read()
                    .with_context(|| format!("pulling the root image {root}"))?;
                index.lock().unwrap().insert(root.to_owned(), id.trim().to_owned());
                Ok(id.trim().to_owned())
            }
            ResolvedParent::Root(_) => bail!("its root image {reference} is not in local storage"),
        }
    }
}

/// What `plan` can know about built minimal images without building: for each planned minimal image
/// whose minimal parent is in local storage, the parent's recorded packages (read from its labels).
/// Best effort: without buildah, or with the parent not built, the plan shows a placeholder.
pub fn recorded_packages(
    settings: &Settings,
    registry: &Registry,
    images: &[&'static dyn Image],
) -> BTreeMap<String, Vec<String>> {
    let mut packages = BTreeMap::new();
    let Ok(sh) = Shell::new() else { return packages };
    if !crate::prerequisites::is_installed("buildah") {
        return packages;
    }
    for parent in images.iter().filter_map(|image| registry.minimal_parent(*image)) {
        let reference = format!("{}:latest", settings.repository_of(parent.name()));
        if let Some(recorded) =
            storage::labels(&sh, &reference).ok().and_then(|labels| storage::recorded_packages(&labels))
        {
            packages.insert(parent.name().to_owned(), recorded);
        }
    }
    packages
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

/// Image names in build order for a map of outcomes (for tests and tools).
pub fn outcomes_by_name(summary: &Summary) -> BTreeMap<String, Outcome> {
    summary.results.iter().map(|(name, outcome, _)| (name.clone(), outcome.clone())).collect()
}
