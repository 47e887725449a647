//! The planner: a pure function from images and their gathered inputs to plain data. No I/O, no
//! clock, no randomness: the same inputs give the same plan, which renders to a shell script
//! ([`script::render`]) and is what the executor runs, argv by argv. What only a run can know (its
//! container names, the id of a parent the same plan builds, hence that child's input hash) is a
//! shell variable of the script, assigned by a printed command.

pub mod actions;
pub mod binpkg_cache;
pub mod builder_image;
pub mod clean;
mod cleanup;
pub mod command;
mod emerge;
mod image;
pub mod input_hash;
pub mod input_parts;
mod inputs;
mod labels;
mod parallel;
mod portage_files;
pub mod push;
pub mod rig_root;
pub mod root_import;
pub mod script;
pub mod status;
pub mod step;
mod storage;

use std::collections::BTreeMap;

use anyhow::{bail, Result};
use camino::Utf8PathBuf;
use image_defs::registry::ResolvedParent;
use image_defs::{Image, Repository, RepositoryFrom, Root};
use serde::Serialize;

pub use cleanup::{RUN_LEFTOVERS, VDB_METADATA_CACHE};
pub use command::{Command, Form, Piece, Var, Word};
pub use emerge::root_key;
pub use image::{plan_image, Draft};
pub use input_hash::input_hash;
pub use inputs::{PlanInputs, RepositoryIdentities, SourceDates};
pub use portage_files::{file_stem, ContextFile};
pub use root_import::TarballImport;
pub use step::{ConfigOption, Mount, Pull, Step};
pub use storage::{recorded_packages, ImageIndex};

use crate::settings::RepositorySource;
use step::{REPOSITORY_CONTAINER, REPOSITORY_MOUNT, REVISION, RUN};

/// Where the rig's ebuild repository lives, relative to the workspace root.
pub const RIG_REPOSITORY: &str = "tests/rig/repo";
/// The rig's distfiles mirror (portage's local-mirror layout: `layout.conf` and the files),
/// relative to the workspace root; rig builds mount it read-only at [`RIG_MIRROR_MOUNT`], which the
/// rig root's make.conf names as its `GENTOO_MIRRORS`.
pub const RIG_MIRROR: &str = "tests/rig/mirror/distfiles";
/// Where rig builds find the rig's distfiles mirror.
pub const RIG_MIRROR_MOUNT: &str = "/var/cache/rig-mirror";
/// Where an image that trusts the site CA gets its certificate.
pub const SITE_CA_PATH: &str = "/usr/local/share/ca-certificates/buildah-gentoo-site-ca.crt";
/// Where the steps that fetch from a binhost find its certificates folder: `<this>/<host[:port]>`.
pub const BINHOST_CERTS_MOUNT: &str = "/run/buildah-gentoo/certs";
/// The label carrying the image's name.
pub const IMAGE_LABEL: &str = "io.buildah-gentoo.image";
/// The label carrying the image's input hash.
pub const INPUTS_LABEL: &str = "io.buildah-gentoo.inputs";
/// The label of a minimal image listing the packages (`CAT/PF`, one a line) its package database
/// held when it was built, before any cleanup.
pub const PACKAGES_LABEL: &str = "io.buildah-gentoo.packages";
/// The label of a minimal image listing what its minimal parent held (its `package.provided`).
/// The flags the image's packages were built with (CHOST, compiler flags, profile: what
/// [`binpkg_cache::READ_FLAGS_SCRIPT`] read in the container that emerged them).
pub const BINPKG_FLAGS_LABEL: &str = "io.buildah-gentoo.binpkg-flags";
/// A minimal image's builder (its reference).
pub const BUILDER_LABEL: &str = "io.buildah-gentoo.builder";
/// With [`PACKAGES_LABEL`], every package in the image.
pub const PROVIDED_LABEL: &str = "io.buildah-gentoo.provided";
/// What a minimal image without a minimal parent starts from: an empty root.
pub const SCRATCH: &str = "scratch";
/// Prints the workspace's git revision, `-dirty` when tracked files changed; nothing outside a git
/// checkout. A fixed script: no value of the user's in it.
pub const REVISION_SCRIPT: &str = "git describe --always --dirty --abbrev=40 --exclude='*' 2>/dev/null || true";
/// The OCI annotation and label keys every image gets.
pub const OCI_CREATED: &str = "org.opencontainers.image.created";
pub const OCI_REVISION: &str = "org.opencontainers.image.revision";
pub const OCI_SOURCE: &str = "org.opencontainers.image.source";
pub const OCI_VERSION: &str = "org.opencontainers.image.version";
pub const OCI_TITLE: &str = "org.opencontainers.image.title";
pub const OCI_BASE_NAME: &str = "org.opencontainers.image.base.name";
pub const OCI_BASE_DIGEST: &str = "org.opencontainers.image.base.digest";
/// Tags carrying an input hash start with this.
pub const INPUTS_TAG_PREFIX: &str = "inputs-";

