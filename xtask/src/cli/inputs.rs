use std::process::ExitCode;

use anyhow::{Context as _, Result};
use xshell::Shell;

use super::Context;

#[derive(Debug, clap::Args)]
pub struct InputsArgs {
    /// The image, by name.
    pub image: String,
    /// The id of the image its working container starts from (`scratch` for an empty root).
    #[arg(long, value_name = "ID")]
    pub base_id: String,
    /// The id of a minimal image's builder image.
    #[arg(long, value_name = "ID")]
    pub builder_id: Option<String>,
}

/// Prints the input hash of an image built on these ids: the step of a plan script whose parent the
/// same script builds (the executor computes it in-process with the same function).
pub fn run(context: &Context, args: &InputsArgs) -> Result<ExitCode> {
    let image = context.registry.get(&args.image).with_context(|| format!("no image `{}`", args.image))?;
    let sh = Shell::new()?;
    sh.change_dir(&context.workspace);
    let images = [image];
    let request = crate::execute::inputs::Request {
        workspace: &context.workspace,
        settings: &context.settings,
        registry: context.registry,
        images: &images,
        force: true,
    };
    let inputs = crate::execute::inputs::gather(&sh, &request)?;
    println!("{}", crate::plan::input_hash(image, &inputs, &args.base_id, args.builder_id.as_deref())?);
    Ok(ExitCode::SUCCESS)
}
