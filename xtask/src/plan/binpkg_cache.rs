//! Which binary package folder a build uses. Packages are only interchangeable between builds with
//! the same root, CHOST, profile and compiler flags (`--binpkg-respect-use` compares USE, not
//! CFLAGS), so the folder is keyed by all of them: `<cache-dir>/binpkgs/<root key>-<flags hash>`.
//! The flags are read in the container that emerges, after the image's portage files are in place
//! (what portage will really use), by a step of the plan; a second step turns them into the folder.

use super::command::Var;
use super::step::{Mount, Step};
use super::Word;
use crate::settings::Settings;

/// The compiler flags, CHOST and profile, as portage sees them in the container that emerges.
pub const BINPKG_FLAGS: Var = Var("binpkg_flags");
/// What a minimal image's minimal parent says it was built with: its builder's reference, then its
/// flags (see [`crate::plan::BINPKG_FLAGS_LABEL`]); empty lines when it says nothing.
pub const PARENT_FLAGS: Var = Var("parent_flags");
/// The binary package folder's name under `<cache-dir>/binpkgs` (and `<cache-dir>/binhost`).
pub const BINPKG_KEY: Var = Var("binpkg_key");

/// What portage ends up with, one `NAME=value` a line: the variables that make binary packages
/// incompatible, then the profile. Fixed; nothing of the user's reaches it. `portageq` exits 1 when a
/// variable is empty, so its output is checked for CHOST instead.
pub const READ_FLAGS_SCRIPT: &str =
    "flags=$(portageq envvar -v CHOST CBUILD CFLAGS CXXFLAGS FCFLAGS FFLAGS LDFLAGS RUSTFLAGS); \
    case \"$flags\" in CHOST=*) ;; *) echo \"portageq gave no CHOST\" >&2; exit 1 ;; esac; \
    printf %s \"$flags\"; echo; echo \"profile=$(readlink /etc/portage/make.profile)\"";

/// The name of the record a keyed folder holds: the flags it was made for.
pub const RECORD_FILE: &str = "buildah-gentoo-flags.txt";

/// How many hex digits of the flags' SHA-256 a folder name keeps.
const FLAGS_HASH_LENGTH: usize = 16;

/// The steps that settle the folder: read the flags in `container` (with the repositories mounted,
/// since the profile lives in one), then make the folder for them. For a minimal image on a minimal
/// parent (`parent`, its reference), the parent's builder and flags are read from its labels first:
/// a chain is built for one CHOST and profile, and the folder step refuses another.
pub(super) fn steps(
    container: Var,
    settings: &Settings,
    repositories: Vec<Mount>,
    root_key: &str,
    parent: Option<&str>,
) -> Vec<Step> {
    let mut steps = vec![Step::Capture {
        container,
        isolation: settings.isolation,
        mounts: repositories,
        argv: vec!["sh".into(), "-c".into(), READ_FLAGS_SCRIPT.into()],
        into: BINPKG_FLAGS,
    }];
    if let Some(reference) = parent {
        steps.push(Step::ReadLabels {
            reference: reference.to_owned(),
            keys: vec![super::BUILDER_LABEL.into(), super::BINPKG_FLAGS_LABEL.into()],
            into: PARENT_FLAGS,
        });
    }
    steps.push(Step::BinpkgFolder {
        cache_dir: settings.cache_dir.to_string(),
        root_key: root_key.to_owned(),
        flags: BINPKG_FLAGS,
        parent: parent.map(|reference| (reference.to_owned(), PARENT_FLAGS)),
        into: BINPKG_KEY,
    });
    steps
}

/// CHOST and profile of `flags` (what [`READ_FLAGS_SCRIPT`] printed): what a minimal chain shares.
pub fn target_of(flags: &str) -> Vec<&str> {
    flags.lines().map(str::trim_end).filter(|line| line.starts_with("CHOST=") || line.starts_with("profile=")).collect()
}

/// `<cache-dir>/<kind>/${binpkg_key}`: a keyed folder, as a mount source.
pub(super) fn keyed_folder(settings: &Settings, kind: &str) -> Word {
    Word::text_then_var(format!("{}/", settings.cache_dir.join(kind)), BINPKG_KEY)
}

/// The folder name for `flags` (what [`READ_FLAGS_SCRIPT`] printed) on the root `root_key`.
pub fn folder_name(root_key: &str, flags: &str) -> String {
    let normalized: String = flags.lines().map(|line| format!("{}\n", line.trim_end())).collect();
    format!("{root_key}-{}", &crate::hash::sha256(normalized.as_bytes())[..FLAGS_HASH_LENGTH])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_flags_same_folder_other_flags_another() {
        let generic = "CHOST=x86_64-pc-linux-gnu\nCFLAGS='-O2 -pipe'\nprofile=/var/db/repos/gentoo/profiles/rig";
        let v3 =
            "CHOST=x86_64-pc-linux-gnu\nCFLAGS='-O2 -pipe -march=x86-64-v3'\nprofile=/var/db/repos/gentoo/profiles/rig";
        assert_eq!(folder_name("rig", generic), folder_name("rig", &format!("{generic}\n")));
        assert_ne!(folder_name("rig", generic), folder_name("rig", v3));
        assert_ne!(folder_name("rig", generic), folder_name("other", generic));
        assert!(folder_name("rig", generic).starts_with("rig-"));
        assert_eq!(folder_name("rig", generic).len(), "rig-".len() + FLAGS_HASH_LENGTH);
    }
}
