//! The planner: a pure function from images and settings to plain data. No I/O, no clock, no
//! randomness: the same inputs give the same plan, which renders to a shell script
//! ([`script::render`]) and is what the executor runs, argv by argv.

pub mod command;
mod portage_files;
pub mod push;
pub mod script;
pub mod step;

use anyhow::{bail, Result};
use camino::Utf8PathBuf;
use image_defs::registry::ResolvedParent;
use image_defs::{Cleanup, Image, Registry, Root};
use serde::Serialize;

pub use command::{Command, Piece, Var, Word};
pub use portage_files::{file_stem, ContextFile};
pub use step::{ConfigOption, Mount, Pull, Step};

use crate::settings::{RepositorySource, Settings};
use step::{CONTAINER, IMAGE, REPOSITORY_CONTAINER, REPOSITORY_MOUNT, SIZE, SIZE_BEFORE, TEST_CONTAINER, WORKSPACE};

/// Where the rig's ebuild repository lives, relative to the workspace root.
pub const RIG_REPOSITORY: &str = "tests/rig/repo";
/// The label carrying the image's name.
pub const IMAGE_LABEL: &str = "io.buildah-gentoo.image";
/// Turns a root's `/etc/portage/make.conf` file into the first fragment of a make.conf folder.
const MAKE_CONF_TO_FOLDER: &str = "if [ -f /etc/portage/make.conf ]; then \
     mv /etc/portage/make.conf /etc/portage/make.conf.stage3 && mkdir /etc/portage/make.conf && \
     mv /etc/portage/make.conf.stage3 /etc/portage/make.conf/00-stage3.conf; fi";

/// Where an image that trusts the site CA gets its certificate.
pub const SITE_CA_PATH: &str = "/usr/local/share/ca-certificates/buildah-gentoo-site-ca.crt";
/// Where the steps that fetch from a binhost find its certificates folder: `<this>/<host[:port]>`.
pub const BINHOST_CERTS_MOUNT: &str = "/run/buildah-gentoo/certs";
/// The label carrying the image's input hash.
pub const INPUTS_LABEL: &str = "io.buildah-gentoo.inputs";
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
    /// What the working container starts from.
    pub base: String,
    /// The generated build context: a folder relative to the workspace root and its files.
    pub context_dir: Utf8PathBuf,
    pub context_files: Vec<ContextFile>,
    pub steps: Vec<Step>,
}

