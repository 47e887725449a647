//! The planner: a pure function from images and settings to plain data. No I/O, no clock, no
//! randomness: the same inputs give the same plan, which renders to a shell script
//! ([`script::render`]) and is what the executor runs, argv by argv.

pub mod command;
mod portage_files;
pub mod push;
pub mod root_import;
pub mod script;
pub mod step;

use std::collections::BTreeMap;

use anyhow::{bail, Result};
use camino::Utf8PathBuf;
use image_defs::registry::ResolvedParent;
use image_defs::{Atom, Cleanup, Image, Layout, Registry, Root};
use serde::Serialize;

pub use command::{Command, Piece, Var, Word};
pub use portage_files::{file_stem, ContextFile};
pub use step::{ConfigOption, Mount, Pull, Step};

use crate::settings::{RepositorySource, Settings};
use crate::source_date::SourceDates;
pub use root_import::TarballImport;
use step::{
    BASE_DIGEST, BUILDER, CONTAINER, EMERGE_ROOT, IMAGE, PACKAGES, REPOSITORY_CONTAINER, REPOSITORY_MOUNT, REVISION,
    ROOT_MOUNT, SIZE, SIZE_BEFORE, TEST_CONTAINER, WORKSPACE,
};

/// Where the rig's ebuild repository lives, relative to the workspace root.
pub const RIG_REPOSITORY: &str = "tests/rig/repo";
/// Turns a root's `/etc/portage/make.conf` file into the first fragment of a make.conf folder.
const MAKE_CONF_TO_FOLDER: &str = "if [ -f /etc/portage/make.conf ]; then \
     mv /etc/portage/make.conf /etc/portage/make.conf.stage3 && mkdir /etc/portage/make.conf && \
     mv /etc/portage/make.conf.stage3 /etc/portage/make.conf/00-stage3.conf; fi";
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
/// With [`PACKAGES_LABEL`], every package in the image.
pub const PROVIDED_LABEL: &str = "io.buildah-gentoo.provided";
/// What a minimal image without a minimal parent starts from: an empty root.
pub const SCRATCH: &str = "scratch";
/// Prints the workspace's git revision, `-dirty` when tracked files changed; nothing outside a git
/// checkout. A fixed script: no value of the user's in it.
pub const REVISION_SCRIPT: &str = "git describe --always --dirty --abbrev=40 --exclude='*' 2>/dev/null || true";
/// What a build leaves in a root that differs from build to build and is no part of the image:
/// portage's logs and its merge-time state (`mtimedb` holds the library folders' mtimes), the dynamic
/// linker's cache of file times (rebuilt by ldconfig on the next run), and leftovers in the temporary
/// folders. Removed before every commit, with [`VDB_METADATA_CACHE`] (see README, "Reproducible images").
pub const RUN_LEFTOVERS: &[&str] = &[
    "/var/log/emerge.log",
    "/var/log/emerge-fetch.log",
    "/var/log/portage",
    "/var/cache/edb/mtimedb",
    "/var/cache/ldconfig/aux-cache",
    "/var/tmp/portage",
];
/// Portage's per-package cache of the package database entry (`/var/db/pkg/CAT/PF/metadata`). It records
/// the entry folder's mtime in nanoseconds at merge time and is used only while the folder still has
/// that mtime — never in a committed image, whose file times are all SOURCE_DATE_EPOCH — so it is
/// removed (portage reads the entry's own files instead).
pub const VDB_METADATA_CACHE: &str = "metadata";
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

/// The tag that marks an image built from these inputs (the hash's first 16 hex digits).
pub fn inputs_tag(repository: &str, input_hash: &str) -> String {
    format!("{repository}:{INPUTS_TAG_PREFIX}{}", &input_hash[..16.min(input_hash.len())])
}

/// What the planner needs besides the images: everything that would otherwise be I/O or the clock.
#[derive(Clone)]
pub struct PlanInputs<'a> {
    pub registry: &'a Registry,
    pub settings: &'a Settings,
    /// The date tag, `YYYYMMDD`, taken from the clock by the caller.
    pub date_tag: String,
    /// The image reference of the rig root (tagged with the hash of its inputs).
    pub rig_root: String,
    /// Makes container names unique to this run (the executor uses its process id).
    pub run_id: String,
    /// What built minimal images hold (image name → `CAT/PF`s, sorted), read from their labels by
    /// the caller: a minimal child lists its minimal parent's in `package.provided`. An image missing
    /// here is not built yet; its children's plans say so.
    pub packages: BTreeMap<String, Vec<String>>,
    /// The tarball roots in use (declared path → what to import, with the digest the caller read
    /// from the definition or the `.DIGESTS` file). A tarball root missing here cannot be planned.
    pub tarballs: BTreeMap<String, TarballImport>,
    /// SOURCE_DATE_EPOCH of rig images and of the others, resolved by the caller.
    pub source_dates: SourceDates,
}

/// The name of a container the plan creates: `bg-<run>-<image>-<role>`, in the characters container
/// names allow.
pub fn container_name(run_id: &str, image_name: &str, role: &str) -> String {
    let image: String = image_name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    format!("bg-{run_id}-{image}-{role}")
}

