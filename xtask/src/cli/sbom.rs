use std::process::ExitCode;

use anyhow::{bail, Result};
use camino::Utf8PathBuf;
use xshell::Shell;

use super::Context;
use crate::sbom::{self, DocumentInfo};

#[derive(Debug, clap::Args)]
pub struct SbomArgs {
    /// The image whose SBOM to print (its `latest` build).
    pub image: String,
    /// Instead, generate the SBOM of the root filesystem mounted at DIR (what a build does).
    #[arg(long, value_name = "DIR", requires = "output")]
    pub from_root: Option<Utf8PathBuf>,
    /// With --from-root: the document's creation date, seconds since 1970 (default: SOURCE_DATE_EPOCH).
    #[arg(long, value_name = "SECONDS", requires = "from_root")]
    pub created: Option<i64>,
    /// With --from-root: the image's input hash, which names the document.
    #[arg(long, value_name = "HASH", requires = "from_root")]
    pub inputs: Option<String>,
    /// With --from-root: where to write the document.
    #[arg(long, value_name = "FILE", requires = "from_root")]
    pub output: Option<Utf8PathBuf>,
}

/// Prints the SBOM an image carries at `/usr/share/buildah-gentoo/sbom.spdx.json`, or writes one from
/// a mounted root filesystem.
pub fn run(context: &Context, args: &SbomArgs) -> Result<ExitCode> {
    let image = context.registry.get(&args.image).ok_or_else(|| {
        let known: Vec<&str> = context.registry.in_order().map(|image| image.name()).collect();
        anyhow::anyhow!("no image is named `{}`; known images: {}", args.image, known.join(", "))
    })?;
    if let (Some(root), Some(output)) = (&args.from_root, &args.output) {
        let dates = crate::execute::source_date::source_dates(&context.workspace, &context.settings);
        let created = args.created.unwrap_or(match context.registry.root_of(image) {
            image_defs::Root::Rig => dates.rig,
            _ => dates.repository,
        });
        let info = DocumentInfo { image: image.name(), created, inputs: args.inputs.as_deref() };
        sbom::write(root, info, output)?;
        return Ok(ExitCode::SUCCESS);
    }
    let sh = Shell::new()?;
    let reference = format!("{}:latest", context.settings.repository_of(image.name()));
    match crate::execute::image_file::read(&sh, &reference, sbom::IMAGE_PATH)? {
        Some(text) => print!("{text}"),
        None => bail!("image {reference} has no {} (built by an older buildah-gentoo?)", sbom::IMAGE_PATH),
    }
    Ok(ExitCode::SUCCESS)
}
