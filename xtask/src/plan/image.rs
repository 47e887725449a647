//! One image's plan. A full image emerges in a working container of its parent; a minimal image is
//! built in two phases: a builder emerges the packages with `--root` into the mounted working
//! container (scratch or the minimal parent), which is then configured, committed, tested and tagged.
//! Both end the same way ([`finish`]).

use anyhow::{bail, Result};
use image_defs::registry::ResolvedParent;
use image_defs::{Image, Layout, Root};

use super::actions;
use super::binpkg_cache;
use super::cleanup::{cleanup_argv, remove_leftovers_argv};
use super::emerge::{binhost_tls, cache_mounts, emerge_argv, mirror_mounts, mirrors_env, repository_mounts, root_key};
use super::input_hash::{add_repository_parts, combine, own_parts};
use super::input_parts::{IdWord, InputParts, INPUT_PARTS_LABEL};
use super::labels::{config_options, oci_options};
use super::step::{
    BASE_DIGEST, BASE_ID, BUILDER, BUILDER_ID, CONTAINER, EMERGE_ROOT, IMAGE, INPUTS, PACKAGES, PARENT_PACKAGES,
    PROVIDED, ROOT_MOUNT, SIZE, SIZE_BEFORE, TEST_CONTAINER,
};
use super::{
    container_name, context_dir, file_stem, inputs_tag, portage_files, tarball_of, Base, ConfigOption, ContextFile,
    ImagePlan, KnownId, MinimalPlan, Mount, PlanInputs, Pull, Role, StartsFrom, Status, Step, Var, Word,
    BINPKG_FLAGS_LABEL, BUILDER_LABEL, INPUTS_TAG_PREFIX, PACKAGES_LABEL, PROVIDED_LABEL, SCRATCH, SITE_CA_PATH,
};
use crate::settings::Settings;

/// Turns a root's `/etc/portage/make.conf` file into the first fragment of a make.conf folder.
const MAKE_CONF_TO_FOLDER: &str = "if [ -f /etc/portage/make.conf ]; then \
     mv /etc/portage/make.conf /etc/portage/make.conf.stage3 && mkdir /etc/portage/make.conf && \
     mv /etc/portage/make.conf.stage3 /etc/portage/make.conf/00-stage3.conf; fi";

/// Plans one image on its own, as `plan` prints it: its steps, with the input hash settled by its
/// prelude (a value when its parent and builder are in local storage).
pub fn plan_image(image: &dyn Image, inputs: &PlanInputs) -> Result<ImagePlan> {
    plan_with_prelude(image, inputs, &|_| None)
}

/// Plans one image with the prelude that settles its input hash, and whether it runs at all.
/// `planned(name)` tells what the plan knows of the id of an image it planned before this one.
pub(super) fn plan_with_prelude(
    image: &dyn Image,
    inputs: &PlanInputs,
    planned: &dyn Fn(&str) -> Option<KnownId>,
) -> Result<ImagePlan> {
    settle(image, draft(image, inputs)?, inputs, planned)
}

/// An image's steps and the parts of its input hash that come from its definition: all of its plan
/// that depends neither on local storage nor on the images it starts from, so drafts are made while
/// storage is listed, and many at once.
pub struct Draft {
    plan: ImagePlan,
    parts: InputParts,
}

/// The image's draft. Reads neither `inputs.storage` nor `inputs.repositories`: a command drafts
/// before its storage listing is back.
pub(super) fn draft(image: &dyn Image, inputs: &PlanInputs) -> Result<Draft> {
    let plan = plan_steps(image, inputs)?;
    let parts = own_parts(image, &plan, inputs)?;
    Ok(Draft { plan, parts })
}