/// The plan for a set of images.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// Steps run once before the images (mounting a repository image).
    pub setup: Vec<Step>,
    /// Stage3 tarballs imported as root images, before the images built on them.
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
    /// Full references the image is tagged with (`:latest` and the date).
    pub tags: Vec<String>,
    /// What the working container starts from (`scratch` for a minimal image without a minimal parent).
    pub base: String,
    /// How a minimal image's packages are built; `None` for full images.
    pub minimal: Option<MinimalPlan>,
    /// The generated build context: a folder relative to the workspace root and its files.
    pub context_dir: Utf8PathBuf,
    pub context_files: Vec<ContextFile>,
    /// Where the build writes the image's SBOM on the host (next to its log), relative to the
    /// workspace root; it is copied into the image at [`crate::sbom::IMAGE_PATH`]. `None` for a root
    /// imported from a tarball, which the tool does not describe.
    pub sbom: Option<Utf8PathBuf>,
    pub steps: Vec<Step>,
}

/// The first phase of a minimal image: where its packages are emerged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MinimalPlan {
    /// The builder's image reference.
    pub builder: String,
    /// The minimal parent the new root starts from; `None` for scratch.
    pub minimal_parent: Option<String>,
    /// What the minimal parent holds (kept out of the new root by `package.provided`); `None` when it
    /// is not known yet (the parent is not built).
    pub provided: Option<Vec<String>>,
}

