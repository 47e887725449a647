use crate::release::{CatalystOption, Compression, Release, Stages};
use crate::{profile, subarch};

/// amd64 OpenRC stages from the current official stage3, as releng's
/// `releases/specs/amd64/stage{1,3}-openrc-23.spec`.
pub const AMD64_OPENRC: Release = Release {
    name: "amd64-openrc",
    subarch: subarch!("amd64"),
    profile: profile!("default/linux/amd64/23.0"),
    snapshot_treeish: super::SNAPSHOT,
    version_stamp: "openrc-20260101",
    rel_type: "23.0-default",
    seed: "23.0-default/stage3-amd64-openrc-latest",
    compression: Compression::Xz,
    stages: Stages::Stage1Stage3,
    update_seed: true,
    options: &[CatalystOption::Pkgcache, CatalystOption::Seedcache],
    binhost: None,
    binrepo_path: None,
    pkgcache_path: None,
    portage_confdir: None,
    common_flags: None,
}
.checked();