/// Completes a draft: the repositories' identities, the input-hash tags storage holds for an older
/// build, the ids the image starts from (values, or prelude steps that read them), the record of
/// its parts, its input hash, and whether it is up to date. `planned(name)` tells what the plan
/// knows of the id of an image it planned before this one.
pub(super) fn settle(
    image: &dyn Image,
    draft: Draft,
    inputs: &PlanInputs,
    planned: &dyn Fn(&str) -> Option<KnownId>,
) -> Result<ImagePlan> {
    let Draft { mut plan, mut parts } = draft;
    add_repository_parts(&mut parts, image, inputs)?;
    plan.steps.extend(untag_stale(&plan.repository, inputs));
    let registry = inputs.registry;
    let base = match plan.base.clone() {
        Base::Scratch => Dependency::Known(SCRATCH.to_owned()),
        Base::Image(reference) => {
            let role = if plan.minimal.is_some() { "minimal parent" } else { "parent" };
            let parent = registry.parent_image(image).map(|parent| parent.name());
            dependency(registry.parent_of(image), parent, &reference, role, inputs, planned, &mut plan.needs)
        }
    };
    let builder = match (&plan.minimal, registry.builder_of(image)) {
        (Some(minimal), Some(builder)) => {
            let name = registry.builder_image(image).map(|builder| builder.name());
            let reference = minimal.builder.clone();
            Some(dependency(builder, name, &reference, "builder", inputs, planned, &mut plan.needs))
        }
        _ => None,
    };
    let partial = parts.partial_hash();
    // The record of the parts, with the ids the image starts from (values, or the prelude's variables).
    fn id_word(dependency: &Dependency, var: Var) -> IdWord<'_> {
        match dependency {
            Dependency::Known(id) => IdWord::Value(id),
            _ => IdWord::Var(var),
        }
    }
    let label = parts.label(id_word(&base, BASE_ID), builder.as_ref().map(|builder| id_word(builder, BUILDER_ID)));
    let config = plan.steps.iter_mut().rev().find_map(|step| match step {
        Step::Config { container: CONTAINER, options } => Some(options),
        _ => None,
    });
    config.expect("every image is configured").push(ConfigOption::LabelWord(INPUT_PARTS_LABEL.into(), label));
    let parent = if plan.minimal.is_some() { registry.minimal_parent(image) } else { registry.parent_image(image) };
    plan.starts_from.push(StartsFrom {
        role: Role::Parent,
        image: parent.map(|parent| parent.name().to_owned()),
        reference: plan.base.reference().to_owned(),
        id: base.value().map(str::to_owned),
    });
    if let (Some(minimal), Some(builder)) = (&plan.minimal, &builder) {
        plan.starts_from.push(StartsFrom {
            role: Role::Builder,
            image: registry.builder_image(image).map(|builder| builder.name().to_owned()),
            reference: minimal.builder.clone(),
            id: builder.value().map(str::to_owned),
        });
    }
    plan.input_parts = parts;
    match (&base, &builder) {
        (Dependency::Known(base), None | Some(Dependency::Known(_))) => {
            let builder = builder.as_ref().map(|builder| builder.value().expect("known"));
            let hash = combine(&partial, base, builder);
            let latest = inputs.storage.id(&format!("{}:latest", plan.repository));
            let marker = inputs.storage.id(&inputs_tag(&plan.repository, &hash));
            if let (false, Some(latest), Some(marker)) = (inputs.force, latest, marker) {
                if latest == marker {
                    plan.status = Status::UpToDate { id: latest.to_owned() };
                }
            }
            plan.prelude.push(Step::Assign { into: INPUTS, value: hash.clone() });
            plan.input_hash = Some(hash);
        }
        _ => {
            plan.prelude.push(base.step(BASE_ID));
            plan.prelude.extend(builder.as_ref().map(|builder| builder.step(BUILDER_ID)));
            plan.prelude.push(Step::InputHash {
                partial,
                base: Word::var(BASE_ID),
                builder: builder.map(|_| Word::var(BUILDER_ID)),
                into: INPUTS,
            });
        }
    }
    Ok(plan)
}

/// What the plan knows of the id of an image another one starts from.
enum Dependency {
    /// Its id.
    Known(String),
    /// A root image local storage lacks: pulled by the prelude, which learns its id so.
    Pull(String),
    /// An image this plan builds or imports (or that must be in storage when the plan runs): its id
    /// is read by the prelude.
    Inspect(String),
}

