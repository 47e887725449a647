//! The offline test rig's root image: Debian minbase with portage from PyPI, standing in for a
//! Gentoo stage3. Its inputs live in `tests/rig/`.

use camino::Utf8Path;

/// The repository of rig root images; the tag is the hash of the rig's inputs.
pub const ROOT_REPOSITORY: &str = "localhost/buildah-gentoo/rig-root";

/// The reference of the rig root for this workspace.
pub fn root_reference(_workspace: &Utf8Path) -> String {
    format!("{ROOT_REPOSITORY}:latest")
}
