//! The image graph as a CI pipeline (`cargo xtask ci gitlab|github`): pure, graph in, YAML text out.
//!
//! One job per image, one per root the images start on that a job makes (a stage3 tarball, the test
//! rig's root), and a `driver` job that compiles the tool once and hands the binary to the others. An
//! image job needs exactly the jobs of its parent and builder images, the driver, and the job of a
//! root it starts on: the jobs form the image graph, with no stage barriers. Each job runs the driver
//! binary (`ci job IMAGE`, `ci root PATH`, `ci rig-root`) and keeps the logs folder as an artifact,
//! failed or not; the registry and the binhost are the only state the jobs share.

pub mod github;
pub mod gitlab;
pub mod yaml;

use std::collections::BTreeMap;

use anyhow::{bail, Result};
use image_defs::registry::ResolvedParent;
use image_defs::{Image, Registry, Root};

/// The job that compiles the driver.
pub const DRIVER_JOB: &str = "driver";
/// How the driver job compiles it: `cargo install` builds where `CARGO_TARGET_DIR` says when the
/// runner sets it (a cache kept between pipelines), and puts the binary in the checkout.
pub const DRIVER_BUILD: &str = "cargo install --locked --path xtask --root target/driver";
/// The driver binary, relative to the checkout: the driver job's artifact.
pub const DRIVER_BINARY: &str = "target/driver/bin/xtask";
/// The variable the jobs hold the driver binary's path in.
pub const DRIVER_VARIABLE: &str = "BUILDAH_GENTOO";
/// The job of the test rig's root.
pub const RIG_ROOT_JOB: &str = "root-rig";

/// What a generated file takes from the settings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options<'a> {
    /// The image every job runs in (the `ci-image` setting); none: the runner's own machine.
    pub ci_image: Option<&'a str>,
    /// The logs folder relative to the checkout (`<work-dir>/logs`), which every job keeps as an
    /// artifact, failed or not; none (a work folder outside the checkout): no artifact.
    pub logs: Option<&'a str>,
}

/// Which images a pipeline was asked for (the file's header says it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selection {
    /// `--all`.
    All,
    /// These names (and, in the pipeline, what they are built on).
    Images(Vec<&'static str>),
}

/// A pipeline: every job, `driver` first, then the root jobs and the image jobs, each group sorted
/// by job name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pipeline {
    pub selection: Selection,
    pub jobs: Vec<Job>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    /// The job's name (GitLab) or id (GitHub): letters, digits, `-` and `_`, see [`job_name`].
    pub name: String,
    pub task: Task,
    /// The jobs that must finish first: the driver, the root job of a tarball the image starts on,
    /// then its parent's and its builder's jobs. Empty for the driver.
    pub needs: Vec<String>,
}

/// What a job does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Task {
    /// Compile the driver ([`DRIVER_BUILD`]) and keep [`DRIVER_BINARY`].
    Driver,
    /// Import a stage3 tarball as a root image: `ci root PATH`.
    Root { path: &'static str },
    /// Make the test rig's root (or find it in the registry): `ci rig-root`.
    RigRoot,
    /// Build, test and publish an image: `ci job IMAGE`.
    Image { name: &'static str },
}

impl Task {
    /// The shell command the job runs (the driver's arguments quoted), for the jobs that run the
    /// driver binary.
    pub fn driver_command(&self) -> Option<String> {
        let (command, argument) = match self {
            Task::Driver => return None,
            Task::RigRoot => return Some(format!("\"${DRIVER_VARIABLE}\" ci rig-root")),
            Task::Root { path } => ("root", *path),
            Task::Image { name } => ("job", *name),
        };
        let argument = shlex::try_quote(argument).expect("image names and paths hold no NUL");
        Some(format!("\"${DRIVER_VARIABLE}\" ci {command} {argument}"))
    }

    /// What the job is about, for people: the image's name, the tarball's path.
    pub fn title(&self) -> String {
        match self {
            Task::Driver => "driver: cargo xtask, compiled once".to_owned(),
            Task::Root { path } => format!("root {path}"),
            Task::RigRoot => "root: the test rig's".to_owned(),
            Task::Image { name } => (*name).to_owned(),
        }
    }
}

/// A CI variable the generated file documents (its header), read by the jobs' driver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CiVariable {
    pub name: &'static str,
    pub what: &'static str,
}