/// Plans `images` (in build order, as [`Registry::in_order`] or [`Registry::with_ancestors`] give them).
pub fn plan(images: &[&'static dyn Image], inputs: &PlanInputs) -> Result<Plan> {
    let mut setup =
        vec![Step::HostCapture { argv: vec!["sh".into(), "-c".into(), REVISION_SCRIPT.into()], into: REVISION }];
    let mut teardown = Vec::new();
    let uses_repository_image = images.iter().any(|image| {
        inputs.registry.root_of(*image) != Root::Rig && matches!(inputs.settings.repository, RepositorySource::Image(_))
    });
    if let (true, RepositorySource::Image(reference)) = (uses_repository_image, &inputs.settings.repository) {
        setup.push(Step::From {
            into: REPOSITORY_CONTAINER,
            name: container_name(&inputs.run_id, "repository", "mount"),
            image: Word::text(reference.as_str()),
            pull: Pull::Missing,
        });
        setup.push(Step::Mount { container: REPOSITORY_CONTAINER, into: REPOSITORY_MOUNT });
        teardown.push(Step::Unmount { container: REPOSITORY_CONTAINER });
        teardown.push(Step::Remove { container: REPOSITORY_CONTAINER });
    }
    // The tarballs that planned images start from directly (an image further down the tree starts
    // from its parent, planned or built already).
    let mut roots: Vec<ImagePlan> = Vec::new();
    for image in images {
        let direct = [Some(inputs.registry.parent_of(*image)), inputs.registry.builder_of(*image)];
        for path in direct.into_iter().flatten().filter_map(|parent| match parent {
            ResolvedParent::Root(Root::Tarball { path, .. }) => Some(path),
            _ => None,
        }) {
            let tarball = tarball_of(inputs, path, image.name())?;
            if !roots.iter().any(|root| root.repository == tarball.repository) {
                roots.push(root_import::plan_import(tarball, inputs.settings, &inputs.run_id));
            }
        }
    }
    let images = images.iter().map(|image| plan_image(*image, inputs, None)).collect::<Result<_>>()?;
    Ok(Plan { setup, roots, images, teardown })
}

/// Plans one image. With its input hash (known once its parent is built), the image is labelled and
/// tagged with it.
pub fn plan_image(image: &dyn Image, inputs: &PlanInputs, input_hash: Option<&str>) -> Result<ImagePlan> {
    check_values(image)?;
    match image.layout() {
        Layout::Full => plan_full(image, inputs, input_hash),
        Layout::Minimal => plan_minimal(image, inputs, input_hash),
    }
}

/// A full image: emerge runs in a working container of the parent.
fn plan_full(image: &dyn Image, inputs: &PlanInputs, input_hash: Option<&str>) -> Result<ImagePlan> {
    let PlanInputs { registry, settings, .. } = inputs;
    let name = image.name();
    let root = registry.root_of(image);
    let (base, pull) = reference_of(registry.parent_of(image), registry.parent_image(image), inputs, name)?;

    let context_dir = context_dir(settings, name);
    let context_files = common_context_files(image, settings, registry.depth(image));

    let mut steps = vec![Step::From {
        into: CONTAINER,
        name: container_name(&inputs.run_id, name, "work"),
        image: Word::text(base.as_str()),
        pull,
    }];
    let run = |argv: Vec<String>, mounts: Vec<Mount>| run_step(CONTAINER, settings, &argv, mounts);
    if let ResolvedParent::Root(Root::Registry(_) | Root::Tarball { .. }) = registry.parent_of(image) {
        steps.extend(stage3_make_conf(CONTAINER, settings));
    }
    steps.push(copy_context(CONTAINER, &context_dir));

    let packages = image.packages();
    let mounts = cache_mounts(root, settings);
    if !packages.is_empty() {
        // Only the step that fetches gets the binhosts' certificates (depclean fetches nothing).
        let (tls_mounts, env) = binhost_tls(settings);
        steps.push(Step::Run {
            container: CONTAINER,
            isolation: settings.isolation,
            mounts: [mounts.clone(), tls_mounts].concat(),
            env,
            argv: emerge_argv(&packages, settings, &[]),
        });
    }

    let depclean = image.depclean().unwrap_or(!registry.has_children(image));
    let cleanups = image.cleanups();
    let measure = |into| Step::Measure {
        container: CONTAINER,
        isolation: settings.isolation,
        mounts: vec![],
        path: "/".into(),
        into,
    };
    if depclean || !cleanups.is_empty() {
        steps.push(measure(SIZE_BEFORE));
    }
    if depclean {
        let depclean = ["emerge", "--depclean", "--with-bdeps=n", "--color=n", "--nospinner"];
        steps.push(run(depclean.map(str::to_owned).to_vec(), mounts));
    }
    // The SBOM of what is installed now, before a cleanup can drop the package database.
    let sbom = sbom_path(settings, name);
    steps.push(Step::Mount { container: CONTAINER, into: ROOT_MOUNT });
    steps.push(sbom_step(image, inputs, input_hash, &sbom));
    steps.push(Step::Unmount { container: CONTAINER });
    steps.push(copy_sbom(&sbom));
    for cleanup in cleanups {
        steps.push(run(cleanup_argv(cleanup, "/"), vec![]));
    }
    if image.trust_site_ca() {
        let Some(ca) = &settings.site_ca else {
            bail!("image `{name}` asks to trust the site CA, but no `site-ca` certificate is configured");
        };
        // Deliberately the CA certificate alone: public, and what TLS clients in the image need.
        steps.push(Step::Copy {
            container: CONTAINER,
            source: Word::text(ca.as_str()),
            destination: SITE_CA_PATH.into(),
            chmod: Some(0o644),
        });
        steps.push(run(vec!["update-ca-certificates".into()], vec![]));
    }
    steps.extend(copy_files(image));
    steps.extend(remove_leftovers_argvs("/").into_iter().map(|argv| run(argv, vec![])));
    steps.push(Step::BaseDigest { container: CONTAINER, into: BASE_DIGEST });

    let mut options = config_options(image);
    if let Some(hash) = input_hash {
        options.push(ConfigOption::Label(INPUTS_LABEL.into(), hash.into()));
    }
    options.extend(oci_options(image, inputs, Some(&base), input_hash));
    steps.push(Step::Config { container: CONTAINER, options });
    steps.push(measure(SIZE));
    let tags = finish(&mut steps, image, inputs, input_hash);

    let repository = settings.repository_of(name);
    Ok(ImagePlan {
        name: name.to_owned(),
        repository,
        tags,
        base,
        minimal: None,
        context_dir,
        context_files,
        sbom: Some(sbom),
        steps,
    })
}

/// A minimal image, in two phases: the builder emerges the packages with `--root` into the mounted
/// working container (scratch or the minimal parent); then that container is configured, committed,
/// tested and tagged like any other.
fn plan_minimal(image: &dyn Image, inputs: &PlanInputs, input_hash: Option<&str>) -> Result<ImagePlan> {
    let PlanInputs { registry, settings, .. } = inputs;
    let name = image.name();
    let root = registry.root_of(image);
    let minimal_parent = registry.minimal_parent(image);
    let base = match minimal_parent {
        Some(parent) => format!("{}:latest", settings.repository_of(parent.name())),
        None => SCRATCH.to_owned(),
    };
    let builder_parent = registry.builder_of(image).expect("a minimal image has a builder");
    let (builder, builder_pull) = reference_of(builder_parent, registry.builder_image(image), inputs, name)?;
    // What the minimal parent holds, when it is known (`None` also for scratch).
    let provided = minimal_parent.and_then(|parent| inputs.packages.get(parent.name()).cloned());
    if image.trust_site_ca() {
        bail!("image `{name}`: trusting the site CA is not supported for minimal images yet");
    }

    let context_dir = context_dir(settings, name);
    let builder_depth = registry.builder_image(image).map_or(0, |builder| registry.depth(builder) + 1);
    let mut context_files = common_context_files(image, settings, builder_depth);
    if let Some(parent) = minimal_parent {
        context_files.push(portage_files::package_provided(name, parent.name(), provided.as_deref()));
    }

    let root_mount = Mount { source: Word::var(ROOT_MOUNT), target: EMERGE_ROOT.into(), read_only: false };
    let in_builder = |argv: Vec<String>| run_step(BUILDER, settings, &argv, vec![root_mount.clone()]);
    let mut steps = vec![
        Step::From {
            into: CONTAINER,
            name: container_name(&inputs.run_id, name, "work"),
            image: Word::text(base.as_str()),
            pull: Pull::Never,
        },
        Step::Mount { container: CONTAINER, into: ROOT_MOUNT },
        Step::From {
            into: BUILDER,
            name: container_name(&inputs.run_id, name, "builder"),
            image: Word::text(builder.as_str()),
            pull: builder_pull,
        },
    ];
    if let ResolvedParent::Root(Root::Registry(_) | Root::Tarball { .. }) = builder_parent {
        steps.extend(stage3_make_conf(BUILDER, settings));
    }
    steps.push(copy_context(BUILDER, &context_dir));
    // Accounts: packages that add users and groups (acct-user/*, acct-group/*) run useradd and
    // groupadd on the new root, which needs these files there first. `-n` keeps the minimal parent's.
    steps.push(in_builder(vec!["mkdir".into(), "-p".into(), format!("{EMERGE_ROOT}/etc")]));
    let mut copy_accounts: Vec<String> = vec!["cp".into(), "-an".into()];
    copy_accounts.extend(["passwd", "group", "shadow", "gshadow"].map(|file| format!("/etc/{file}")));
    copy_accounts.push(format!("{EMERGE_ROOT}/etc/"));
    steps.push(in_builder(copy_accounts));

    let packages = image.packages();
    if !packages.is_empty() {
        let mut mounts = cache_mounts(root, settings);
        mounts.push(root_mount.clone());
        let root_option = format!("--root={EMERGE_ROOT}");
        let argv = emerge_argv(&packages, settings, &[&root_option, "--with-bdeps=n"]);
        let (tls_mounts, env) = binhost_tls(settings);
        mounts.extend(tls_mounts);
        steps.push(Step::Run { container: BUILDER, isolation: settings.isolation, mounts, env, argv });
    }
    // Recorded in a label before any cleanup can drop the package database: children of this image
    // list it in their package.provided.
    steps.push(Step::Capture {
        container: BUILDER,
        isolation: settings.isolation,
        mounts: vec![root_mount.clone()],
        argv: vec!["portageq".into(), "match".into(), EMERGE_ROOT.into(), String::new()],
        into: PACKAGES,
    });
    // The SBOM of the new root, from its own package database, before a cleanup can drop it.
    let sbom = sbom_path(settings, name);
    steps.push(sbom_step(image, inputs, input_hash, &sbom));
    steps.push(copy_sbom(&sbom));
    let cleanups = image.cleanups();
    let measure = |into| Step::Measure {
        container: BUILDER,
        isolation: settings.isolation,
        mounts: vec![root_mount.clone()],
        path: EMERGE_ROOT.into(),
        into,
    };
    if !cleanups.is_empty() {
        steps.push(measure(SIZE_BEFORE));
    }
    for cleanup in cleanups {
        steps.push(in_builder(cleanup_argv(cleanup, EMERGE_ROOT)));
    }
    steps.extend(copy_files(image));
    steps.extend(remove_leftovers_argvs(EMERGE_ROOT).into_iter().map(in_builder));
    steps.push(measure(SIZE));
    steps.push(Step::Remove { container: BUILDER });
    steps.push(Step::Unmount { container: CONTAINER });
    if minimal_parent.is_some() {
        steps.push(Step::BaseDigest { container: CONTAINER, into: BASE_DIGEST });
    }

    let mut options = config_options(image);
    options.push(ConfigOption::Label(PROVIDED_LABEL.into(), provided.as_deref().unwrap_or_default().join("\n")));
    options.push(ConfigOption::LabelFrom(PACKAGES_LABEL.into(), PACKAGES));
    if let Some(hash) = input_hash {
        options.push(ConfigOption::Label(INPUTS_LABEL.into(), hash.into()));
    }
    options.extend(oci_options(image, inputs, minimal_parent.map(|_| base.as_str()), input_hash));
    steps.push(Step::Config { container: CONTAINER, options });
    let tags = finish(&mut steps, image, inputs, input_hash);

    let repository = settings.repository_of(name);
    let minimal =
        MinimalPlan { builder, minimal_parent: minimal_parent.map(|parent| parent.name().to_owned()), provided };
    Ok(ImagePlan {
        name: name.to_owned(),
        repository,
        tags,
        base,
        minimal: Some(minimal),
        context_dir,
        context_files,
        sbom: Some(sbom),
        steps,
    })
}

/// `target/buildah-gentoo/logs/<image>.spdx.json`: the SBOM on the host, next to the build log.
fn sbom_path(settings: &Settings, name: &str) -> Utf8PathBuf {
    settings.work_dir.join("logs").join(format!("{}.spdx.json", file_stem(name)))
}

/// The SBOM of the root filesystem mounted at `$root`, written to `output` on the host.
fn sbom_step(image: &dyn Image, inputs: &PlanInputs, input_hash: Option<&str>, output: &Utf8PathBuf) -> Step {
    Step::Sbom {
        root: Word::var(ROOT_MOUNT),
        image: image.name().to_owned(),
        created: source_date(image, inputs),
        inputs: input_hash.map(str::to_owned),
        output: output.to_string(),
    }
}

/// The SBOM into the image, readable by everyone.
fn copy_sbom(sbom: &Utf8PathBuf) -> Step {
    Step::Copy {
        container: CONTAINER,
        source: Word::text(sbom.as_str()),
        destination: crate::sbom::IMAGE_PATH.into(),
        chmod: Some(0o644),
    }
}

/// The image's SOURCE_DATE_EPOCH: the rig's for rig images, the repository's for the others.
fn source_date(image: &dyn Image, inputs: &PlanInputs) -> i64 {
    match inputs.registry.root_of(image) {
        Root::Rig => inputs.source_dates.rig,
        _ => inputs.source_dates.repository,
    }
}

/// `rm` of [`RUN_LEFTOVERS`] and `find -delete` of the [`VDB_METADATA_CACHE`] files in the root
/// filesystem at `root`.
fn remove_leftovers_argvs(root: &str) -> Vec<Vec<String>> {
    let at = |path: &str| if root == "/" { path.to_owned() } else { format!("{root}{path}") };
    let mut remove: Vec<String> = ["rm", "-rf", "--one-file-system"].map(str::to_owned).to_vec();
    remove.extend(RUN_LEFTOVERS.iter().map(|path| at(path)));
    let vdb = at("/var/db/pkg");
    // A fixed script running its arguments: a root without a package database has nothing to find.
    let mut find: Vec<String> =
        ["sh", "-c", "[ ! -d \"$2\" ] || exec \"$@\"", "sh", "find"].map(str::to_owned).to_vec();
    find.push(vdb);
    find.extend(
        ["-mindepth", "3", "-maxdepth", "3", "-type", "f", "-name", VDB_METADATA_CACHE, "-delete"].map(str::to_owned),
    );
    vec![remove, find]
}

/// The `org.opencontainers.image.*` values, each as a label and as a manifest annotation. `base`:
/// the reference the image starts from (none for scratch). The revision and the base's digest are
/// known when the build runs; the version is the input hash (as in the `inputs-` tag).
fn oci_options(
    image: &dyn Image,
    inputs: &PlanInputs,
    base: Option<&str>,
    input_hash: Option<&str>,
) -> Vec<ConfigOption> {
    let mut fixed =
        vec![(OCI_TITLE, image.name().to_owned()), (OCI_CREATED, crate::clock::rfc3339(source_date(image, inputs)))];
    if let Some(hash) = input_hash {
        fixed.push((OCI_VERSION, hash[..16.min(hash.len())].to_owned()));
    }
    if let Some(source) = &inputs.settings.source {
        fixed.push((OCI_SOURCE, source.clone()));
    }
    let mut from_run = vec![(OCI_REVISION, REVISION)];
    if let Some(base) = base {
        fixed.push((OCI_BASE_NAME, base.to_owned()));
        from_run.push((OCI_BASE_DIGEST, BASE_DIGEST));
    }
    let mut options = Vec::new();
    for (key, value) in fixed {
        options.push(ConfigOption::Label(key.into(), value.clone()));
        options.push(ConfigOption::Annotation(key.into(), value));
    }
    for (key, var) in from_run {
        options.push(ConfigOption::LabelFrom(key.into(), var));
        options.push(ConfigOption::AnnotationFrom(key.into(), var));
    }
    options
}

/// Commit, the post-build test and the tags: the end of every image's plan. Returns the tags.
fn finish(steps: &mut Vec<Step>, image: &dyn Image, inputs: &PlanInputs, input_hash: Option<&str>) -> Vec<String> {
    let settings = inputs.settings;
    steps.push(Step::Commit {
        container: CONTAINER,
        into: IMAGE,
        timestamp: Some(source_date(image, inputs)),
        omit_history: settings.omit_history,
    });
    if let Some(test) = image.test() {
        steps.push(Step::From {
            into: TEST_CONTAINER,
            name: container_name(&inputs.run_id, image.name(), "test"),
            image: Word::var(IMAGE),
            pull: Pull::Never,
        });
        steps.push(run_step(TEST_CONTAINER, settings, &test, vec![]));
        steps.push(Step::Remove { container: TEST_CONTAINER });
    }
    let repository = settings.repository_of(image.name());
    let mut tags = vec![format!("{repository}:latest"), format!("{repository}:{}", inputs.date_tag)];
    if let Some(hash) = input_hash {
        tags.push(inputs_tag(&repository, hash));
    }
    steps.push(Step::Tag { image: IMAGE, references: tags.clone() });
    tags
}

/// The image reference a parent or builder stands for (`image` when it is an image of the registry),
/// and whether it may be pulled.
fn reference_of(
    parent: ResolvedParent,
    image: Option<&dyn Image>,
    inputs: &PlanInputs,
    name: &str,
) -> Result<(String, Pull)> {
    Ok(match parent {
        ResolvedParent::Image(_) => {
            let image = image.expect("a resolved parent image");
            (format!("{}:latest", inputs.settings.repository_of(image.name())), Pull::Never)
        }
        ResolvedParent::Root(Root::Registry(reference)) => (reference.to_owned(), Pull::Missing),
        ResolvedParent::Root(Root::Rig) => (inputs.rig_root.clone(), Pull::Never),
        ResolvedParent::Root(Root::Tarball { path, .. }) => (tarball_of(inputs, path, name)?.digest_tag(), Pull::Never),
    })
}

/// The import of the tarball root at `path`, as the caller resolved it.
fn tarball_of<'a>(inputs: &'a PlanInputs, path: &str, name: &str) -> Result<&'a TarballImport> {
    match inputs.tarballs.get(path) {
        Some(tarball) => Ok(tarball),
        None => bail!("image `{name}`: the tarball root {path} was not resolved (its digest is not known)"),
    }
}