impl Dependency {
    fn value(&self) -> Option<&str> {
        match self {
            Dependency::Known(id) => Some(id),
            _ => None,
        }
    }

    /// The prelude step that assigns the id to `var`.
    fn step(&self, var: Var) -> Step {
        match self {
            Dependency::Known(id) => Step::Assign { into: var, value: id.clone() },
            Dependency::Pull(reference) => Step::PullRoot { reference: reference.clone(), into: var },
            Dependency::Inspect(reference) => Step::ImageId { reference: Word::text(reference.as_str()), into: var },
        }
    }
}

/// What the plan knows of the id of `reference`, which stands for `parent` of the image (the image
/// named `name`, when it is one of the registry's).
fn dependency(
    parent: ResolvedParent,
    name: Option<&str>,
    reference: &str,
    role: &str,
    inputs: &PlanInputs,
    planned: &dyn Fn(&str) -> Option<KnownId>,
    needs: &mut Vec<(String, String)>,
) -> Dependency {
    match name.and_then(planned) {
        Some(KnownId::Value(id)) => return Dependency::Known(id),
        Some(KnownId::AtRunTime) => return Dependency::Inspect(reference.to_owned()),
        None => {}
    }
    if let Some(id) = inputs.storage.id(reference) {
        return Dependency::Known(id.to_owned());
    }
    match parent {
        ResolvedParent::Root(Root::Registry(root)) => Dependency::Pull(root.to_owned()),
        // Imported by this plan's roots.
        ResolvedParent::Root(Root::Tarball { .. }) => Dependency::Inspect(reference.to_owned()),
        _ => {
            needs.push((reference.to_owned(), role.to_owned()));
            Dependency::Inspect(reference.to_owned())
        }
    }
}

/// The image's steps, with its input hash a variable ([`INPUTS`]) and no prelude yet.
pub(super) fn plan_steps(image: &dyn Image, inputs: &PlanInputs) -> Result<ImagePlan> {
    check_values(image)?;
    match image.spec().layout {
        Layout::Full => plan_full(image, inputs),
        Layout::Minimal => plan_minimal(image, inputs),
    }
}

