use std::process::ExitCode;

use anyhow::{bail, Result};

use super::Context;

#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// Images to build (their missing or stale parents are built first).
    pub images: Vec<String>,
}

pub fn run(_context: &Context, _args: &BuildArgs) -> Result<ExitCode> {
    bail!("`build` is not implemented yet: run `cargo xtask plan --deps IMAGE` to see the commands it will run")
}