/// `target/buildah-gentoo/context/<image>`: the image's generated files.
fn context_dir(settings: &Settings, name: &str) -> Utf8PathBuf {
    settings.work_dir.join("context").join(file_stem(name))
}

/// The tool's make.conf fragment, the binhosts and the image's own portage files.
fn common_context_files(image: &dyn Image, settings: &Settings, depth: usize) -> Vec<ContextFile> {
    let mut files = vec![portage_files::tool_make_conf(settings.isolation)];
    files.extend(portage_files::binrepos(
        &settings.binhosts,
        settings.binhost_keyring.is_some(),
        &settings.binhost_tls,
    ));
    files.extend(portage_files::image_files(image, depth));
    files
}

/// `buildah run` of argv in `container`.
fn run_step<S: AsRef<str>>(container: Var, settings: &Settings, argv: &[S], mounts: Vec<Mount>) -> Step {
    Step::Run {
        container,
        isolation: settings.isolation,
        mounts,
        env: vec![],
        argv: argv.iter().map(|arg| arg.as_ref().to_owned()).collect(),
    }
}

/// A stage3's make.conf is a file; ours are fragments in a make.conf folder, so the stage3's own file
/// becomes the folder's first fragment. A fixed script (no value of the image's in it), because it must
/// leave a root whose make.conf is a folder already as it is.
fn stage3_make_conf(container: Var, settings: &Settings) -> Vec<Step> {
    vec![run_step(container, settings, &["/bin/sh", "-c", MAKE_CONF_TO_FOLDER], vec![])]
}