/// A full image: emerge runs in a working container of the parent.
fn plan_full(image: &dyn Image, inputs: &PlanInputs) -> Result<ImagePlan> {
    let PlanInputs { registry, settings, .. } = inputs;
    let name = image.name();
    let root = registry.root_of(image);
    let (base, pull) = reference_of(registry.parent_of(image), registry.parent_image(image), inputs, name)?;
    let context_dir = context_dir(settings, name);
    let context_files = common_context_files(image, inputs, registry.depth(image));

    let mut steps = vec![Step::From {
        into: CONTAINER,
        name: container_name(name, "work"),
        image: Word::text(base.as_str()),
        pull,
    }];
    let run = |argv: Vec<String>, mounts: Vec<Mount>| run_step(CONTAINER, settings, &argv, mounts);
    if let ResolvedParent::Root(Root::Registry(_) | Root::Tarball { .. }) = registry.parent_of(image) {
        steps.push(stage3_make_conf(CONTAINER, settings));
    }
    steps.push(copy_context(CONTAINER, &context_dir));

    let packages = image.spec().packages;
    let repositories = repository_mounts(root, settings, &registry.repositories_of(image));
    if !packages.is_empty() {
        steps.extend(binpkg_cache::steps(CONTAINER, settings, repositories.clone(), &root_key(root), None));
        steps.extend(binrepos_steps(CONTAINER, inputs));
        // Only the step that fetches gets the binhosts' certificates and the mirrors (depclean
        // fetches nothing).
        let (tls_mounts, mut env) = binhost_tls(settings, &inputs.binhost_tls);
        env.extend(mirrors_env(settings));
        steps.push(Step::Run {
            container: CONTAINER,
            isolation: settings.isolation,
            mounts: [repositories.clone(), cache_mounts(settings), mirror_mounts(root), tls_mounts].concat(),
            env,
            argv: emerge_argv(packages, settings, &[]),
        });
    }

    let depclean = image.spec().depclean.unwrap_or(!registry.has_children(image));
    let cleanups = image.spec().cleanups;
    // Mounted from here to the end: sizes are measured on the mount (on the host), the SBOM is read
    // from it.
    steps.push(Step::Mount { container: CONTAINER, into: ROOT_MOUNT });
    let measure = |into| Step::Measure { root: Word::var(ROOT_MOUNT), into };
    if depclean || !cleanups.is_empty() {
        steps.push(measure(SIZE_BEFORE));
    }
    if depclean {
        let depclean = ["emerge", "--depclean", "--with-bdeps=n", "--color=n", "--nospinner"];
        steps.push(run(depclean.map(str::to_owned).to_vec(), repositories));
    }
    let place = actions::Place { container: CONTAINER, root: "", mounts: vec![] };
    steps.extend(actions::steps(image.spec().actions, &place, settings, false));
    // The SBOM of what is installed now, before a cleanup can drop the package database.
    let sbom = sbom_path(settings, name);
    steps.push(sbom_step(image, inputs, &sbom));
    steps.push(copy_sbom(&sbom));
    for &cleanup in cleanups {
        steps.push(run(cleanup_argv(cleanup, "/"), vec![]));
    }
    if image.spec().trust_site_ca {
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
    steps.push(run(remove_leftovers_argv("/", inputs.source_date(image)), vec![]));
    steps.push(Step::BaseDigest { container: CONTAINER, into: BASE_DIGEST });

    let mut options = config_options(image);
    if !packages.is_empty() {
        options.push(ConfigOption::LabelFrom(BINPKG_FLAGS_LABEL.into(), binpkg_cache::BINPKG_FLAGS));
    }
    options.extend(oci_options(image, inputs, Some(&base)));
    steps.push(Step::Config { container: CONTAINER, options });
    steps.push(measure(SIZE));
    steps.push(Step::Unmount { container: CONTAINER });
    let tags = finish(&mut steps, image, inputs);
    Ok(ImagePlan {
        name: name.to_owned(),
        repository: settings.repository_of(name),
        status: Status::Build,
        input_hash: None,
        tags,
        base: Base::Image(base),
        needs: Vec::new(),
        minimal: None,
        context_dir,
        context_files,
        sbom: Some(sbom),
        prelude: Vec::new(),
        steps,
        input_parts: Default::default(),
        starts_from: Vec::new(),
    })
}

/// A minimal image, in two phases: the builder emerges the packages with `--root` into the mounted
/// working container (scratch or the minimal parent); then that container is configured, committed,
/// tested and tagged like any other.
fn plan_minimal(image: &dyn Image, inputs: &PlanInputs) -> Result<ImagePlan> {
    let PlanInputs { registry, settings, .. } = inputs;
    let name = image.name();
    let root = registry.root_of(image);
    let minimal_parent = registry.minimal_parent(image);
    let base = match minimal_parent {
        Some(parent) => Base::Image(format!("{}:latest", settings.repository_of(parent.name()))),
        None => Base::Scratch,
    };
    let builder_parent = registry.builder_of(image).expect("a minimal image has a builder");
    let (builder, builder_pull) = reference_of(builder_parent, registry.builder_image(image), inputs, name)?;
    if image.spec().trust_site_ca {
        bail!("image `{name}`: trusting the site CA is not supported for minimal images yet");
    }
    let context_dir = context_dir(settings, name);
    // The builder's own fragments are numbered up to its depth; the chain's follow, the image's last.
    let builder_depth = registry.builder_image(image).map_or(0, |builder| registry.depth(builder) + 1);
    let context_files = common_context_files(image, inputs, builder_depth);

    let root_mount = Mount { source: Word::var(ROOT_MOUNT), target: EMERGE_ROOT.into(), read_only: false };
    let in_builder = |argv: Vec<String>| run_step(BUILDER, settings, &argv, vec![root_mount.clone()]);
    let mut steps = vec![
        Step::From {
            into: CONTAINER,
            name: container_name(name, "work"),
            image: Word::text(base.reference()),
            pull: Pull::Never,
        },
        Step::Mount { container: CONTAINER, into: ROOT_MOUNT },
        Step::From {
            into: BUILDER,
            name: container_name(name, "builder"),
            image: Word::text(builder.as_str()),
            pull: builder_pull,
        },
    ];
    if let ResolvedParent::Root(Root::Registry(_) | Root::Tarball { .. }) = builder_parent {
        steps.push(stage3_make_conf(BUILDER, settings));
    }
    steps.push(copy_context(BUILDER, &context_dir));
    // What the minimal parent holds (from its labels: a function of its id, which the input hash
    // covers) and the image's own entries go into the builder's package.provided: emerge does not
    // install them again.
    let entries = provided_entries(image);
    if minimal_parent.is_some() {
        steps.push(Step::ReadLabels {
            reference: base.reference().to_owned(),
            keys: vec![PACKAGES_LABEL.into(), PROVIDED_LABEL.into()],
            into: PARENT_PACKAGES,
        });
    }
    if minimal_parent.is_some() || !entries.is_empty() {
        steps.push(Step::Provided {
            container: BUILDER,
            isolation: settings.isolation,
            parent: if minimal_parent.is_some() { Word::var(PARENT_PACKAGES) } else { Word::text("") },
            entries,
            into: PROVIDED,
        });
    }
    // Accounts: packages that add users and groups (acct-user/*, acct-group/*) run useradd and
    // groupadd on the new root, which needs these files there first. `-n` keeps the minimal parent's.
    steps.push(in_builder(vec!["mkdir".into(), "-p".into(), format!("{EMERGE_ROOT}/etc")]));
    let mut copy_accounts: Vec<String> = vec!["cp".into(), "-an".into()];
    copy_accounts.extend(["passwd", "group", "shadow", "gshadow"].map(|file| format!("/etc/{file}")));
    copy_accounts.push(format!("{EMERGE_ROOT}/etc/"));
    steps.push(in_builder(copy_accounts));

    let packages = image.spec().packages;
    if !packages.is_empty() {
        let repositories = repository_mounts(root, settings, &registry.repositories_of(image));
        let parent = minimal_parent.map(|_| base.reference());
        steps.extend(binpkg_cache::steps(BUILDER, settings, repositories.clone(), &root_key(root), parent));
        steps.extend(binrepos_steps(BUILDER, inputs));
        let mut mounts = [repositories, cache_mounts(settings), mirror_mounts(root)].concat();
        mounts.push(root_mount.clone());
        let root_option = format!("--root={EMERGE_ROOT}");
        let argv = emerge_argv(packages, settings, &[&root_option, "--with-bdeps=n"]);
        let (tls_mounts, mut env) = binhost_tls(settings, &inputs.binhost_tls);
        env.extend(mirrors_env(settings));
        mounts.extend(tls_mounts);
        steps.push(Step::Run { container: BUILDER, isolation: settings.isolation, mounts, env, argv });
    }
    let place = actions::Place { container: BUILDER, root: EMERGE_ROOT, mounts: vec![root_mount.clone()] };
    steps.extend(actions::steps(image.spec().actions, &place, settings, true));
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
    steps.push(sbom_step(image, inputs, &sbom));
    steps.push(copy_sbom(&sbom));
    let cleanups = image.spec().cleanups;
    let measure = |into| Step::Measure { root: Word::var(ROOT_MOUNT), into };
    if !cleanups.is_empty() {
        steps.push(measure(SIZE_BEFORE));
    }
    for &cleanup in cleanups {
        steps.push(in_builder(cleanup_argv(cleanup, EMERGE_ROOT)));
    }
    steps.extend(copy_files(image));
    steps.push(in_builder(remove_leftovers_argv(EMERGE_ROOT, inputs.source_date(image))));
    steps.push(measure(SIZE));
    steps.push(Step::Remove { container: BUILDER });
    steps.push(Step::Unmount { container: CONTAINER });
    if minimal_parent.is_some() {
        steps.push(Step::BaseDigest { container: CONTAINER, into: BASE_DIGEST });
    }
    steps.extend(actions::in_image(image.spec().actions, CONTAINER, settings));

    let mut options = config_options(image);
    if minimal_parent.is_some() || !image.spec().provided.is_empty() {
        options.push(ConfigOption::LabelFrom(PROVIDED_LABEL.into(), PROVIDED));
    } else {
        options.push(ConfigOption::Label(PROVIDED_LABEL.into(), String::new()));
    }
    options.push(ConfigOption::LabelFrom(PACKAGES_LABEL.into(), PACKAGES));
    options.push(ConfigOption::Label(BUILDER_LABEL.into(), builder.clone()));
    if !packages.is_empty() {
        options.push(ConfigOption::LabelFrom(BINPKG_FLAGS_LABEL.into(), binpkg_cache::BINPKG_FLAGS));
    }
    options.extend(oci_options(image, inputs, minimal_parent.map(|_| base.reference())));
    steps.push(Step::Config { container: CONTAINER, options });
    let tags = finish(&mut steps, image, inputs);
    let minimal = MinimalPlan { builder, minimal_parent: minimal_parent.map(|parent| parent.name().to_owned()) };
    Ok(ImagePlan {
        name: name.to_owned(),
        repository: settings.repository_of(name),
        status: Status::Build,
        input_hash: None,
        tags,
        base,
        needs: Vec::new(),
        minimal: Some(minimal),
        context_dir,
        context_files,
        sbom: Some(sbom),
        prelude: Vec::new(),
        steps,
        input_parts: Default::default(),
        starts_from: Vec::new(),
    })
}

/// The image's own `package.provided` entries: `CAT/PF` of its `=CAT/PF` atoms, sorted.
fn provided_entries(image: &dyn Image) -> Vec<String> {
    let mut entries: Vec<String> =
        image.spec().provided.iter().map(|atom| atom.as_str().trim_start_matches('=').to_owned()).collect();
    entries.sort();
    entries
}

/// `target/buildah-gentoo/logs/<image>.spdx.json`: the SBOM on the host, next to the build log.
fn sbom_path(settings: &Settings, name: &str) -> camino::Utf8PathBuf {
    settings.work_dir.join("logs").join(format!("{}.spdx.json", file_stem(name)))
}

/// The SBOM of the root filesystem mounted at `$root`, written to `output` on the host.
fn sbom_step(image: &dyn Image, inputs: &PlanInputs, output: &camino::Utf8Path) -> Step {
    Step::Sbom {
        root: Word::var(ROOT_MOUNT),
        image: image.name().to_owned(),
        created: inputs.source_date(image),
        inputs: Some(Word::var(INPUTS)),
        output: output.to_string(),
    }
}

/// The SBOM into the image, readable by everyone.
fn copy_sbom(sbom: &camino::Utf8Path) -> Step {
    Step::Copy {
        container: CONTAINER,
        source: Word::text(sbom.as_str()),
        destination: crate::sbom::IMAGE_PATH.into(),
        chmod: Some(0o644),
    }
}

/// Commit, the post-build test, the tags, and the replaced image's input-hash tag removed: the end
/// of every image's plan. Returns the tags.
fn finish(steps: &mut Vec<Step>, image: &dyn Image, inputs: &PlanInputs) -> Vec<Word> {
    let settings = inputs.settings;
    steps.push(Step::Commit {
        container: CONTAINER,
        into: IMAGE,
        timestamp: Some(inputs.source_date(image)),
        omit_history: settings.omit_history,
        // Only Docker-format image configs keep a health check.
        docker_format: image.spec().healthcheck.is_some(),
    });
    if let Some(test) = image.spec().test {
        steps.push(Step::From {
            into: TEST_CONTAINER,
            name: container_name(image.name(), "test"),
            image: Word::var(IMAGE),
            pull: Pull::Never,
        });
        steps.push(run_step(TEST_CONTAINER, settings, test, vec![]));
        steps.push(Step::Remove { container: TEST_CONTAINER });
    }
    let repository = settings.repository_of(image.name());
    let marker = Word::text_then_var(format!("{repository}:{INPUTS_TAG_PREFIX}"), INPUTS);
    let tags = vec![
        Word::text(format!("{repository}:latest")),
        Word::text(format!("{repository}:{}", inputs.date_tag)),
        marker.clone(),
    ];
    steps.push(Step::Tag { image: IMAGE, references: tags.clone() });
    tags
}

/// The last steps: the image `latest` was when the inputs were gathered loses its input-hash tags (it
/// no longer matches `latest`), unless the new image carries the same.
fn untag_stale(repository: &str, inputs: &PlanInputs) -> Vec<Step> {
    let keep = Word::text_then_var(format!("{repository}:{INPUTS_TAG_PREFIX}"), INPUTS);
    let previous = inputs.storage.id(&format!("{repository}:latest"));
    let prefix = format!("{repository}:{INPUTS_TAG_PREFIX}");
    previous
        .map(|id| inputs.storage.names_of(id))
        .unwrap_or_default()
        .into_iter()
        .filter(|reference| reference.starts_with(&prefix))
        .map(|reference| Step::UntagStale { keep: keep.clone(), reference })
        .collect()
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

/// The tool's make.conf fragment, the binhosts and the image's own portage files; for a minimal
/// image, those of its minimal ancestors too (the topmost first, make.conf fragments numbered from
/// `depth` on, the image's own last), so its builder emerges with the USE its minimal parents were
/// built with.
fn common_context_files(image: &dyn Image, inputs: &PlanInputs, depth: usize) -> Vec<ContextFile> {
    let settings = inputs.settings;
    let mut files = vec![portage_files::tool_make_conf(settings.isolation)];
    for (position, member) in inputs.registry.minimal_chain(image).into_iter().enumerate() {
        files.extend(portage_files::image_files(member, depth + position));
    }
    let entries = provided_entries(image);
    if image.spec().layout == Layout::Full && !entries.is_empty() {
        // A minimal image's package.provided is made in its builder (Step::Provided).
        let contents =
            format!("# Written by buildah-gentoo: packages portage takes as installed.\n{}\n", entries.join("\n"));
        files.push(ContextFile { path: "etc/portage/profile/package.provided".into(), contents });
    }
    files
}

/// The binhosts' binrepos.conf files, written in `container` once the build knows its binary package
/// key (a keyed binhost's `sync-uri` ends in it).
fn binrepos_steps(container: Var, inputs: &PlanInputs) -> Vec<Step> {
    let settings = inputs.settings;
    portage_files::binrepos(&settings.binhosts, settings.binhost_keyring.is_some(), &inputs.binhost_tls)
        .into_iter()
        .map(|(path, contents)| Step::WriteFile {
            container,
            isolation: settings.isolation,
            mounts: vec![],
            path,
            contents,
        })
        .collect()
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
fn stage3_make_conf(container: Var, settings: &Settings) -> Step {
    run_step(container, settings, &["/bin/sh", "-c", MAKE_CONF_TO_FOLDER], vec![])
}

/// The build context, copied into the container with one `buildah copy`.
fn copy_context(container: Var, context_dir: &camino::Utf8Path) -> Step {
    Step::Copy { container, source: Word::text(format!("{context_dir}/")), destination: "/".into(), chmod: None }
}

/// The image's own files, copied into the working container.
fn copy_files(image: &dyn Image) -> Vec<Step> {
    image
        .spec()
        .files
        .iter()
        .map(|file| Step::Copy {
            container: CONTAINER,
            source: Word::text(file.source_path()),
            destination: file.destination.to_owned(),
            chmod: file.mode,
        })
        .collect()
}

/// Values that cannot travel in argv at all.
fn check_values(image: &dyn Image) -> Result<()> {
    let name = image.name();
    let mut values: Vec<(&str, &str)> = Vec::new();
    for &(key, value) in image.spec().env {
        values.push(("environment variable", key));
        values.push(("environment value", value));
    }
    for &(key, value) in image.spec().labels {
        values.push(("label", key));
        values.push(("label value", value));
    }
    for arg in image.spec().entrypoint.into_iter().chain(image.spec().cmd).chain(image.spec().test).flatten() {
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
    use std::collections::BTreeMap;

    use image_defs::{atom, Cleanup, Parent, Registry, Spec};

    use super::*;
    use crate::plan::root_key;
    use crate::plan::SourceDates;

    fn inputs<'a>(registry: &'a Registry, settings: &'a Settings) -> PlanInputs<'a> {
        PlanInputs {
            registry,
            settings,
            date_tag: "20260101".into(),
            rig_root: "localhost/rig-root:x".into(),
            tarballs: BTreeMap::new(),
            source_dates: SourceDates { rig: 1_763_856_000, repository: 1_700_000_000 },
            storage: Default::default(),
            repositories: Default::default(),
            copied_files: Default::default(),
            binhost_tls: Default::default(),
            force: true,
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
        let plan = plan_image(registry.get("rig/greeter-min").unwrap(), &inputs(registry, &settings)).unwrap();
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
                // The flags portage builds with are the builder's own: no new root needed.
                Step::Capture { container, into: crate::plan::binpkg_cache::BINPKG_FLAGS, .. } => {
                    assert_eq!(*container, BUILDER, "{step:?}")
                }
                Step::Run { container, mounts, .. } | Step::Capture { container, mounts, .. } => {
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
                // What the minimal parent holds, read from its labels and written into the builder.
                Step::ReadLabels { reference, into, .. } => {
                    assert_eq!(reference.as_str(), "localhost/gentoo/rig/busybox:latest");
                    assert!([PARENT_PACKAGES, crate::plan::binpkg_cache::PARENT_FLAGS].contains(into), "{step:?}");
                }
                Step::Provided { container, parent, into, .. } => {
                    assert_eq!((*container, parent, *into), (BUILDER, &Word::var(PARENT_PACKAGES), PROVIDED));
                }
                // The binary package folder for those flags, on the host.
                Step::BinpkgFolder { flags, .. } => assert_eq!(*flags, crate::plan::binpkg_cache::BINPKG_FLAGS),
                // Sizes of the new root, measured on its mount (on the host).
                Step::Measure { root, .. } => assert_eq!(*root, Word::var(ROOT_MOUNT)),
                other => panic!("unexpected step in the builder phase: {other:?}"),
            }
        }
        let Step::Run { argv, .. } = &steps[emerge] else { unreachable!() };
        for option in ["--root=/emerge-root", "--usepkg", "--buildpkg", "--binpkg-respect-use=y", "--with-bdeps=n"] {
            assert!(argv.iter().any(|arg| arg == option), "{option} missing: {argv:?}");
        }
        assert_eq!(plan.base, Base::Image("localhost/gentoo/rig/busybox:latest".into()));
        assert_eq!(plan.minimal.unwrap().builder, "localhost/gentoo/rig/base:latest");
    }

    image_defs::image! {
        Stage3 = Spec { name: "stage3", parent: Parent::registry("docker.io/gentoo/stage3:latest"), ..Spec::DEFAULT };
    }
    image_defs::image! {
        Tiny = Spec {
            name: "tiny",
            parent: Parent::registry("docker.io/gentoo/stage3:latest"),
            layout: Layout::Minimal,
            packages: &[atom!("sys-libs/glibc")],
            cleanups: &[Cleanup::StaticLibraries, Cleanup::Headers],
            ..Spec::DEFAULT
        };
    }

    #[test]
    fn a_minimal_image_on_a_root_is_built_in_the_root_and_starts_from_scratch() {
        let registry = Registry::new(vec![&Stage3, &Tiny]).unwrap();
        let settings = Settings::defaults(camino::Utf8Path::new("/cache"));
        let plan = plan_image(&Tiny, &inputs(&registry, &settings)).unwrap();
        assert_eq!(plan.base, Base::Scratch);
        assert_eq!(
            plan.steps[2],
            Step::From {
                into: BUILDER,
                name: container_name("tiny", "builder"),
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
        assert_eq!(root_key(registry.root_of(&Tiny)), "docker.io_gentoo_stage3_latest");
    }
}
