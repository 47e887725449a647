//! One image's CI job, on a machine with nothing but the checkout, the registry and the binhost:
//!
//! 1. its input hash, from the registry: each image it is built on (parent, builder, all the way up)
//!    has its id asked by its input-hash tag (`skopeo inspect`, no layer moves); roots are read where
//!    they are (local storage), else asked for (a registry root's config; a tarball root or the rig
//!    root under its content tag, where their jobs put them);
//! 2. when the registry has `<image>:inputs-<hash>`, the job is done: `up to date (registry)`;
//! 3. otherwise the parent and builder are pulled by their input-hash tags and named in local storage
//!    as a local build would name them, the image is built (`build --no-deps`), pushed (content, then
//!    tags) and its new binary packages published to the binhost.

use std::collections::BTreeMap;

use anyhow::{bail, Context as _, Result};
use camino::Utf8Path;
use image_defs::registry::ResolvedParent;
use image_defs::{Image, Registry, Root};
use serde::Serialize;
use xshell::Shell;

use super::remote::RemoteRegistry;
use super::{inputs, rig_root, BuildRequest, Executor};
use crate::plan::{self, inputs_tag, PlanInputs, INPUTS_TAG_PREFIX};
use crate::settings::Settings;

/// What a job did, as `ci job --json` prints it.
#[derive(Debug, Serialize)]
pub struct JobReport {
    pub image: String,
    /// `up to date (registry)`, `built` or `failed`.
    pub status: String,
    pub input_hash: String,
    /// Questions asked to the registry before deciding.
    pub registry_queries: usize,
    /// Images pulled from the registry (references).
    pub pulled: Vec<String>,
    /// References pushed.
    pub pushed: Vec<String>,
    /// Why the job failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(flatten)]
    pub timing: Timing,
}

impl JobReport {
    pub fn new(image: &str) -> JobReport {
        JobReport {
            image: image.to_owned(),
            status: String::new(),
            input_hash: String::new(),
            registry_queries: 0,
            pulled: vec![],
            pushed: vec![],
            error: None,
            timing: Timing::start(),
        }
    }
}

/// When a job started (milliseconds since the Unix epoch) and how long it took: what a pipeline's
/// critical path is measured by.
#[derive(Debug, Serialize)]
pub struct Timing {
    pub started_unix_ms: u128,
    pub elapsed_ms: u128,
}

impl Timing {
    pub fn start() -> Timing {
        Timing { started_unix_ms: unix_ms(), elapsed_ms: 0 }
    }

    pub fn stop(&mut self) {
        self.elapsed_ms = unix_ms().saturating_sub(self.started_unix_ms);
    }
}

fn unix_ms() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |since| since.as_millis())
}

/// Writes a job's report to `<work dir>/logs/ci/<job>.json`, which the pipeline keeps as an artifact
/// with the logs; returns that path.
pub fn write_report(
    workspace: &Utf8Path,
    settings: &Settings,
    job: &str,
    report: &impl Serialize,
) -> Result<camino::Utf8PathBuf> {
    let folder = workspace.join(&settings.work_dir).join("logs/ci");
    std::fs::create_dir_all(&folder).with_context(|| format!("creating {folder}"))?;
    let path = folder.join(format!("{job}.json"));
    std::fs::write(&path, serde_json::to_string_pretty(report)? + "\n").with_context(|| format!("writing {path}"))?;
    Ok(path)
}

