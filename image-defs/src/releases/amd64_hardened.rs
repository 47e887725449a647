use crate::release::{CatalystOption, Compression, Release, Stages};
use crate::{profile, subarch};

/// amd64 hardened OpenRC stages through stage2, with the Gentoo binary packages and a package
/// cache of their own.
pub const AMD64_HARDENED: Release = Release {
    name: "amd64-hardened",
    subarch: subarch!("amd64"),
    profile: profile!("default/linux/amd64/23.0/hardened"),
    snapshot_treeish: super::SNAPSHOT,
    version_stamp: "hardened-openrc-20260101",
    rel_type: "23.0-hardened",
    seed: "23.0-hardened/stage3-amd64-hardened-openrc-latest",
    compression: Compression::Pixz,
    stages: Stages::Stage1Stage2Stage3,
    update_seed: true,
    options: &[CatalystOption::Bindist, CatalystOption::Pkgcache],
    binhost: Some("https://distfiles.gentoo.org/releases/"),
    binrepo_path: Some("amd64/binpackages/23.0/x86-64_hardened"),
    pkgcache_path: Some("packages/23.0-hardened"),
    portage_confdir: None,
    common_flags: Some("-O2 -pipe -march=x86-64-v2"),
}
.checked();
