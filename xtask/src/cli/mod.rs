//! `cargo xtask ...`: argument parsing and one module per subcommand. Commands parse, load the
//! settings and the registry, and call the planner or the executor; they hold no logic of their own.

pub mod atom;
mod bench;
mod binhost;
mod binpkg_folder;
mod build;
mod builder_image;
mod catalyst;
pub mod ci;
mod clean;
pub mod graph;
mod inputs;
mod list;
mod pipeline;
mod plan;
mod push;
mod sbom;
mod status;
mod test;

use std::process::ExitCode;

use anyhow::Result;
use camino::{Utf8Path, Utf8PathBuf};
use clap::error::ErrorKind;
use clap::{Parser, Subcommand};
use image_defs::Registry;

use crate::settings::{Settings, SettingsArgs};

/// Build Gentoo-based OCI images with buildah, from image definitions written in Rust.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", version, about)]
pub struct Cli {
    /// The settings flags, accepted by every command; they override `buildah-gentoo.toml` and the
    /// environment variables.
    #[command(flatten)]
    pub settings: SettingsArgs,
    #[command(subcommand)]
    pub command: Commands,
}

#[derive(Debug, Subcommand)]
pub enum Commands {
    /// List the images in build order, one per line.
    List(list::ListArgs),
    /// Print the shell script that builds these images (and write their build contexts).
    Plan(plan::PlanArgs),
    /// Print the image dependency graph.
    Graph(graph::GraphArgs),
    /// Explain Gentoo package atoms, one JSON object per line.
    Atom(atom::AtomArgs),
    /// Build images with buildah.
    Build(build::BuildArgs),
    /// Whether each image is up to date, missing or stale, and which input changed (one line each).
    Status(status::StatusArgs),
    /// Build the builder image (`<namespace>/builder`): Debian with buildah, skopeo, rsync and the
    /// driver, the job image of CI pipelines.
    BuilderImage(builder_image::BuilderImageArgs),
    /// Publish the local binary packages to a binhost.
    Binhost(binhost::BinhostArgs),
    /// Push built images to the registry: content first, then the moving tags.
    Push(push::PushArgs),
    /// Build catalyst stages 1-3 of a release and import the stage3 as a root image (`--spec-only`:
    /// only write the spec files and catalyst.conf).
    Catalyst(catalyst::CatalystArgs),
    /// Remove what builds left behind in the namespace: images left without a name, date tags older
    /// than the newest `keep-dates`, containers kept by `--keep-failed` whose process is gone, build
    /// contexts and logs of images no longer defined.
    Clean(clean::CleanArgs),
    /// The image graph as a CI pipeline: `ci gitlab` / `ci github` write one; `ci job`, `ci root` and
    /// `ci rig-root` are what its jobs run.
    Ci(ci::CiArgs),
    /// Measure the orchestrator against its limits and print a table of figures (BENCHMARKS.md).
    Bench(bench::BenchArgs),
    /// Print an input hash from its parts (a step of plan scripts whose parent is built when they run).
    Inputs(inputs::InputsArgs),
    /// Make the binary package folder for a build's flags and print its name (a step of plan scripts).
    BinpkgFolder(binpkg_folder::BinpkgFolderArgs),
    /// Print the SPDX 2.3 bill of materials of a built image (from the image).
    Sbom(sbom::SbomArgs),
    /// Install what the tests need (Debian, as root) and run every test, end-to-end ones included.
    Test(test::TestArgs),
}

/// What every command starts from.
pub struct Context {
    pub workspace: Utf8PathBuf,
    pub settings: Settings,
    pub registry: &'static Registry,
}

impl Cli {
    /// The command line of this process. clap reads the settings' environment variables as well;
    /// when one holds a value clap refuses, the error names the variable, not the flag.
    pub fn parse_process_args() -> Cli {
        Cli::try_parse().unwrap_or_else(|error| {
            if matches!(error.kind(), ErrorKind::ValueValidation | ErrorKind::InvalidValue) {
                if let Err(env_error) = SettingsArgs::from_env(&|key| std::env::var(key).ok()) {
                    eprintln!("error: {env_error:#}");
                    std::process::exit(2);
                }
            }
            error.exit()
        })
    }

