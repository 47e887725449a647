use std::process::ExitCode;

use anyhow::{bail, Result};
use xshell::Shell;

use super::Context;
use crate::execute::{BuildRequest, Executor};
use crate::plan::{self, script};
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
    /// Then push the named images (every image with `--all`) to the registry, like `cargo xtask push`.
    #[arg(long)]
    pub push: bool,
}

pub fn run(context: &Context, args: &BuildArgs) -> Result<ExitCode> {
    if args.push {
        crate::plan::push::registry(&context.settings)?; // before a long build, not after
    }
    let registry = context.registry;
    let images = if args.all {
        registry.in_order().collect()
    } else {
        let names = super::resolve_names(registry, &args.images)?;
        if args.no_deps { registry.selected(&names) } else { registry.with_ancestors(&names) }
            .map_err(anyhow::Error::msg)?
    };
    let tarballs = crate::execute::root_import::resolve_all(&context.workspace, &context.settings, registry, &images)?;
    let executor = Executor {
        workspace: &context.workspace,
        settings: &context.settings,
        registry,
        date_tag: crate::clock::today_utc(),
        rig_root: crate::rig::root_reference(&context.workspace),
        tarballs: tarballs.clone(),
        source_dates: crate::source_date::SourceDates::resolve(&context.workspace, &context.settings),
    };
    if args.dry_run {
        let mut inputs = context.plan_inputs();
        inputs.tarballs = tarballs;
        inputs.packages = crate::execute::recorded_packages(&context.settings, registry, &images);
        let plan = plan::plan(&images, &inputs)?;
        for image in plan.roots.iter().chain(&plan.images) {
            crate::build_context::write(&context.workspace, image)?;
        }
        print!("{}", script::render(&plan, "build --dry-run"));
        if args.push {
            return super::push::after_build(context, &args.images, args.all, true);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let sh = Shell::new()?;
    sh.change_dir(&context.workspace);
    prerequisites::ensure(&sh, prerequisites::BUILD_TOOLS)?;
    let request = BuildRequest {
        images,
        force: args.force,
        jobs: usize::from(args.jobs),
        keep_failed: args.keep_failed,
        keep_going: args.keep_going,
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
