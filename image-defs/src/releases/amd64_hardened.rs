use crate::release::{Compression, Release, Stages};
use crate::{profile, subarch};

/// amd64 hardened OpenRC stages, stage1 → stage3 with the profile's own flags (x86-64 baseline), as
/// releng's `releases/specs/amd64/hardened/stage{1,3}-openrc-23.spec`.
pub const AMD64_HARDENED: Release = Release {
    name: "amd64-hardened",
    subarch: subarch!("amd64"),
    profile: profile!("default/linux/amd64/23.0/hardened"),
    version_prefix: "hardened-openrc",
    rel_type: "23.0-hardened",
    seed: "23.0-hardened/stage3-amd64-hardened-openrc-latest",
    compression: Compression::Pixz,
    stages: Stages::Stage1Stage3,
    update_seed: true,
    options: super::RELENG_OPTIONS,
    binhost: Some(super::GENTOO_BINHOST),
    binrepo_path: Some("amd64/binpackages/23.0/x86-64_hardened"),
    pkgcache_path: None,
    portage_confdir: Some(super::RELENG_PORTAGE_CONFDIR),
    portage_prefix: Some(super::RELENG_PORTAGE_PREFIX),
    common_flags: None,
}
.checked();