/// The build context, copied into the container with one `buildah copy`.
fn copy_context(container: Var, context_dir: &Utf8PathBuf) -> Step {
    Step::Copy { container, source: Word::text(format!("{context_dir}/")), destination: "/".into(), chmod: None }
}

/// The image's own files, copied into the working container.
fn copy_files(image: &dyn Image) -> Vec<Step> {
    image
        .files()
        .into_iter()
        .map(|file| Step::Copy {
            container: CONTAINER,
            source: Word::text(file.source_path()),
            destination: file.destination.to_owned(),
            chmod: file.mode,
        })
        .collect()
}

/// `emerge` of the packages from the shared binary package cache, building (and caching) what it
/// lacks; `extra` options come before the atoms.
fn emerge_argv(packages: &[Atom<'static>], settings: &Settings, extra: &[&str]) -> Vec<String> {
    let mut argv = vec![
        "emerge",
        "--verbose",
        "--color=n",
        "--nospinner",
        "--update",
        "--deep",
        "--newuse",
        "--buildpkg",
        "--usepkg",
        "--binpkg-respect-use=y",
    ];
    if !settings.binhosts.is_empty() {
        argv.push("--getbinpkg");
    }
    argv.extend_from_slice(extra);
    argv.extend(packages.iter().map(|atom| atom.as_str()));
    argv.into_iter().map(str::to_owned).collect()
}

/// The shared caches and the ebuild repository, as volumes of the emerge step.
fn cache_mounts(root: Root, settings: &Settings) -> Vec<Mount> {
    let key = binpkg_key(root);
    let repository = match (root, &settings.repository) {
        (Root::Rig, _) => Word::var_then(WORKSPACE, format!("/{RIG_REPOSITORY}")),
        (_, RepositorySource::Folder(path)) => Word::text(path.as_str()),
        (_, RepositorySource::Image(_)) => Word::var_then(REPOSITORY_MOUNT, "/var/db/repos/gentoo"),
    };
    let mut mounts = vec![
        Mount {
            source: Word::text(settings.cache_dir.join("binpkgs").join(&key).as_str()),
            target: "/var/cache/binpkgs".into(),
            read_only: false,
        },
        Mount {
            source: Word::text(settings.cache_dir.join("distfiles").as_str()),
            target: "/var/cache/distfiles".into(),
            read_only: false,
        },
        Mount { source: repository, target: "/var/db/repos/gentoo".into(), read_only: true },
    ];
    if !settings.binhosts.is_empty() {
        // Packages fetched from a binhost are cached outside the image, like the local ones.
        mounts.push(Mount {
            source: Word::text(settings.cache_dir.join("binhost").join(&key).as_str()),
            target: "/var/cache/binhost".into(),
            read_only: false,
        });
        if let Some(keyring) = &settings.binhost_keyring {
            // Mounted, never copied: the keyring stays out of every layer.
            mounts.push(Mount {
                source: Word::text(keyring.as_str()),
                target: "/etc/portage/gnupg".into(),
                read_only: true,
            });
        }
    }
    mounts
}

/// The certificates folders of the binhosts that have one, mounted read-only (never copied: no
/// layer gets them, and their contents are no input of the image's hash), and for each such binhost
/// the wget options its binrepos.conf fetch command takes from the environment (see
/// [`portage_files::wget_command`]).
fn binhost_tls(settings: &Settings) -> (Vec<Mount>, Vec<(String, String)>) {
    let mut mounts: Vec<Mount> = Vec::new();
    let mut env = Vec::new();
    for binhost in &settings.binhosts {
        let Some((authority, tls)) =
            binhost.https_authority().and_then(|authority| Some((authority, settings.binhost_tls.get(authority)?)))
        else {
            continue;
        };
        let target = format!("{BINHOST_CERTS_MOUNT}/{authority}");
        if !mounts.iter().any(|mount| mount.target == target) {
            mounts.push(Mount { source: Word::text(tls.dir.as_str()), target: target.clone(), read_only: true });
        }
        let mut options = Vec::new();
        if let Some(ca) = &tls.ca {
            options.push(format!("--ca-certificate={target}/{ca}"));
        }
        if let Some((cert, key)) = &tls.client {
            options.push(format!("--certificate={target}/{cert}"));
            options.push(format!("--private-key={target}/{key}"));
        }
        env.push((binhost.wget_tls_var(), options.join(" ")));
    }
    (mounts, env)
}

/// The command that removes one kind of file the image does not want, from the root filesystem at
/// `root` (`/`, or a minimal image's new root in its builder).
fn cleanup_argv(cleanup: Cleanup, root: &str) -> Vec<String> {
    let at = |path: &str| if root == "/" { path.to_owned() } else { format!("{root}{path}") };
    let remove = |paths: &[&str]| {
        let mut argv: Vec<String> = ["rm", "-rf", "--one-file-system"].map(str::to_owned).to_vec();
        argv.extend(paths.iter().map(|path| at(path)));
        argv
    };
    match cleanup {
        Cleanup::Docs => remove(&["/usr/share/doc", "/usr/share/info", "/usr/share/gtk-doc"]),
        Cleanup::ManPages => remove(&["/usr/share/man"]),
        Cleanup::Headers => remove(&["/usr/include"]),
        Cleanup::StaticLibraries => {
            // A minimal root is small and may have no /usr at all: search all of it.
            let top = if root == "/" { "/usr".to_owned() } else { root.to_owned() };
            [top.as_str(), "-xdev", "-type", "f", "(", "-name", "*.a", "-o", "-name", "*.la", ")", "-delete"]
                .iter()
                .fold(vec!["find".to_owned()], |mut argv, arg| {
                    argv.push(arg.to_string());
                    argv
                })
        }
        Cleanup::PackageDatabase => remove(&["/var/db/pkg", "/var/lib/portage", "/var/cache/edb"]),
    }
}

/// Binary packages are only interchangeable between builds from the same root (same CHOST, profile
/// and flags), so each root gets its own package folder.
pub fn binpkg_key(root: Root) -> String {
    match root {
        Root::Rig => "rig".to_owned(),
        Root::Registry(reference) | Root::Tarball { path: reference, .. } => {
            reference.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '_' }).collect()
        }
    }
}