/// Runs the job of `image`, filling `report` as it goes (what it asked and moved stays in it when
/// the job fails).
pub fn run(
    sh: &Shell,
    workspace: &Utf8Path,
    settings: &Settings,
    registry: &Registry,
    image: &'static dyn Image,
    report: &mut JobReport,
) -> Result<()> {
    let remote = RemoteRegistry::new(sh, settings)?;
    let chain = registry.with_ancestors(&[image.name()]).map_err(|error| anyhow::anyhow!("{error}"))?;
    let request = inputs::Request { workspace, settings, registry, images: &chain, force: false };
    let mut inputs = inputs::gather(sh, &request)?;
    // The rig root, when local storage lacks it: its id from the registry, where its job put it; it
    // is pulled only when the image builds.
    let mut rig_root_to_pull = None;
    if chain.iter().any(|member| registry.root_of(*member) == Root::Rig)
        && inputs.storage.id(&inputs.rig_root).is_none()
    {
        let tag = crate::plan::rig_root::remote_tag(&inputs.rig_root);
        let Some(id) = remote.image_id(RIG_ROOT_NAME, &tag)? else {
            bail!(
                "`{}` starts on the rig root, which neither local storage nor the registry has (at {}:{tag}): \
                 its job, `ci rig-root`, must run first",
                image.name(),
                remote.repository(RIG_ROOT_NAME)
            );
        };
        inputs.storage.insert(inputs.rig_root.clone(), id.clone());
        rig_root_to_pull = Some(id);
    }

    // 1. Hashes and ids, ancestors first (the chain is in build order): asked, never pulled.
    let mut known: BTreeMap<&str, (String, String)> = BTreeMap::new(); // name → (hash, id)
    for member in &chain {
        let ids = |name: &str| known.get(name).map(|(_, id)| id.clone());
        let (base, builder) = start_ids(*member, &ids, &inputs, &remote)?;
        let hash = plan::input_hash(*member, &inputs, &base, builder.as_deref())?;
        let tag = format!("{INPUTS_TAG_PREFIX}{hash}");
        let local = inputs.storage.id(&inputs_tag(&settings.repository_of(member.name()), &hash)).map(str::to_owned);
        let id = match local {
            Some(id) => Some(id),
            None => remote.image_id(member.name(), &tag)?,
        };
        if member.name() == image.name() {
            report.input_hash = hash.clone();
            report.registry_queries = remote.queries();
            if id.is_some() {
                report.status = "up to date (registry)".into();
                return Ok(());
            }
        } else {
            let Some(id) = id else {
                bail!(
                    "`{}` is built on `{}`, which the registry lacks at {}:{tag}: its job must run first",
                    image.name(),
                    member.name(),
                    remote.repository(member.name())
                );
            };
            known.insert(member.name(), (hash, id));
        }
    }

    // 2. Pull what the image starts from, named as a local build names it; build; push; publish.
    for dependency in registry.dependencies(image) {
        let (hash, id) = &known[dependency.name()];
        let local = settings.repository_of(dependency.name());
        if inputs.storage.id(&format!("{local}:latest")) == Some(id.as_str()) {
            continue;
        }
        eprintln!("==> {}: pulling {}", image.name(), dependency.name());
        let tags = [format!("{local}:latest"), inputs_tag(&local, hash)];
        let tag = format!("{INPUTS_TAG_PREFIX}{hash}");
        report.pulled.push(remote.pull_as(dependency.name(), &tag, Some(id), &tags)?);
    }
    let starts_on_rig = [Some(registry.parent_of(image)), registry.builder_of(image)]
        .into_iter()
        .any(|start| start == Some(ResolvedParent::Root(Root::Rig)));
    if let (true, Some(id)) = (starts_on_rig, &rig_root_to_pull) {
        eprintln!("==> {}: pulling the rig root", image.name());
        let tag = crate::plan::rig_root::remote_tag(&inputs.rig_root);
        report.pulled.push(remote.pull_as(RIG_ROOT_NAME, &tag, Some(id), &[inputs.rig_root.clone()])?);
    }
    for root in [Some(registry.parent_of(image)), registry.builder_of(image)].into_iter().flatten() {
        let ResolvedParent::Root(Root::Tarball { path, .. }) = root else { continue };
        let tarball = inputs.tarballs.get(path).with_context(|| format!("tarball root {path} not resolved"))?;
        if inputs.storage.id(&tarball.digest_tag()).is_some() {
            continue;
        }
        eprintln!("==> {}: pulling its root {path}", image.name());
        let (name, tag) = remote_root(settings, tarball);
        let tags = [tarball.digest_tag(), format!("{}:latest", tarball.repository)];
        report.pulled.push(remote.pull_as(&name, &tag, None, &tags)?);
    }
    let executor = Executor { workspace, settings, registry };
    let build = BuildRequest {
        images: vec![image],
        force: false,
        jobs: 1,
        keep_failed: false,
        keep_going: false,
        explain: false,
        output: super::Output::Stderr,
        quiet: false,
    };
    let summary = executor.build(sh, &build)?;
    if !summary.succeeded() {
        bail!("`{}` did not build (see above)", image.name());
    }
    let built = super::storage::load_index(sh)?;
    let marker = inputs_tag(&settings.repository_of(image.name()), &report.input_hash);
    if built.id(&marker).is_none() {
        bail!(
            "the build of `{}` tagged another input hash than the registry check computed ({}): a bug, please report it",
            image.name(),
            report.input_hash
        );
    }
    let local = super::push::local_images(sh, settings, &[image.name()])?;
    let push_plan = plan::push::plan(&local, settings)?;
    for pushed in super::push::push(sh, workspace, settings, &push_plan, true)? {
        report.pushed.push(pushed.reference);
    }
    if let Some(target) = &settings.binhost_publish {
        publish_packages(sh, settings, target)?;
    }
    report.status = "built".into();
    Ok(())
}

