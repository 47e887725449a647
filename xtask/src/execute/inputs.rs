//! The planner's inputs, gathered once per command: every bit of I/O the plan depends on (local
//! storage, the rig root's reference, the repositories' identities, source dates, tarball roots, the
//! contents of the files images copy, today's date). `plan`, `build --dry-run`, `build` and
//! `cargo xtask inputs` all start here, so they plan from the same facts.

use std::collections::BTreeMap;

use anyhow::{bail, Context as _, Result};
use camino::Utf8Path;
use image_defs::{Image, Registry, RepositoryFrom, Root};
use xshell::Shell;

use super::storage::Listing;
use crate::hash::{file_hash, tree_hash};
use crate::plan::{ImageIndex, PlanInputs, RepositoryIdentities, RIG_REPOSITORY};
use crate::settings::{RepositorySource, Settings};

/// What a command plans: these images, forced or not.
pub struct Request<'a> {
    pub workspace: &'a Utf8Path,
    pub settings: &'a Settings,
    pub registry: &'a Registry,
    /// The images to plan, in build order.
    pub images: &'a [&'static dyn Image],
    pub force: bool,
}

/// Gathers the planner's inputs for `request`. Local storage is read with one `buildah images`
/// call, which runs while the files are hashed; where buildah is not installed, storage is empty
/// (nothing was built here).
pub fn gather<'a>(sh: &Shell, request: &Request<'a>) -> Result<PlanInputs<'a>> {
    start(sh, request)?.finish()
}

/// The planner's inputs but what local storage says, while buildah lists it: storage is empty and the
/// repositories' identities are not all there yet. Enough for the images' drafts
/// ([`crate::plan::drafts`]), which are made meanwhile.
pub struct Gathering<'a> {
    pub inputs: PlanInputs<'a>,
    listing: Option<Listing>,
    images: &'a [&'static dyn Image],
    uses_main: bool,
}

/// Starts the storage listing (or takes the one the command started first), then reads everything
/// else the planner needs.
pub fn start<'a>(_sh: &Shell, request: &Request<'a>) -> Result<Gathering<'a>> {
    let Request { workspace, settings, registry, images, force } = *request;
    let listing = if crate::prerequisites::is_installed("buildah") { Some(Listing::start()?) } else { None };
    let uses_rig = images.iter().any(|image| registry.root_of(*image) == Root::Rig);
    let uses_main = images.iter().any(|image| registry.root_of(*image) != Root::Rig);
    let rig_root = if uses_rig { super::rig_root::reference(workspace)? } else { String::new() };
    let rig_repository = if uses_rig {
        let tree = workspace.join(RIG_REPOSITORY);
        format!("rig {}", tree_hash(&tree).with_context(|| format!("hashing the rig repository {tree}"))?)
    } else {
        String::new()
    };
    let inputs = PlanInputs {
        registry,
        settings,
        date_tag: crate::clock::today_utc(),
        rig_root,
        tarballs: super::root_import::resolve_all(workspace, settings, registry, images)?,
        source_dates: super::source_date::source_dates(workspace, settings),
        storage: ImageIndex::default(),
        repositories: RepositoryIdentities {
            rig: rig_repository,
            main: String::new(),
            extra: folder_repository_identities(workspace, registry, images)?,
        },
        copied_files: copied_files(workspace, settings, images)?,
        binhost_tls: settings.discover_binhost_tls()?,
        force,
    };
    Ok(Gathering { inputs, listing, images, uses_main })
}

impl<'a> Gathering<'a> {
    /// Waits for the storage listing and completes the inputs with it: storage, and the identities of
    /// the repositories that come as images (their ids in storage).
    pub fn finish(self) -> Result<PlanInputs<'a>> {
        let Gathering { mut inputs, listing, images, uses_main } = self;
        inputs.storage = match listing {
            Some(listing) => listing.wait()?,
            None => ImageIndex::default(),
        };
        if uses_main {
            inputs.repositories.main = main_repository_identity(inputs.settings, &inputs.storage);
        }
        for (name, reference) in image_repositories(inputs.registry, images) {
            let identity = format!("image {reference} {}", inputs.storage.id(reference).unwrap_or("not pulled"));
            inputs.repositories.extra.insert(name, identity);
        }
        Ok(inputs)
    }
}

