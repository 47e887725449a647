//! Where the workspace is: every command runs from its root.

use anyhow::{Context, Result};
use camino::Utf8PathBuf;

/// The workspace root: the parent of the xtask crate.
pub fn root() -> Result<Utf8PathBuf> {
    let manifest_dir = Utf8PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().map(ToOwned::to_owned).context("xtask/ has no parent folder")
}