fn config_options(image: &dyn Image) -> Vec<ConfigOption> {
    let mut options = Vec::new();
    for (key, value) in image.env() {
        options.push(ConfigOption::Env(key.into(), value.into()));
    }
    options.push(ConfigOption::Label(IMAGE_LABEL.into(), image.name().into()));
    for (key, value) in image.labels() {
        options.push(ConfigOption::Label(key.into(), value.into()));
    }
    for port in image.ports() {
        options.push(ConfigOption::Port(port.to_string()));
    }
    if let Some(user) = image.user() {
        options.push(ConfigOption::User(user.into()));
    }
    if let Some(dir) = image.workdir() {
        options.push(ConfigOption::Workdir(dir.into()));
    }
    if let Some(argv) = image.entrypoint() {
        options.push(ConfigOption::Entrypoint(argv.iter().map(|arg| arg.to_string()).collect()));
    }
    if let Some(argv) = image.cmd() {
        options.push(ConfigOption::Cmd(argv.iter().map(|arg| arg.to_string()).collect()));
    }
    options
}

/// Values that cannot travel in argv at all.
fn check_values(image: &dyn Image) -> Result<()> {
    let name = image.name();
    let mut values: Vec<(&str, &str)> = Vec::new();
    for (key, value) in image.env() {
        values.push(("environment variable", key));
        values.push(("environment value", value));
    }
    for (key, value) in image.labels() {
        values.push(("label", key));
        values.push(("label value", value));
    }
    for arg in image.entrypoint().into_iter().chain(image.cmd()).chain(image.test()).flatten() {
        values.push(("command argument", arg));
    }
    for (what, value) in values {
        if value.contains('\0') {
            bail!("image `{name}`: {what} {:?} contains a NUL byte, which no command line can carry", value);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use image_defs::{atom, Parent};

    use super::*;

    fn inputs<'a>(registry: &'a Registry, settings: &'a Settings) -> PlanInputs<'a> {
        PlanInputs {
            registry,
            settings,
            date_tag: "20260101".into(),
            rig_root: "localhost/rig-root:x".into(),
            run_id: "t".into(),
            packages: BTreeMap::new(),
            tarballs: BTreeMap::new(),
            source_dates: SourceDates { rig: 1_763_856_000, repository: 1_700_000_000 },
        }
    }

    fn step_index(steps: &[Step], step: &Step) -> usize {
        steps.iter().position(|other| std::ptr::eq(other, step)).unwrap()
    }

    fn position(steps: &[Step], wanted: impl Fn(&Step) -> bool) -> usize {
        steps.iter().position(wanted).expect("the step is planned")
    }

    #[test]
    fn a_minimal_image_emerges_into_the_mounted_root_and_hands_it_back_before_the_commit() {
        let registry = Registry::global().unwrap();
        let settings = Settings::defaults(camino::Utf8Path::new("/cache"));
        let plan = plan_image(registry.get("rig/greeter-min").unwrap(), &inputs(registry, &settings), None).unwrap();
        let steps = &plan.steps;
        let is_run = |step: &Step, program: &str| matches!(step, Step::Run { argv, .. } if argv[0] == program);
        let mount = position(steps, |s| matches!(s, Step::Mount { container: CONTAINER, into: ROOT_MOUNT }));
        let builder = position(steps, |s| matches!(s, Step::From { into: BUILDER, .. }));
        let accounts = position(steps, |s| is_run(s, "cp"));
        let emerge = position(steps, |s| is_run(s, "emerge"));
        let packages = position(steps, |s| matches!(s, Step::Capture { into: PACKAGES, .. }));
        let drop_vdb = position(
            steps,
            |s| matches!(s, Step::Run { argv, .. } if argv.contains(&"/emerge-root/var/db/pkg".to_owned())),
        );
        let remove = position(steps, |s| matches!(s, Step::Remove { container: BUILDER }));
        let unmount = position(steps, |s| matches!(s, Step::Unmount { container: CONTAINER }));
        let commit = position(steps, |s| matches!(s, Step::Commit { .. }));
        assert!(mount < builder && builder < accounts && accounts < emerge, "{steps:#?}");
        assert!(emerge < packages && packages < drop_vdb && drop_vdb < remove, "recorded before dropped: {steps:#?}");
        assert!(remove < unmount && unmount < commit, "{steps:#?}");
        // Everything between the builder's creation and removal runs in the builder, on /emerge-root.
        for step in &steps[builder + 1..remove] {
            match step {
                Step::Run { container, mounts, .. }
                | Step::Capture { container, mounts, .. }
                | Step::Measure { container, mounts, .. } => {
                    assert_eq!(*container, BUILDER, "{step:?}");
                    assert!(mounts.iter().any(|m| m.target == EMERGE_ROOT && m.source == Word::var(ROOT_MOUNT)));
                }
                // The SBOM is written from the mounted new root and copied into it, before the cleanups.
                Step::Sbom { root, .. } => assert_eq!(*root, Word::var(ROOT_MOUNT)),
                Step::Copy { container: CONTAINER, destination, .. } => {
                    assert_eq!(destination, crate::sbom::IMAGE_PATH);
                    assert!(step_index(steps, step) < drop_vdb, "the SBOM is made before the database goes");
                }
                Step::Copy { container, .. } => assert_eq!(*container, BUILDER, "{step:?}"),
                other => panic!("unexpected step in the builder phase: {other:?}"),
            }
        }
        let Step::Run { argv, .. } = &steps[emerge] else { unreachable!() };
        for option in ["--root=/emerge-root", "--usepkg", "--buildpkg", "--binpkg-respect-use=y", "--with-bdeps=n"] {
            assert!(argv.iter().any(|arg| arg == option), "{option} missing: {argv:?}");
        }
        assert_eq!(plan.base, "localhost/gentoo/rig/busybox:latest");
        assert_eq!(plan.minimal.unwrap().builder, "localhost/gentoo/rig/base:latest");
    }

    struct Stage3;
    impl Image for Stage3 {
        fn name(&self) -> &'static str {
            "stage3"
        }
        fn parent(&self) -> Parent {
            Parent::registry("docker.io/gentoo/stage3:latest")
        }
    }
    struct Tiny;
    impl Image for Tiny {
        fn name(&self) -> &'static str {
            "tiny"
        }
        fn parent(&self) -> Parent {
            Parent::registry("docker.io/gentoo/stage3:latest")
        }
        fn layout(&self) -> Layout {
            Layout::Minimal
        }
        fn packages(&self) -> Vec<Atom<'static>> {
            vec![atom!("sys-libs/glibc")]
        }
        fn cleanups(&self) -> Vec<Cleanup> {
            vec![Cleanup::StaticLibraries, Cleanup::Headers]
        }
    }

    #[test]
    fn a_minimal_image_on_a_root_is_built_in_the_root_and_starts_from_scratch() {
        let registry = Registry::new(vec![&Stage3, &Tiny]).unwrap();
        let settings = Settings::defaults(camino::Utf8Path::new("/cache"));
        let plan = plan_image(&Tiny, &inputs(&registry, &settings), Some("ab".repeat(32).as_str())).unwrap();
        assert_eq!(plan.base, SCRATCH);
        assert_eq!(
            plan.steps[2],
            Step::From {
                into: BUILDER,
                name: "bg-t-tiny-builder".into(),
                image: Word::text("docker.io/gentoo/stage3:latest"),
                pull: Pull::Missing
            }
        );
        // The stage3's make.conf file becomes a fragment, in the builder.
        assert!(
            matches!(&plan.steps[3], Step::Run { container: BUILDER, argv, .. } if argv[2] == MAKE_CONF_TO_FOLDER),
            "{:#?}",
            plan.steps
        );
        let cleanups: Vec<&Vec<String>> = plan
            .steps
            .iter()
            .filter_map(|step| match step {
                Step::Run { argv, .. } if argv[0] == "rm" || argv[0] == "find" => Some(argv),
                _ => None,
            })
            .collect();
        assert_eq!(
            cleanups[0][..2],
            ["find".to_owned(), "/emerge-root".to_owned()],
            "the whole new root: {cleanups:?}"
        );
        assert_eq!(cleanups[1][3], "/emerge-root/usr/include");
        assert_eq!(binpkg_key(registry.root_of(&Tiny)), "docker.io_gentoo_stage3_latest");
    }

    #[test]
    fn cleanups_of_a_full_image_stay_where_they_were() {
        assert_eq!(cleanup_argv(Cleanup::ManPages, "/"), ["rm", "-rf", "--one-file-system", "/usr/share/man"]);
        assert_eq!(cleanup_argv(Cleanup::StaticLibraries, "/")[1], "/usr");
        assert_eq!(
            cleanup_argv(Cleanup::PackageDatabase, "/emerge-root")[3..],
            ["/emerge-root/var/db/pkg", "/emerge-root/var/lib/portage", "/emerge-root/var/cache/edb"]
        );
    }
}