/// The configured repository's identity: a folder and its sync timestamp, or an image and its id.
fn main_repository_identity(settings: &Settings, storage: &ImageIndex) -> String {
    match &settings.repository {
        RepositorySource::Folder(path) => {
            let stamp = super::source_date::TIMESTAMP_FILES
                .iter()
                .find_map(|file| std::fs::read_to_string(path.join(file)).ok())
                .unwrap_or_default();
            format!("folder {path} {}", stamp.trim())
        }
        RepositorySource::Image(reference) => {
            format!("image {reference} {}", storage.id(reference).unwrap_or("not pulled"))
        }
    }
}

/// The identities of the extra repositories in folders that the images mount, by name: a folder's
/// content hash (its `profiles/repo_name` must be the declared name).
fn folder_repository_identities(
    workspace: &Utf8Path,
    registry: &Registry,
    images: &[&'static dyn Image],
) -> Result<BTreeMap<&'static str, String>> {
    let mut identities = BTreeMap::new();
    for image in images {
        for repository in registry.repositories_of(*image) {
            let RepositoryFrom::Folder(path) = repository.source else { continue };
            if identities.contains_key(repository.name) {
                continue;
            }
            let folder = workspace.join(path);
            let declared = repository.name;
            let repo_name = folder.join("profiles/repo_name");
            let found = std::fs::read_to_string(&repo_name).with_context(|| {
                format!(
                    "image `{}`: repository `{declared}` should be an ebuild repository in {folder}, \
                     but {repo_name} cannot be read",
                    image.name()
                )
            })?;
            if found.trim() != declared {
                bail!(
                    "image `{}`: repository `{declared}` in {folder} calls itself `{}` \
                     (profiles/repo_name); expected `{declared}`",
                    image.name(),
                    found.trim()
                );
            }
            let hash = tree_hash(&folder).with_context(|| format!("hashing repository `{declared}` in {folder}"))?;
            identities.insert(declared, format!("folder {path} {hash}"));
        }
    }
    Ok(identities)
}

/// The extra repositories that come as images, by name: their references (their identities are
/// their ids in storage).
fn image_repositories(registry: &Registry, images: &[&'static dyn Image]) -> BTreeMap<&'static str, &'static str> {
    images
        .iter()
        .flat_map(|image| registry.repositories_of(*image))
        .filter_map(|repository| match repository.source {
            RepositoryFrom::Image(reference) => Some((repository.name, reference)),
            RepositoryFrom::Folder(_) => None,
        })
        .collect()
}

/// The SHA-256 of every file the images copy in (their own files, and the site CA where they trust
/// it), by the path the plan names. A file that cannot be read is an error naming the image.
pub fn copied_files(
    workspace: &Utf8Path,
    settings: &Settings,
    images: &[&'static dyn Image],
) -> Result<BTreeMap<String, String>> {
    let mut hashes = BTreeMap::new();
    for image in images {
        let mut paths: Vec<String> = image.spec().files.iter().map(|file| file.source_path().to_owned()).collect();
        if let (true, Some(ca)) = (image.spec().trust_site_ca, &settings.site_ca) {
            paths.push(ca.to_string());
        }
        for path in paths {
            if let std::collections::btree_map::Entry::Vacant(entry) = hashes.entry(path) {
                let path = entry.key();
                let hash = file_hash(&workspace.join(path))
                    .with_context(|| format!("image `{}`: reading {path}, which it copies", image.name()))?;
                entry.insert(hash);
            }
        }
    }
    Ok(hashes)
}