/// The tag that marks an image built from these inputs.
pub fn inputs_tag(repository: &str, input_hash: &str) -> String {
    format!("{repository}:{INPUTS_TAG_PREFIX}{input_hash}")
}

/// The name of a container the plan creates: `bg-${run}-<image>-<role>`, in the characters container
/// names allow; `${run}` is the run's id (see [`step::RUN`]).
pub fn container_name(image_name: &str, role: &str) -> Word {
    let image: String = image_name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    Word(vec![Piece::Text("bg-".into()), Piece::Var(RUN), Piece::Text(format!("-{image}-{role}"))])
}

/// The plan for a set of images.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// Steps run once before the images (the revision, mounting a repository image).
    pub setup: Vec<Step>,
    /// Stage3 tarballs imported as root images, before the images built on them (only those local
    /// storage lacks).
    pub roots: Vec<ImagePlan>,
    /// The images, parents before children.
    pub images: Vec<ImagePlan>,
    /// Steps run once after the images.
    pub teardown: Vec<Step>,
}

/// The plan for one image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ImagePlan {
    pub name: String,
    /// `<namespace>/<name>`.
    pub repository: String,
    /// Whether it runs at all: an image whose input hash the plan knows, and that local storage
    /// holds already as `latest`, is up to date (unless forced).
    pub status: Status,
    /// The input hash, when the plan knows it; `None` when a step of the plan computes it.
    pub input_hash: Option<String>,
    /// Full references the image is tagged with (`:latest`, the date and the input hash, which may
    /// be a variable).
    pub tags: Vec<Word>,
    /// What the working container starts from.
    pub base: Base,
    /// Images that must be in local storage before this one runs, because no step of the plan makes
    /// them (a parent or builder outside the plan): reference and role.
    pub needs: Vec<(String, String)>,
    /// How a minimal image's packages are built; `None` for full images.
    pub minimal: Option<MinimalPlan>,
    /// The generated build context: a folder relative to the workspace root and its files.
    pub context_dir: Utf8PathBuf,
    pub context_files: Vec<ContextFile>,
    /// Where the build writes the image's SBOM on the host (next to its log), relative to the
    /// workspace root; it is copied into the image at [`crate::sbom::IMAGE_PATH`]. `None` for a root
    /// imported from a tarball, which the tool does not describe.
    pub sbom: Option<Utf8PathBuf>,
    /// The steps that settle the input hash (pull a root, read an id, compute the hash); the
    /// executor checks after them whether the image is up to date already.
    pub prelude: Vec<Step>,
    pub steps: Vec<Step>,
    /// The parts of its input hash, full values (see [`input_parts`]); empty for a tarball root.
    pub input_parts: input_parts::InputParts,
    /// The images it starts from (its parent, a minimal image's builder), as far as the plan knows them.
    pub starts_from: Vec<StartsFrom>,
}

/// An image another one starts from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StartsFrom {
    pub role: Role,
    /// Its name, when it is an image of the registry (not a root, not scratch).
    pub image: Option<String>,
    /// What the working container starts from (`scratch` for an empty root).
    pub reference: String,
    /// Its id, when the plan knows it (in storage, or up to date); `None` when a step of the run
    /// reads it (the plan builds it first, or storage lacks it).
    pub id: Option<String>,
}

/// What an image is to another.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Parent,
    Builder,
}

/// What an image's working container starts from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Base {
    /// An empty root (a minimal image without a minimal parent, a tarball import).
    Scratch,
    /// An image, by reference.
    Image(String),
}

impl Base {
    /// What `buildah from` takes.
    pub fn reference(&self) -> &str {
        match self {
            Base::Scratch => SCRATCH,
            Base::Image(reference) => reference,
        }
    }
}

impl std::fmt::Display for Base {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.reference())
    }
}

/// Whether an image of the plan runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum Status {
    /// Its steps run (when its input hash is only known at run time, the executor may still find
    /// it up to date after the prelude).
    Build,
    /// Local storage holds an image of the same inputs as `latest`: nothing runs.
    UpToDate { id: String },
}

/// The first phase of a minimal image: where its packages are emerged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MinimalPlan {
    /// The builder's image reference.
    pub builder: String,
    /// The minimal parent the new root starts from; `None` for scratch.
    pub minimal_parent: Option<String>,
}

/// What the plan knows of an image's id: a value, or the variable a step assigns at run time.
#[derive(Clone, Debug, PartialEq, Eq)]
enum KnownId {
    Value(String),
    AtRunTime,
}

