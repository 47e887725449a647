use std::process::ExitCode;

use anyhow::Result;
use xshell::Shell;

use super::Context;
use crate::plan::builder_image::{render, steps, NAME};
use crate::prerequisites;

#[derive(Debug, clap::Args)]
pub struct BuilderImageArgs {
    /// The Debian image to start from.
    #[arg(long, value_name = "REFERENCE", default_value = "docker.io/library/debian:bookworm-slim")]
    pub from: String,
    /// Print the script that would build it, and build nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// Builds `<namespace>/builder`: Debian with buildah, skopeo, rsync and the driver, for CI jobs.
pub fn run(context: &Context, args: &BuilderImageArgs) -> Result<ExitCode> {
    if args.dry_run {
        print!("{}", render(&steps(&context.settings, &args.from, &crate::clock::today_utc()), &args.from));
        return Ok(ExitCode::SUCCESS);
    }
    let sh = Shell::new()?;
    sh.change_dir(&context.workspace);
    prerequisites::ensure(&sh, prerequisites::BUILD_TOOLS)?;
    let id = crate::execute::builder_image::build(&sh, &context.workspace, &context.settings, &args.from)?;
    println!("{}:latest {id}", context.settings.repository_of(NAME));
    Ok(ExitCode::SUCCESS)
}