    pub fn run(self) -> Result<ExitCode> {
        // These need neither settings nor images.
        match &self.command {
            Commands::Atom(args) => return atom::run(args),
            Commands::Inputs(args) => return inputs::run(args),
            Commands::BinpkgFolder(args) => return binpkg_folder::run(args),
            _ => {}
        }
        // These plan from local storage before they change it: its listing starts now and runs
        // while the settings, the images and their files are read.
        let plans_first = match &self.command {
            Commands::Build(args) => !args.remote_check,
            Commands::Plan(_) | Commands::Status(_) => true,
            _ => false,
        };
        if plans_first {
            crate::execute::storage::Listing::start_early();
        }
        let context = Context::load(&self.settings)?;
        match self.command {
            Commands::List(args) => list::run(&context, &args),
            Commands::Plan(args) => plan::run(&context, &args),
            Commands::Graph(args) => graph::run(&context, &args),
            Commands::Build(args) => build::run(&context, &args),
            Commands::Status(args) => status::run(&context, &args),
            Commands::BuilderImage(args) => builder_image::run(&context, &args),
            Commands::Binhost(args) => binhost::run(&context, &args),
            Commands::Push(args) => push::run(&context, &args),
            Commands::Catalyst(args) => catalyst::run(&context, &args),
            Commands::Sbom(args) => sbom::run(&context, &args),
            Commands::Test(args) => test::run(&context, &args),
            Commands::Bench(args) => bench::run(&context, &args),
            Commands::Clean(args) => clean::run(&context, &args),
            Commands::Ci(args) => ci::run(&context, &args),
            Commands::Atom(_) | Commands::Inputs(_) | Commands::BinpkgFolder(_) => unreachable!("handled above"),
        }
    }
}

impl Context {
    fn load(flags: &SettingsArgs) -> Result<Context> {
        let workspace = crate::workspace::root()?;
        let settings = Settings::load(&workspace, &|key| std::env::var(key).ok(), flags)?;
        let registry = Registry::global()?;
        Ok(Context { workspace, settings, registry })
    }
}

impl Context {
    pub fn workspace(&self) -> &Utf8Path {
        &self.workspace
    }
}

/// The images a command works on, in build order: every image (`all`), or those `patterns` name (see
/// [`resolve_names`]) with everything they are built on, unless `no_deps`.
pub fn select_images(
    registry: &Registry,
    all: bool,
    patterns: &[String],
    no_deps: bool,
) -> Result<Vec<&'static dyn image_defs::Image>> {
    if all {
        return Ok(registry.in_order().collect());
    }
    let names = resolve_names(registry, patterns)?;
    Ok(if no_deps { registry.selected(&names) } else { registry.with_ancestors(&names) }?)
}

/// Image names from command-line arguments: an exact name, or a regular expression matched against
/// whole names (`'rig/.*'`), as the Python tool's `-b` took. A pattern that matches nothing is an error.
pub fn resolve_names(registry: &Registry, patterns: &[String]) -> Result<Vec<&'static str>> {
    let mut names = Vec::new();
    for pattern in patterns {
        if let Some(image) = registry.get(pattern) {
            names.push(image.name());
            continue;
        }
        let regex = regex::Regex::new(&format!("^(?:{pattern})$")).map_err(|error| {
            anyhow::anyhow!("`{pattern}` is neither an image name nor a valid regular expression: {error}")
        })?;
        let matched: Vec<&'static str> =
            registry.in_order().map(|image| image.name()).filter(|name| regex.is_match(name)).collect();
        if matched.is_empty() {
            let known: Vec<&str> = registry.in_order().map(|image| image.name()).collect();
            anyhow::bail!("no image matches `{pattern}`; known images: {}", known.join(", "));
        }
        names.extend(matched);
    }
    Ok(names)
}
