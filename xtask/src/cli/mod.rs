//! `cargo xtask ...`: argument parsing and one module per subcommand. Commands parse, load the
//! settings and the registry, and call the planner or the executor; they hold no logic of their own.

pub mod atom;
mod bench;
mod binhost;
mod build;
mod catalyst;
pub mod graph;
mod inputs;
mod list;
mod plan;
mod push;
mod sbom;
mod test;

use std::process::ExitCode;

use anyhow::Result;
use camino::{Utf8Path, Utf8PathBuf};
use clap::{Parser, Subcommand};
use image_defs::Registry;

use crate::settings::{Isolation, Overrides, Settings};

/// Build Gentoo-based OCI images with buildah, from image definitions written in Rust.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Commands,
}

/// Settings flags, accepted by every command; they override `buildah-gentoo.toml` and the
/// `BUILDAH_GENTOO_*` environment variables.
#[derive(Debug, clap::Args)]
pub struct GlobalArgs {
    /// Settings file to read instead of `buildah-gentoo.toml` at the workspace root.
    #[arg(long, global = true, value_name = "FILE")]
    pub settings: Option<Utf8PathBuf>,
    /// Repository prefix of image names, e.g. `localhost/gentoo`.
    #[arg(long, global = true)]
    pub namespace: Option<String>,
    /// Registry to push to, as `host:port`.
    #[arg(long, global = true, value_name = "HOST:PORT")]
    pub registry: Option<String>,
    /// buildah isolation for `buildah run`: chroot, oci or rootless.
    #[arg(long, global = true)]
    pub isolation: Option<Isolation>,
    /// Folder of the shared caches (binary packages, distfiles).
    #[arg(long, global = true, value_name = "DIR")]
    pub cache_dir: Option<Utf8PathBuf>,
    /// Ebuild repository: a folder, or `image:REFERENCE` for an image holding /var/db/repos/gentoo.
    #[arg(long, global = true, value_name = "DIR|image:REF")]
    pub repository: Option<String>,
    /// Registry certificates, containers `certs.d` layout (`DIR/host:port/ca.crt`, `*.cert`, `*.key`).
    #[arg(long, global = true, value_name = "DIR")]
    pub certs_dir: Option<Utf8PathBuf>,
    /// Registry credentials file (containers auth.json); default `REGISTRY_AUTH_FILE`.
    #[arg(long, global = true, value_name = "FILE")]
    pub authfile: Option<Utf8PathBuf>,
    /// Verify the registry's TLS certificate; `--tls-verify=false` turns it off (with a warning).
    #[arg(long, global = true, value_name = "BOOL")]
    pub tls_verify: Option<bool>,
    /// Where `binhost sync` publishes: a folder, `rsync://host/module/path` or `[user@]host:path`.
    #[arg(long, global = true, value_name = "TARGET")]
    pub binhost_publish: Option<String>,
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
    /// Publish the local binary packages to a binhost.
    Binhost(binhost::BinhostArgs),
    /// Push built images to the registry: content first, then the moving tags.
    Push(push::PushArgs),
    /// Build catalyst stages 1-3 of a release and import the stage3 as a root image (`--spec-only`:
    /// only write the spec files and catalyst.conf).
    Catalyst(catalyst::CatalystArgs),
    /// Measure the orchestrator against its limits and print a table of figures (BENCHMARKS.md).
    Bench(bench::BenchArgs),
    /// Print the input hash of an image built on the given parent (and builder) ids: a step of plan
    /// scripts whose parent the same script builds.
    Inputs(inputs::InputsArgs),
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
    pub fn run(self) -> Result<ExitCode> {
        if let Commands::Atom(args) = &self.command {
            // Needs neither settings nor images.
            return atom::run(args);
        }
        let context = self.global.context()?;
        match self.command {
            Commands::List(args) => list::run(&context, &args),
            Commands::Plan(args) => plan::run(&context, &args),
            Commands::Graph(args) => graph::run(&context, &args),
            Commands::Build(args) => build::run(&context, &args),
            Commands::Binhost(args) => binhost::run(&context, &args),
            Commands::Push(args) => push::run(&context, &args),
            Commands::Catalyst(args) => catalyst::run(&context, &args),
            Commands::Sbom(args) => sbom::run(&context, &args),
            Commands::Inputs(args) => inputs::run(&context, &args),
            Commands::Test(args) => test::run(&context, &args),
            Commands::Bench(args) => bench::run(&context, &args),
            Commands::Atom(_) => unreachable!("handled above"),
        }
    }
}

impl GlobalArgs {
    fn context(&self) -> Result<Context> {
        let workspace = crate::workspace::root()?;
        let overrides = Overrides {
            settings_file: self.settings.clone(),
            namespace: self.namespace.clone(),
            registry: self.registry.clone(),
            isolation: self.isolation,
            cache_dir: self.cache_dir.clone(),
            repository: self.repository.clone(),
            certs_dir: self.certs_dir.clone(),
            authfile: self.authfile.clone(),
            tls_verify: self.tls_verify,
            binhost_publish: self.binhost_publish.clone(),
        };
        let settings = Settings::load(&workspace, &|key| std::env::var(key).ok(), &overrides)?;
        let registry = Registry::global()?;
        Ok(Context { workspace, settings, registry })
    }
}

impl Context {
    pub fn workspace(&self) -> &Utf8Path {
        &self.workspace
    }
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
