//! Where the workspace is: every command runs from its root.

use anyhow::{Context, Result};
use camino::Utf8PathBuf;

/// The workspace root: the parent of the xtask crate. `cargo run` tells the binary where its crate
/// is at run time; the path compiled in is the fallback (a binary shared between two checkouts
/// through one target folder must still work on the checkout it was run from).
pub fn root() -> Result<Utf8PathBuf> {
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR")
        .ok()
        .filter(|dir| Utf8PathBuf::from(dir).join("src/cli/mod.rs").exists())
        .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").to_owned());
    Utf8PathBuf::from(manifest_dir).parent().map(ToOwned::to_owned).context("xtask/ has no parent folder")
}
