use std::process::ExitCode;

use anyhow::{bail, Result};
use xshell::Shell;

use super::Context;
use crate::execute::{prepare, BuildRequest, Executor, Output};
use crate::plan::script;
use crate::prerequisites;

#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// Images to build, by name or regular expression (`'rig/.*'`); their missing or stale parents
    /// are built first.
    #[arg(required_unless_present = "all")]
    pub images: Vec<String>,
    /// Build every image.
    #[arg(long, conflicts_with = "images")]
    pub all: bool,
    /// Build only the named images, not their parents (which must exist already).
    #[arg(long)]
    pub no_deps: bool,
    /// Rebuild even images whose inputs did not change.
    #[arg(long)]
    pub force: bool,
    /// First print, for each image, whether it is up to date, missing or stale and why (as `status`).
    #[arg(long)]
    pub explain: bool,
    /// Print the plan script instead of running it.
    #[arg(long)]
    pub dry_run: bool,
    /// How many independent images to build at once.
    #[arg(long, short = 'j', default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
    /// After a failure, go on building the images that do not depend on the failed one.
    #[arg(long)]
    pub keep_going: bool,
    /// Keep the working container of a failed image (its name is printed) instead of removing it.
    #[arg(long)]
    pub keep_failed: bool,
    /// Print the summary as JSON on standard output (progress goes to standard error); the same
    /// document is written to `summary.json` next to the logs.
    #[arg(long)]
    pub json: bool,
    /// No live progress of the images (the package each one is at): only the lines of their start
    /// and end, and the summary.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Then push the named images (every image with `--all`) to the registry, like `cargo xtask push`.
    #[arg(long)]
    pub push: bool,
    /// First take from the registry what is built there already: an image whose input hash the
    /// registry has (`<image>:inputs-<hash>`, as CI jobs push it) is pulled instead of built.
    #[arg(long)]
    pub remote_check: bool,
}

pub fn run(context: &Context, args: &BuildArgs) -> Result<ExitCode> {
    if args.push || args.remote_check {
        crate::plan::push::registry(&context.settings)?; // before a long build, not after
    }
    let registry = context.registry;
    let images = super::select_images(registry, args.all, &args.images, args.no_deps)?;
    let sh = Shell::new()?;
    sh.change_dir(&context.workspace);
    if args.dry_run {
        // What `build` would run: images up to date are left out (unless --force).
        let prepared = prepare(&sh, &context.workspace, &context.settings, registry, &images, args.force, false)?;
        if args.explain {
            // As comments of the script: it stays a script a person can run.
            for image in crate::execute::status::of_plan(&sh, &prepared.plan, &prepared.inputs.storage)? {
                println!("# {}", image.line());
            }
        }
        print!("{}", script::render(&prepared.plan, "build --dry-run"));
        if args.remote_check {
            // The registry is asked only when the build runs; the plan above is the local one.
            println!("\n# --remote-check: before these steps, images the registry has up to date are pulled instead");
        }
        if args.push {
            return super::push::after_build(context, &args.images, args.all, true);
        }
        return Ok(ExitCode::SUCCESS);
    }
    prerequisites::ensure(&sh, prerequisites::BUILD_TOOLS)?;
    if args.remote_check && !args.force {
        prerequisites::ensure(&sh, super::push::PUSH_TOOLS)?;
        crate::execute::remote_check::take_from_registry(
            &sh,
            &context.workspace,
            &context.settings,
            registry,
            &images,
        )?;
    }
    let executor = Executor { workspace: &context.workspace, settings: &context.settings, registry };
    let request = BuildRequest {
        images,
        force: args.force,
        jobs: usize::from(args.jobs),
        keep_failed: args.keep_failed,
        keep_going: args.keep_going,
        explain: args.explain,
        output: if args.json { Output::Json } else { Output::Human },
        quiet: args.quiet,
    };
    let summary = executor.build(&sh, &request)?;
    if summary.interrupted {
        eprintln!("interrupted: working containers were removed");
        return Ok(ExitCode::from(130));
    }
    if !summary.succeeded() {
        bail!("some images did not build (see above)");
    }
    if args.push {
        return super::push::after_build(context, &args.images, args.all, false);
    }
    Ok(ExitCode::SUCCESS)
}
