use std::process::ExitCode;

use anyhow::Result;
use xshell::Shell;

use super::Context;
use crate::plan::builder_image::{render, steps, Driver, NAME};
use crate::prerequisites;

#[derive(Debug, clap::Args)]
pub struct BuilderImageArgs {
    /// The Debian image to start from.
    #[arg(long, value_name = "REFERENCE", default_value = "docker.io/library/debian:bookworm-slim")]
    pub from: String,
    /// A driver binary built already (else the first step compiles one with `cargo build --release`).
    #[arg(long, value_name = "PATH")]
    pub driver: Option<String>,
    /// Print the script that would build it, and build nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// Builds `<namespace>/builder`: Debian with buildah, skopeo, rsync and the driver, for CI jobs.
pub fn run(context: &Context, args: &BuilderImageArgs) -> Result<ExitCode> {
    let driver = args.driver.clone().map_or(Driver::Release, Driver::Built);
    if args.dry_run {
        print!("{}", render(&steps(&context.settings, &args.from, &driver, &crate::clock::today_utc()), &args.from));
        return Ok(ExitCode::SUCCESS);
    }
    let sh = Shell::new()?;
    sh.change_dir(&context.workspace);
    prerequisites::ensure(&sh, prerequisites::BUILD_TOOLS)?;
    let id = crate::execute::builder_image::build(&sh, &context.workspace, &context.settings, &args.from, &driver)?;
    println!("{}:latest {id}", context.settings.repository_of(NAME));
    Ok(ExitCode::SUCCESS)
}