/// Plans `images` (in build order, as [`Registry::in_order`] or [`Registry::with_ancestors`] give them).
pub fn plan(images: &[&'static dyn Image], inputs: &PlanInputs) -> Result<Plan> {
    let mut setup = Vec::new();
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
    let images = images.iter().map(|image| plan_image(*image, inputs, None)).collect::<Result<_>>()?;
    Ok(Plan { setup, images, teardown })
}

/// Plans one image. With its input hash (known once its parent is built), the image is labelled and
/// tagged with it.
pub fn plan_image(image: &dyn Image, inputs: &PlanInputs, input_hash: Option<&str>) -> Result<ImagePlan> {
    let PlanInputs { registry, settings, .. } = inputs;
    let name = image.name();
    let root = registry.root_of(image);
    check_values(image)?;

    let (base, pull) = match registry.parent_of(image) {
        ResolvedParent::Image(_) => {
            let parent = registry.parent_image(image).expect("parent is an image");
            (format!("{}:latest", settings.repository_of(parent.name())), Pull::Never)
        }
        ResolvedParent::Root(Root::Registry(reference)) => (reference.to_owned(), Pull::Missing),
        ResolvedParent::Root(Root::Rig) => (inputs.rig_root.clone(), Pull::Never),
        ResolvedParent::Root(Root::Tarball { path, .. }) => {
            bail!("image `{name}`: stage3 tarball roots ({path}) are imported by `cargo xtask catalyst`, which is not built yet")
        }
    };

    let context_dir = settings.work_dir.join("context").join(file_stem(name));
    let mut context_files = vec![portage_files::tool_make_conf(settings.isolation)];
    context_files.extend(portage_files::binrepos(
        &settings.binhosts,
        settings.binhost_keyring.is_some(),
        &settings.binhost_tls,
    ));
    context_files.extend(portage_files::image_files(image, depth(registry, image)));

    let mut steps = vec![Step::From {
        into: CONTAINER,
        name: container_name(&inputs.run_id, name, "work"),
        image: Word::text(base.as_str()),
        pull,
    }];
    let run_with = |argv: &[&str], mounts: Vec<Mount>, env: Vec<(String, String)>| Step::Run {
        container: CONTAINER,
        isolation: settings.isolation,
        mounts,
        env,
        argv: argv.iter().map(|arg| arg.to_string()).collect(),
    };
    let run = |argv: &[&str], mounts: Vec<Mount>| run_with(argv, mounts, vec![]);
    if let ResolvedParent::Root(Root::Registry(_)) = registry.parent_of(image) {
        // A stage3's make.conf is a file; ours are fragments in a make.conf folder, so the stage3's
        // own file becomes the folder's first fragment. A fixed script (no value of the image's in
        // it), because it must leave a root whose make.conf is a folder already as it is.
        steps.push(run(&["/bin/sh", "-c", MAKE_CONF_TO_FOLDER], vec![]));
    }
    steps.push(Step::Copy {
        container: CONTAINER,
        source: Word::text(format!("{context_dir}/")),
        destination: "/".into(),
        chmod: None,
    });

    let packages = image.packages();
    let mounts = cache_mounts(root, settings);
    if !packages.is_empty() {
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
        argv.extend(packages.iter().map(|atom| atom.as_str()));
        // Only the step that fetches gets the binhosts' certificates (depclean fetches nothing).
        let (tls_mounts, env) = binhost_tls(settings);
        steps.push(run_with(&argv, [mounts.clone(), tls_mounts].concat(), env));
    }

    let depclean = image.depclean().unwrap_or(!registry.has_children(image));
    let cleanups = image.cleanups();
    if depclean || !cleanups.is_empty() {
        steps.push(Step::Measure { container: CONTAINER, isolation: settings.isolation, into: SIZE_BEFORE });
    }
    if depclean {
        steps.push(run(&["emerge", "--depclean", "--with-bdeps=n", "--color=n", "--nospinner"], mounts));
    }
    for cleanup in cleanups {
        steps.push(run(&cleanup_argv(cleanup), vec![]));
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
        steps.push(run(&["update-ca-certificates"], vec![]));
    }

    for file in image.files() {
        steps.push(Step::Copy {
            container: CONTAINER,
            source: Word::text(file.source_path()),
            destination: file.destination.to_owned(),
            chmod: file.mode,
        });
    }

    let mut options = config_options(image);
    if let Some(hash) = input_hash {
        options.push(ConfigOption::Label(INPUTS_LABEL.into(), hash.into()));
    }
    steps.push(Step::Config { container: CONTAINER, options });
    steps.push(Step::Measure { container: CONTAINER, isolation: settings.isolation, into: SIZE });
    steps.push(Step::Commit { container: CONTAINER, into: IMAGE });

    if let Some(test) = image.test() {
        steps.push(Step::From {
            into: TEST_CONTAINER,
            name: container_name(&inputs.run_id, name, "test"),
            image: Word::var(IMAGE),
            pull: Pull::Never,
        });
        steps.push(Step::Run {
            container: TEST_CONTAINER,
            isolation: settings.isolation,
            mounts: vec![],
            env: vec![],
            argv: test.iter().map(|arg| arg.to_string()).collect(),
        });
        steps.push(Step::Remove { container: TEST_CONTAINER });
    }

    let repository = settings.repository_of(name);
    let mut tags = vec![format!("{repository}:latest"), format!("{repository}:{}", inputs.date_tag)];
    if let Some(hash) = input_hash {
        tags.push(inputs_tag(&repository, hash));
    }
    steps.push(Step::Tag { image: IMAGE, references: tags.clone() });

    Ok(ImagePlan { name: name.to_owned(), repository, tags, base, context_dir, context_files, steps })
}

/// How many images stand between this one and its root (0 for an image on a root).
fn depth(registry: &Registry, image: &dyn Image) -> usize {
    let mut depth = 0;
    let mut current = registry.parent_image(image);
    while let Some(parent) = current {
        depth += 1;
        current = registry.parent_image(parent);
    }
    depth
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

/// The command that removes one kind of file the image does not want.
fn cleanup_argv(cleanup: Cleanup) -> Vec<&'static str> {
    match cleanup {
        Cleanup::Docs => {
            vec!["rm", "-rf", "--one-file-system", "/usr/share/doc", "/usr/share/info", "/usr/share/gtk-doc"]
        }
        Cleanup::ManPages => vec!["rm", "-rf", "--one-file-system", "/usr/share/man"],
        Cleanup::Headers => vec!["rm", "-rf", "--one-file-system", "/usr/include"],
        Cleanup::StaticLibraries => {
            vec!["find", "/usr", "-xdev", "-type", "f", "(", "-name", "*.a", "-o", "-name", "*.la", ")", "-delete"]
        }
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