/// The settings a job takes from the CI system's variables: each is the environment variable of a
/// setting (see README, Settings), so `ci job` reads it as every command does.
pub const SETTINGS_VARIABLES: &[CiVariable] = &[
    CiVariable {
        name: "BUILDAH_GENTOO_REGISTRY",
        what: "the registry (host:port) parents are pulled from, images pushed to",
    },
    CiVariable { name: "BUILDAH_GENTOO_NAMESPACE", what: "the images' namespace (`[host[:port]/]path`)" },
    CiVariable {
        name: "BUILDAH_GENTOO_CERTS_DIR",
        what: "the registry's certificates (containers certs.d layout), e.g. a submodule of the checkout",
    },
    CiVariable {
        name: "BUILDAH_GENTOO_BINHOST_PUBLISH",
        what: "where binary packages are published: a folder, rsync://host/module/path or host:path",
    },
];

/// Names an image job cannot have: GitLab's top-level keywords and special jobs, and the driver's.
const RESERVED_JOB_NAMES: &[&str] = &[
    "after_script",
    "before_script",
    "cache",
    "default",
    DRIVER_JOB,
    "false",
    "image",
    "include",
    "nil",
    "pages",
    "services",
    "spec",
    "stages",
    "true",
    "types",
    "variables",
    "workflow",
];

/// The job name of an image: its name with `/` and `.` as `-` (`rig/hello` → `rig-hello`), with a
/// leading `_` when it would start with a digit (GitHub's job ids start with a letter or `_`), and
/// `-image` after a name GitLab reserves (`cache` → `cache-image`) or the driver's.
pub fn job_name(image_name: &str) -> String {
    let name = sanitized(image_name);
    if RESERVED_JOB_NAMES.contains(&name.as_str()) {
        format!("{name}-image")
    } else {
        name
    }
}

/// Letters, digits, `-` and `_` (others as `-`), lower case, not starting with a digit.
fn sanitized(text: &str) -> String {
    let name: String = text
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c.to_ascii_lowercase() } else { '-' })
        .collect();
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{name}")
    } else {
        name
    }
}

/// The job name of a tarball root: `root-` and its file name, as [`job_name`] maps it.
pub fn root_job_name(path: &str) -> String {
    let file_name = path.rsplit('/').next().unwrap_or(path);
    format!("root-{}", sanitized(file_name).trim_start_matches('_'))
}

