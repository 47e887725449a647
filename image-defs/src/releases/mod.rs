//! The catalyst releases: stage1 → stage3 builds that `cargo xtask catalyst` turns into catalyst
//! spec files, runs, and imports as root images. Register a new release by adding it to [`all`].
//!
//! The three amd64 releases match the release engineering team's specs key for key (gentoo/releng
//! `releases/specs/amd64/stage{1,3}-{openrc,systemd}-23.spec` and `hardened/stage{1,3}-openrc-23.spec`):
//! what differs is what releng's tooling fills in (`@TIMESTAMP@`, `@TREEISH@`, `@REPO_DIR@`), which
//! here comes from `releases.lock` and the workspace. `tests/catalyst.rs` holds releng's values and
//! compares.

use crate::release::{CatalystOption, Release};

mod amd64_hardened;
mod amd64_openrc;
mod amd64_systemd;

pub use amd64_hardened::AMD64_HARDENED;
pub use amd64_openrc::AMD64_OPENRC;
pub use amd64_systemd::AMD64_SYSTEMD;

/// The releng-style portage configuration of the stages, relative to the workspace root: the same
/// place as in releng's repository (`releases/portage/stages`), with our own files in it.
pub const RELENG_PORTAGE_CONFDIR: &str = "releases/portage/stages";

/// The name of our files under the `package.*` folders (releng's `portage_prefix`).
pub const RELENG_PORTAGE_PREFIX: &str = "releng";

/// Gentoo's binary package host, to which catalyst appends `binrepo_path` in the stages'
/// `/etc/portage/binrepos.conf/gentoo.conf`.
pub const GENTOO_BINHOST: &str = "https://distfiles.gentoo.org/releases/";

/// catalyst.conf `options` of the releng-parity releases: catalyst's example catalyst.conf without
/// `autoresume` (releng clears it with `-a` anyway) and `kerncache` (stages build no kernel).
pub const RELENG_OPTIONS: &[CatalystOption] =
    &[CatalystOption::Bindist, CatalystOption::Pkgcache, CatalystOption::Seedcache];

/// Every release the driver knows about, in the order `cargo xtask catalyst` builds them.
pub fn all() -> Vec<&'static Release> {
    vec![&AMD64_OPENRC, &AMD64_HARDENED, &AMD64_SYSTEMD]
}

/// The release called `name`.
pub fn get(name: &str) -> Option<&'static Release> {
    all().into_iter().find(|release| release.name == name)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    #[test]
    fn names_are_unique_and_every_release_is_valid() {
        let mut names = BTreeSet::new();
        for release in super::all() {
            assert!(names.insert(release.name), "two releases are called `{}`", release.name);
            assert_eq!(release.validate(), Ok(()), "{}", release.name);
        }
        assert_eq!(super::get("amd64-hardened").map(|r| r.rel_type), Some("23.0-hardened"));
        assert!(super::get("amd64").is_none());
    }
}
