//! One image's CI job, on a machine with nothing but the checkout, the registry and the binhost:
//!
//! 1. its input hash, from the registry: each image it is built on (parent, builder, all the way up)
//!    has its id asked by its input-hash tag (`skopeo inspect`, no layer moves); roots are read where
//!    they are (the rig root is made locally, a registry root asked for its config);
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
    /// `up to date (registry)` or `built`.
    pub status: String,
    pub input_hash: String,
    /// Questions asked to the registry before deciding.
    pub registry_queries: usize,
    /// Images pulled from the registry (references).
    pub pulled: Vec<String>,
    /// References pushed.
    pub pushed: Vec<String>,
}

/// Runs the job of `image`.
pub fn run(
    sh: &Shell,
    workspace: &Utf8Path,
    settings: &Settings,
    registry: &Registry,
    image: &'static dyn Image,
) -> Result<JobReport> {
    let remote = RemoteRegistry::new(sh, settings)?;
    let chain = registry.with_ancestors(&[image.name()]).map_err(|error| anyhow::anyhow!("{error}"))?;
    let request = inputs::Request { workspace, settings, registry, images: &chain, force: false };
    let mut inputs = inputs::gather(sh, &request)?;
    if chain.iter().any(|member| registry.root_of(*member) == Root::Rig) {
        let id = rig_root::ensure(sh, workspace, settings, &inputs.storage)?;
        inputs.storage.insert(inputs.rig_root.clone(), id);
    }

    // 1. Hashes and ids, ancestors first (the chain is in build order): asked, never pulled.
    let mut known: BTreeMap<&str, (String, String)> = BTreeMap::new(); // name → (hash, id)
    let mut report = JobReport {
        image: image.name().to_owned(),
        status: String::new(),
        input_hash: String::new(),
        registry_queries: 0,
        pulled: vec![],
        pushed: vec![],
    };
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
                return Ok(report);
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
    Ok(report)
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
            inputs.storage.id(&inputs.rig_root).context("the rig root was made above")?.to_owned()
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

/// The job of a stage3 tarball root: import it unless local storage has it, and push it (content
/// under its digest tag, then `latest`), for the jobs of the images on it.
pub fn run_root(
    sh: &Shell,
    workspace: &Utf8Path,
    settings: &Settings,
    tarball: &super::root_import::TarballRoot,
) -> Result<Vec<String>> {
    let repository = crate::plan::root_import::root_repository(settings, tarball.path.as_str());
    let imported = super::root_import::import(sh, settings, workspace, tarball, &repository)?;
    let prefix = format!("{}/", settings.namespace.trim_end_matches('/'));
    let name = repository.strip_prefix(&prefix).unwrap_or(&repository).to_owned();
    let digest_tag = imported.reference.rsplit_once(':').map(|(_, tag)| tag.to_owned()).unwrap_or_default();
    let local = crate::plan::push::LocalImage { name, id: imported.id, tags: vec![digest_tag, "latest".into()] };
    let plan = plan::push::plan(&[local], settings)?;
    Ok(super::push::push(sh, workspace, settings, &plan, true)?.into_iter().map(|pushed| pushed.reference).collect())
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