/// The pipeline of `images` (an image set closed under parents and builders, as
/// [`Registry::with_ancestors`] gives it; for `--all`, every image). Two images or roots whose job
/// names are the same are refused, naming both.
pub fn pipeline(registry: &Registry, images: &[&'static dyn Image], selection: Selection) -> Result<Pipeline> {
    // Job name → what it is, to find two things with one name.
    let mut owners: BTreeMap<String, String> = BTreeMap::from([(DRIVER_JOB.to_owned(), "the driver job".to_owned())]);
    let mut claim = |name: &str, owner: String| -> Result<()> {
        if let Some(other) = owners.get(name) {
            if *other != owner {
                bail!("{other} and {owner} would both be CI job `{name}`: rename one");
            }
        }
        owners.insert(name.to_owned(), owner);
        Ok(())
    };

    let mut roots = Vec::new();
    let mut image_jobs = Vec::new();
    for &image in images {
        for dependency in registry.dependencies(image) {
            if !images.iter().any(|selected| selected.name() == dependency.name()) {
                bail!("image `{}` needs `{}`, which is not in the pipeline", image.name(), dependency.name());
            }
        }
        let name = job_name(image.name());
        claim(&name, format!("image `{}`", image.name()))?;
        let mut needs = vec![DRIVER_JOB.to_owned()];
        for start in std::iter::once(registry.parent_of(image)).chain(registry.builder_of(image)) {
            if let ResolvedParent::Root(Root::Rig) = start {
                claim(RIG_ROOT_JOB, "the rig root".to_owned())?;
                if !roots.iter().any(|(known, _)| *known == RIG_ROOT_JOB) {
                    roots.push((RIG_ROOT_JOB.to_owned(), Task::RigRoot));
                }
                if !needs.iter().any(|need| need == RIG_ROOT_JOB) {
                    needs.push(RIG_ROOT_JOB.to_owned());
                }
            }
            if let ResolvedParent::Root(Root::Tarball { path, .. }) = start {
                let root = root_job_name(path);
                claim(&root, format!("tarball `{path}`"))?;
                if !roots.iter().any(|(known, _)| *known == root) {
                    roots.push((root.clone(), Task::Root { path }));
                }
                if !needs.contains(&root) {
                    needs.push(root);
                }
            }
        }
        needs.extend(registry.dependencies(image).into_iter().map(|dependency| job_name(dependency.name())));
        image_jobs.push(Job { name, task: Task::Image { name: image.name() }, needs });
    }
    roots.sort_by(|a, b| a.0.cmp(&b.0));
    image_jobs.sort_by(|a, b| a.name.cmp(&b.name));

    let mut jobs = vec![Job { name: DRIVER_JOB.to_owned(), task: Task::Driver, needs: Vec::new() }];
    jobs.extend(roots.into_iter().map(|(name, task)| Job { name, task, needs: vec![DRIVER_JOB.to_owned()] }));
    jobs.extend(image_jobs);
    Ok(Pipeline { selection, jobs })
}

/// What the header says about how the file was made.
fn generated_by(pipeline: &Pipeline, system: &str) -> Vec<String> {
    let what = match &pipeline.selection {
        Selection::All => format!("cargo xtask ci {system} --all"),
        Selection::Images(names) => format!("cargo xtask ci {system} {}", names.join(" ")),
    };
    vec![
        format!("Generated by `{what}`: regenerate it rather than edit it."),
        "One job per image (and per root it starts on that a job makes: a stage3 tarball, the test rig's);".to_owned(),
        "each needs exactly its parent's and builder's jobs, its root's, and the `driver` job, which".to_owned(),
        "compiles the tool once and hands it on as an artifact.".to_owned(),
        "Each job runs `\"$BUILDAH_GENTOO\" ci job IMAGE` with nothing but the checkout, the registry and".to_owned(),
        "the binhost: it pulls its parents from the registry by their `inputs-<hash>` tag, builds (or".to_owned(),
        "finds the image up to date there), pushes the image and publishes its binary packages. Every".to_owned(),
        "job keeps the logs folder (the build's log, its report `ci/<job>.json`) as an artifact, even failed."
            .to_owned(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_names_keep_letters_digits_dashes_and_underscores() {
        assert_eq!(job_name("rig/hello"), "rig-hello");
        assert_eq!(job_name("python3.12/slim_x"), "python3-12-slim_x");
        assert_eq!(job_name("389ds"), "_389ds");
        assert_eq!(job_name("cache"), "cache-image");
        assert_eq!(job_name("driver"), "driver-image");
        assert_eq!(job_name("cache/redis"), "cache-redis");
        assert_eq!(
            root_job_name("stages/stage3-amd64-openrc-20261117T170000Z.tar.xz"),
            "root-stage3-amd64-openrc-20261117t170000z-tar-xz"
        );
        assert_eq!(root_job_name("/srv/3.tar"), "root-3-tar");
    }

    #[test]
    fn driver_commands_quote_their_argument() {
        assert_eq!(Task::Image { name: "rig/hello" }.driver_command().unwrap(), "\"$BUILDAH_GENTOO\" ci job rig/hello");
        assert_eq!(
            Task::Root { path: "stages/my stage3.tar.xz" }.driver_command().unwrap(),
            "\"$BUILDAH_GENTOO\" ci root 'stages/my stage3.tar.xz'"
        );
        assert_eq!(Task::Driver.driver_command(), None);
    }
}