/// The ids an image starts from (its base: `scratch`, its parent's or its root's; its builder's),
/// parents' ids from `ids` (the caller resolved them first).
pub(super) fn start_ids(
    member: &dyn Image,
    ids: &dyn Fn(&str) -> Option<String>,
    inputs: &PlanInputs,
    remote: &RemoteRegistry,
) -> Result<(String, Option<String>)> {
    let registry = inputs.registry;
    let image_id = |image: &dyn Image| {
        ids(image.name())
            .with_context(|| format!("the id of `{}`, which `{}` is built on", image.name(), member.name()))
    };
    let minimal_on_scratch =
        member.spec().layout == image_defs::Layout::Minimal && registry.minimal_parent(member).is_none();
    let base = match registry.parent_image(member) {
        _ if minimal_on_scratch => "scratch".to_owned(),
        Some(parent) => image_id(parent)?,
        None => root_id(registry.parent_of(member), inputs, remote, member.name())?,
    };
    let builder = match (registry.builder_of(member), registry.builder_image(member)) {
        (_, Some(builder)) => Some(image_id(builder)?),
        (Some(root), None) => Some(root_id(root, inputs, remote, member.name())?),
        (None, _) => None,
    };
    Ok((base, builder))
}

/// The id of a root an image starts from: the rig root (made above), a registry root (from local
/// storage, else its config asked from its registry), a tarball root (imported here before).
pub(super) fn root_id(
    root: ResolvedParent,
    inputs: &PlanInputs,
    remote: &RemoteRegistry,
    name: &str,
) -> Result<String> {
    Ok(match root {
        ResolvedParent::Image(_) => unreachable!("images are known before their children"),
        ResolvedParent::Root(Root::Rig) => {
            inputs.storage.id(&inputs.rig_root).context("the rig root was made or asked for above")?.to_owned()
        }
        ResolvedParent::Root(Root::Registry(reference)) => match inputs.storage.id(reference) {
            Some(id) => id.to_owned(),
            None => remote.foreign_image_id(reference)?,
        },
        ResolvedParent::Root(Root::Tarball { path, .. }) => {
            let tarball = inputs.tarballs.get(path).with_context(|| format!("tarball root {path} not resolved"))?;
            if let Some(id) = inputs.storage.id(&tarball.digest_tag()) {
                return Ok(id.to_owned());
            }
            let (root_name, tag) = remote_root(inputs.settings, tarball);
            match remote.image_id(&root_name, &tag)? {
                Some(id) => id,
                None => bail!(
                    "`{name}` starts on the tarball root {path}, which neither local storage nor the registry has \
                     (at {}:{tag}): its job, `ci root {path}`, must run first",
                    remote.repository(&root_name)
                ),
            }
        }
    })
}

/// A tarball root's name under the namespace (`root/<file name>`) and its content tag (`sha512-…`).
fn remote_root(settings: &Settings, tarball: &crate::plan::TarballImport) -> (String, String) {
    let prefix = format!("{}/", settings.namespace.trim_end_matches('/'));
    let name = tarball.repository.strip_prefix(&prefix).unwrap_or(&tarball.repository).to_owned();
    let tag = tarball.digest_tag().rsplit_once(':').map(|(_, tag)| tag.to_owned()).unwrap_or_default();
    (name, tag)
}

/// The tarball root declared with `path` (its digest and keyring as the definitions give them).
pub fn declared_tarball(registry: &Registry, path: &str) -> Result<super::root_import::TarballRoot> {
    let declared = registry.in_order().find_map(|image| {
        [Some(registry.parent_of(image)), registry.builder_of(image)].into_iter().flatten().find_map(
            |root| match root {
                ResolvedParent::Root(Root::Tarball { path: declared, digest, keyring }) if declared == path => {
                    Some((digest, keyring))
                }
                _ => None,
            },
        )
    });
    let Some((digest, keyring)) = declared else {
        bail!("no image starts on the tarball root `{path}` (as the image definitions name it)");
    };
    Ok(super::root_import::TarballRoot {
        path: path.into(),
        digest: digest.map(str::to_owned),
        keyring: keyring.map(Into::into),
    })
}