/// Plans `images` (in build order, as [`Registry::in_order`] or [`Registry::with_ancestors`] give them).
pub fn plan(images: &[&'static dyn Image], inputs: &PlanInputs) -> Result<Plan> {
    plan_drafted(images, drafts(images, inputs), inputs)
}

/// The drafts of `images` ([`image::draft`]): what their plans are without local storage, the
/// repositories' identities and the images they start from. Made on every core; a command makes
/// them while its storage listing runs (`inputs` need not hold storage yet).
pub fn drafts(images: &[&'static dyn Image], inputs: &PlanInputs) -> Vec<Result<Draft>> {
    parallel::map(images, |image| image::draft(*image, inputs))
}

/// Plans `images` from their [`drafts`], made from the same `inputs` but storage and repositories.
pub fn plan_drafted(images: &[&'static dyn Image], drafts: Vec<Result<Draft>>, inputs: &PlanInputs) -> Result<Plan> {
    let mut setup =
        vec![Step::HostCapture { argv: vec!["sh".into(), "-c".into(), REVISION_SCRIPT.into()], into: REVISION }];
    let mut teardown = Vec::new();
    let uses_repository_image = images.iter().any(|image| {
        inputs.registry.root_of(*image) != Root::Rig && matches!(inputs.settings.repository, RepositorySource::Image(_))
    });
    if let (true, RepositorySource::Image(reference)) = (uses_repository_image, &inputs.settings.repository) {
        setup.push(Step::From {
            into: REPOSITORY_CONTAINER,
            name: container_name("repository", "mount"),
            image: Word::text(reference.as_str()),
            pull: Pull::Missing,
        });
        setup.push(Step::Mount { container: REPOSITORY_CONTAINER, into: REPOSITORY_MOUNT });
        teardown.push(Step::Unmount { container: REPOSITORY_CONTAINER });
        teardown.push(Step::Remove { container: REPOSITORY_CONTAINER });
    }
    // Extra repositories that come in an image: mounted once, like the main one.
    let mut repository_images: Vec<Repository> =
        images.iter().flat_map(|image| inputs.registry.repositories_of(*image)).collect();
    repository_images.sort_by_key(|repository| repository.name);
    repository_images.dedup_by_key(|repository| repository.name);
    for repository in repository_images {
        let RepositoryFrom::Image(reference) = repository.source else { continue };
        let (container, mount) = step::extra_repository_vars(repository.name);
        setup.push(Step::From {
            into: container,
            name: container_name(&format!("repository-{}", repository.name), "mount"),
            image: Word::text(reference),
            pull: Pull::Missing,
        });
        setup.push(Step::Mount { container, into: mount });
        teardown.push(Step::Unmount { container });
        teardown.push(Step::Remove { container });
    }
    // The tarballs that planned images start from directly and that storage lacks (an image further
    // down the tree starts from its parent, planned or built already).
    let mut roots: Vec<ImagePlan> = Vec::new();
    for image in images {
        let direct = [Some(inputs.registry.parent_of(*image)), inputs.registry.builder_of(*image)];
        for path in direct.into_iter().flatten().filter_map(|parent| match parent {
            ResolvedParent::Root(Root::Tarball { path, .. }) => Some(path),
            _ => None,
        }) {
            let tarball = tarball_of(inputs, path, image.name())?;
            if inputs.storage.id(&tarball.digest_tag()).is_none()
                && !roots.iter().any(|root| root.repository == tarball.repository)
            {
                roots.push(root_import::plan_import(tarball, inputs.settings));
            }
        }
    }
    // What each planned image's id will be: known when it is up to date, else a run's.
    let mut ids: BTreeMap<&str, KnownId> = BTreeMap::new();
    let mut planned = Vec::new();
    assert_eq!(drafts.len(), images.len(), "a draft for each image");
    for (image, draft) in images.iter().zip(drafts) {
        let plan = image::settle(*image, draft?, inputs, &|name| ids.get(name).cloned())?;
        let id = match &plan.status {
            Status::UpToDate { id } => KnownId::Value(id.clone()),
            Status::Build => KnownId::AtRunTime,
        };
        ids.insert(image.name(), id);
        planned.push(plan);
    }
    Ok(Plan { setup, roots, images: planned, teardown })
}

/// The import of the tarball root at `path`, as the caller resolved it.
fn tarball_of<'a>(inputs: &'a PlanInputs, path: &str, name: &str) -> Result<&'a TarballImport> {
    match inputs.tarballs.get(path) {
        Some(tarball) => Ok(tarball),
        None => bail!("image `{name}`: the tarball root {path} was not resolved (its digest is not known)"),
    }
}

/// `target/buildah-gentoo/context/<image>`: the image's generated files.
fn context_dir(settings: &crate::settings::Settings, name: &str) -> Utf8PathBuf {
    settings.work_dir.join("context").join(file_stem(name))
}
