use crate::release::{Compression, Release, Stages};
use crate::{profile, subarch};

/// amd64 systemd stages, as releng's `releases/specs/amd64/stage{1,3}-systemd-23.spec`.
pub const AMD64_SYSTEMD: Release = Release {
    name: "amd64-systemd",
    subarch: subarch!("amd64"),
    profile: profile!("default/linux/amd64/23.0/systemd"),
    version_prefix: "systemd",
    rel_type: "23.0-default",
    seed: "23.0-default/stage3-amd64-systemd-latest",
    compression: Compression::Pixz,
    stages: Stages::Stage1Stage3,
    update_seed: true,
    options: super::RELENG_OPTIONS,
    binhost: Some(super::GENTOO_BINHOST),
    binrepo_path: Some("amd64/binpackages/23.0/x86-64"),
    pkgcache_path: None,
    portage_confdir: Some(super::RELENG_PORTAGE_CONFDIR),
    portage_prefix: Some(super::RELENG_PORTAGE_PREFIX),
    common_flags: None,
}
.checked();
