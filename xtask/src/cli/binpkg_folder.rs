use std::process::ExitCode;

use anyhow::Result;
use camino::Utf8PathBuf;

#[derive(Debug, clap::Args)]
pub struct BinpkgFolderArgs {
    /// The cache folder (`<cache-dir>`, holding `binpkgs/` and `binhost/`).
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Utf8PathBuf,
    /// A minimal parent's reference: the flags must name its CHOST and profile.
    #[arg(long, value_name = "REFERENCE", requires = "parent_flags")]
    pub parent: Option<String>,
    /// What the minimal parent's labels say: its builder, then its flags.
    #[arg(long, value_name = "LABELS", requires = "parent")]
    pub parent_flags: Option<String>,
    /// The root's part of the folder name (a value of the plan).
    pub root_key: String,
    /// What the build read in its container: CHOST, compiler flags and profile, one `NAME=value` a line.
    pub flags: String,
}

/// Makes the binary package folder for these flags and prints its name: the step of a plan script
/// after the flags are read in the container. The executor runs the same function in-process.
pub fn run(args: &BinpkgFolderArgs) -> Result<ExitCode> {
    println!(
        "{}",
        crate::execute::binpkg_cache::ensure_folder(
            &args.cache_dir,
            &args.root_key,
            &args.flags,
            args.parent.as_deref().zip(args.parent_flags.as_deref()),
        )?
    );
    Ok(ExitCode::SUCCESS)
}
