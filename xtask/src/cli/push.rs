use std::process::ExitCode;

use anyhow::Result;
use xshell::Shell;

use super::Context;
use crate::execute::push as executor;
use crate::plan::push as planner;
use crate::prerequisites::{self, Tool};

/// What a push needs: buildah uploads the content, skopeo moves the tags.
pub(super) const PUSH_TOOLS: &[Tool] = &[
    Tool { command: "buildah", debian_package: "buildah", why: "pushes the images' content" },
    Tool { command: "skopeo", debian_package: "skopeo", why: "points the moving tags at the pushed digest" },
];

#[derive(Debug, clap::Args)]
pub struct PushArgs {
    /// Images to push, by name or regular expression (`'rig/.*'`); each must be built. They go to
    /// `<registry>/<namespace without its host>/<name>`, with the tags `inputs-<hash>`, the date and
    /// `latest`.
    #[arg(required = true)]
    pub images: Vec<String>,
    /// Print the push script instead of running it.
    #[arg(long)]
    pub dry_run: bool,
}

pub fn run(context: &Context, args: &PushArgs) -> Result<ExitCode> {
    let names = super::resolve_names(context.registry, &args.images)?;
    push(context, &names, args.dry_run)
}

/// `build --push`: once the build succeeded, pushes the images the command line named (every image
/// with `--all`), not the parents built along.
pub fn after_build(context: &Context, patterns: &[String], all: bool, dry_run: bool) -> Result<ExitCode> {
    let names: Vec<&str> = if all {
        context.registry.in_order().map(|image| image.name()).collect()
    } else {
        super::resolve_names(context.registry, patterns)?
    };
    if dry_run {
        // The push commands name the built images' ids and tags, which only the build makes.
        println!(
            "\n# --push: after the build, `cargo xtask push {}` runs (its --dry-run shows the commands)",
            names.join(" ")
        );
        return Ok(ExitCode::SUCCESS);
    }
    push(context, &names, false)
}

fn push(context: &Context, names: &[&str], dry_run: bool) -> Result<ExitCode> {
    let sh = Shell::new()?;
    sh.change_dir(&context.workspace);
    prerequisites::ensure(&sh, if dry_run { prerequisites::BUILD_TOOLS } else { PUSH_TOOLS })?;
    let local = executor::local_images(&sh, &context.settings, names)?;
    let plan = planner::plan(&local, &context.settings)?;
    if dry_run {
        print!("{}", planner::render(&plan, &names.join(" ")));
        return Ok(ExitCode::SUCCESS);
    }
    match executor::push(&sh, &context.workspace, &context.settings, &plan, false) {
        Ok(pushed) => {
            for pushed in pushed {
                println!("{}", pushed.reference);
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(error) if crate::execute::interrupt::requested() => {
            eprintln!("interrupted: {error:#}");
            Ok(ExitCode::from(130))
        }
        Err(error) => Err(error),
    }
}