/// What a root job did.
#[derive(Debug, Serialize)]
pub struct RootReport {
    /// `up to date (registry)` or `pushed`.
    pub status: String,
    /// The root in the registry, by its content tag.
    pub reference: String,
    pub pushed: Vec<String>,
    #[serde(flatten)]
    pub timing: Timing,
}

/// The job of a stage3 tarball root: when the registry has it under its digest tag, nothing to do;
/// otherwise import it (unless local storage has it) and push it (content under its digest tag,
/// then `latest`), for the jobs of the images on it.
pub fn run_root(
    sh: &Shell,
    workspace: &Utf8Path,
    settings: &Settings,
    tarball: &super::root_import::TarballRoot,
) -> Result<RootReport> {
    let timing = Timing::start();
    let remote = RemoteRegistry::new(sh, settings)?;
    let repository = crate::plan::root_import::root_repository(settings, tarball.path.as_str());
    let name = under_namespace(settings, &repository);
    let resolved = super::root_import::resolve_root(workspace, tarball, &repository)?;
    let (_, tag) = remote_root(settings, &resolved);
    if remote.image_id(&name, &tag)?.is_some() {
        let reference = format!("{}:{tag}", remote.repository(&name));
        return Ok(RootReport { status: "up to date (registry)".into(), reference, pushed: vec![], timing });
    }
    let imported = super::root_import::import(sh, settings, workspace, tarball, &repository)?;
    let digest_tag = imported.reference.rsplit_once(':').map(|(_, tag)| tag.to_owned()).unwrap_or_default();
    let local = crate::plan::push::LocalImage { name, id: imported.id, tags: vec![digest_tag, "latest".into()] };
    push_root(sh, workspace, settings, &remote, local, timing)
}

/// The job of the test rig's root, which stands in for a stage3: when the registry has it under its
/// content tag, nothing to do; otherwise make it (unless local storage has it) and push it.
pub fn run_rig_root(sh: &Shell, workspace: &Utf8Path, settings: &Settings) -> Result<RootReport> {
    let timing = Timing::start();
    let remote = RemoteRegistry::new(sh, settings)?;
    let reference = rig_root::reference(workspace)?;
    let tag = crate::plan::rig_root::remote_tag(&reference);
    if remote.image_id(RIG_ROOT_NAME, &tag)?.is_some() {
        let reference = format!("{}:{tag}", remote.repository(RIG_ROOT_NAME));
        return Ok(RootReport { status: "up to date (registry)".into(), reference, pushed: vec![], timing });
    }
    let storage = super::storage::load_index(sh)?;
    let id = rig_root::ensure(sh, workspace, settings, &storage)?;
    let local = crate::plan::push::LocalImage { name: RIG_ROOT_NAME.to_owned(), id, tags: vec![tag, "latest".into()] };
    push_root(sh, workspace, settings, &remote, local, timing)
}

/// Pushes a root image (named under the namespace, tagged with its content tag then `latest`).
fn push_root(
    sh: &Shell,
    workspace: &Utf8Path,
    settings: &Settings,
    remote: &RemoteRegistry,
    local: crate::plan::push::LocalImage,
    timing: Timing,
) -> Result<RootReport> {
    let reference = format!("{}:{}", remote.repository(&local.name), local.tags[0]);
    let plan = plan::push::plan(&[local], settings)?;
    let pushed = super::push::push(sh, workspace, settings, &plan, true)?;
    Ok(RootReport {
        status: "pushed".into(),
        reference,
        pushed: pushed.into_iter().map(|pushed| pushed.reference).collect(),
        timing,
    })
}

/// The rig root's name in the registry, under the namespace.
const RIG_ROOT_NAME: &str = "rig-root";

/// A local repository's name under the namespace (`<namespace>/root/x` → `root/x`).
fn under_namespace(settings: &Settings, repository: &str) -> String {
    let prefix = format!("{}/", settings.namespace.trim_end_matches('/'));
    repository.strip_prefix(&prefix).unwrap_or(repository).to_owned()
}

/// Publishes every local package folder to the binhost (packages first, then the index).
fn publish_packages(sh: &Shell, settings: &Settings, target: &str) -> Result<()> {
    let target = crate::binhost::target::Target::parse(target)?;
    for key in crate::binhost::sync::local_keys(&settings.cache_dir)? {
        let report = crate::binhost::sync::sync_key(sh, &settings.cache_dir, &key, &target, false)
            .with_context(|| format!("publishing the binary packages of `{key}`"))?;
        eprintln!("{key} → {}: {} new, {} already there", report.target, report.uploads.len(), report.already_there);
    }
    Ok(())
}
