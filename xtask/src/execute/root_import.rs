//! Root images from a stage tarball. Placeholder with the agreed API: the import itself (unpacking
//! into `buildah from scratch`, digest and GPG checks) is written on another branch and replaces
//! this file when merged.

use anyhow::{bail, Result};
use camino::{Utf8Path, Utf8PathBuf};
use xshell::Shell;

use crate::settings::Settings;

/// A stage tarball to import as a root image.
pub struct TarballRoot {
    pub path: Utf8PathBuf,
    /// `sha512:<hex>`; `None` reads `<path>.DIGESTS`.
    pub digest: Option<String>,
    pub keyring: Option<Utf8PathBuf>,
}

/// The imported image.
pub struct Imported {
    pub reference: String,
    /// The existing root image already had this digest.
    pub skipped: bool,
}

/// Imports `tarball` as `<repository>:latest` (and a digest tag).
pub fn import(
    _sh: &Shell,
    _settings: &Settings,
    _workspace: &Utf8Path,
    _tarball: &TarballRoot,
    _repository: &str,
) -> Result<Imported> {
    bail!("tarball import is not merged yet")
}
