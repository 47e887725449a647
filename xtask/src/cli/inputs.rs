use std::process::ExitCode;

use anyhow::{bail, Result};

#[derive(Debug, clap::Args)]
pub struct InputsArgs {
    /// The hash of everything that determines the image but the ids it starts from (a value of the
    /// plan).
    pub partial: String,
    /// The id of the image its working container starts from (`scratch` for an empty root).
    #[arg(long, value_name = "ID")]
    pub base_id: String,
    /// The id of a minimal image's builder image.
    #[arg(long, value_name = "ID")]
    pub builder_id: Option<String>,
}

/// Prints an input hash from its parts: the step of a plan script whose parent (or builder) is only
/// known when the script runs. The executor computes it in-process with the same function.
pub fn run(args: &InputsArgs) -> Result<ExitCode> {
    if args.partial.len() != 64 || !args.partial.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!("`{}` is not a partial input hash (64 hex digits, as plans print them)", args.partial);
    }
    println!("{}", crate::plan::input_hash::combine(&args.partial, &args.base_id, args.builder_id.as_deref()));
    Ok(ExitCode::SUCCESS)
}
