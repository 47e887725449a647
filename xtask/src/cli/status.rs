use std::process::ExitCode;

use anyhow::Result;
use xshell::Shell;

use super::Context;
use crate::execute::status;

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// Images, by name or regular expression (`'rig/.*'`), with their parents as `build` takes
    /// them; every image when none is named.
    pub images: Vec<String>,
    /// Only the named images, not their parents.
    #[arg(long)]
    pub no_deps: bool,
    /// Print a JSON array: each image's `status` (`up_to_date`, `missing`, `stale`), `id`,
    /// `input_hash` and `reasons` (`input`, `part`, `path`, `was`, `now`).
    #[arg(long)]
    pub json: bool,
}

/// Prints, for each image, whether it is up to date, missing or stale, and why, in one line.
pub fn run(context: &Context, args: &StatusArgs) -> Result<ExitCode> {
    let registry = context.registry;
    let images = super::select_images(registry, args.images.is_empty(), &args.images, args.no_deps)?;
    let sh = Shell::new()?;
    sh.change_dir(&context.workspace);
    let statuses = status::of_images(&sh, &context.workspace, &context.settings, registry, &images)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&statuses)?);
    } else {
        for image in &statuses {
            println!("{}", image.line());
        }
    }
    Ok(ExitCode::SUCCESS)
}
