//! Catalyst releases: a stage1 → stage3 build (stage2 optional) defined in Rust, like an image.
//!
//! A [`Release`] names what catalyst 4.x needs to build stages from an existing seed stage: the
//! subarch, the profile, the version stamp's prefix, the release type, the seed, the compression and
//! the optional portage configuration, binary package and package cache settings. What changes from
//! one release run to the next is not here: the ebuild repository commit and its date (the version
//! stamp's default) come from the workspace's `releases.lock`, which `cargo xtask catalyst --snapshot
//! stable` writes. The driver turns both into catalyst spec files and a catalyst.conf.
//!
//! Everything here is checked by `const fn`s: [`subarch!`](crate::subarch!) and
//! [`profile!`](crate::profile!) reject a misspelt subarch or a malformed profile path when the
//! crate builds, and a release written as `Release { .. }.checked()` in a `const` item has every
//! field checked at compile time too. [`Release::validate`] is the same check as a `Result`.
//!
//! What catalyst accepts was read in gentoo/catalyst at commit df01e21b (4.1.0-37-gdf01e21b):
//! `arch/*.toml` (subarches), `catalyst/base/stagebase.py` and `catalyst/targets/stage{1,2,3}.py`
//! (spec keys), `catalyst/config.py` (the spec syntax), `catalyst/defaults.py` (catalyst.conf keys
//! and options) and pyDeComp's `DeComp/definitions.py` (`COMPRESS_DEFINITIONS`, compression modes).

use core::fmt;

use crate::const_text;

/// The subarches catalyst knows: every `[<arch>.<subarch>]` table of catalyst's `arch/*.toml`
/// (gentoo/catalyst df01e21b), as (subarch, arch file).
const SUBARCHES: &[(&str, &str)] = &[
    // arch/alpha.toml [alpha.*]
    ("alpha", "alpha"),
    ("ev4", "alpha"),
    ("ev45", "alpha"),
    ("ev5", "alpha"),
    ("ev56", "alpha"),
    ("ev6", "alpha"),
    ("ev67", "alpha"),
    ("pca56", "alpha"),
    // arch/amd64.toml [amd64.*]
    ("amd64", "amd64"),
    ("amdfam10", "amd64"),
    ("core2", "amd64"),
    ("k8", "amd64"),
    ("k8-sse3", "amd64"),
    ("nocona", "amd64"),
    ("x32", "amd64"),
    ("x86_64", "amd64"),
    // arch/arm.toml [arm.*]
    ("arm", "arm"),
    ("armeb", "arm"),
    ("armv4l", "arm"),
    ("armv4tl", "arm"),
    ("armv5teb", "arm"),
    ("armv5tejl", "arm"),
    ("armv5tel", "arm"),
    ("armv5tl", "arm"),
    ("armv6j", "arm"),
    ("armv6j_hardfp", "arm"),
    ("armv6j_hardfp_musl", "arm"),
    ("armv6z", "arm"),
    ("armv6zk", "arm"),
    ("armv7a", "arm"),
    ("armv7a_hardfp", "arm"),
    ("armv7a_hardfp_musl", "arm"),
    // arch/arm64.toml [arm64.*]
    ("aarch64", "arm64"),
    ("aarch64_be", "arm64"),
    ("arm64", "arm64"),
    // arch/hppa.toml [hppa.*]
    ("hppa1.1", "hppa"),
    ("hppa2.0", "hppa"),
    // arch/ia64.toml [ia64.*]
    ("ia64", "ia64"),
    // arch/loong.toml [loong.*]
    ("loong", "loong"),
    // arch/m68k.toml [m68k.*]
    ("m68k", "m68k"),
    ("m68k_a32", "m68k"),
    ("m68k_musl", "m68k"),
    // arch/mips.toml [mips.*]
    ("loongson2e", "mips"),
    ("loongson2f", "mips"),
    ("loongson3a", "mips"),
    ("mips1", "mips"),
    ("mips2", "mips"),
    ("mips2_musl", "mips"),
    ("mips2_softfloat", "mips"),
    ("mips3", "mips"),
    ("mips32", "mips"),
    ("mips32_softfloat", "mips"),
    ("mips32el", "mips"),
    ("mips32el_softfloat", "mips"),
    ("mips32r2", "mips"),
    ("mips32r2_softfloat", "mips"),
    ("mips32r2el", "mips"),
    ("mips32r2el_softfloat", "mips"),
    ("mips3_musl", "mips"),
    ("mips4_r10k", "mips"),
    ("mips4_r12k", "mips"),
    ("mips4_r5k", "mips"),
    ("mips64", "mips"),
    ("mips64el", "mips"),
    ("mips64r2", "mips"),
    ("mips64r2el", "mips"),
    ("mipsel1", "mips"),
    ("mipsel2", "mips"),
    ("mipsel2_musl", "mips"),
    ("mipsel2_softfloat", "mips"),
    ("mipsel3", "mips"),
    ("mipsel3_musl", "mips"),
    ("mipsel4_r5k", "mips"),
    // arch/mips.toml [mips64.*]
    ("loongson2e_multilib", "mips"),
    ("loongson2e_n32", "mips"),
    ("loongson2e_n64", "mips"),
    ("loongson2f_multilib", "mips"),
    ("loongson2f_n32", "mips"),
    ("loongson2f_n64", "mips"),
    ("loongson3a_multilib", "mips"),
    ("loongson3a_n32", "mips"),
    ("loongson3a_n64", "mips"),
    ("mips3_multilib", "mips"),
    ("mips3_n32", "mips"),
    ("mips3_n32_softfloat", "mips"),
    ("mips3_n64", "mips"),
    ("mips3_n64_musl", "mips"),
    ("mips4_r10k_multilib", "mips"),
    ("mips4_r10k_n32", "mips"),
    ("mips4_r10k_n64", "mips"),
    ("mips4_r12k_multilib", "mips"),
    ("mips4_r12k_n32", "mips"),
    ("mips4_r12k_n64", "mips"),
    ("mips4_r5k_multilib", "mips"),
    ("mips4_r5k_n32", "mips"),
    ("mips4_r5k_n64", "mips"),
    ("mips64_multilib", "mips"),
    ("mips64_n32", "mips"),
    ("mips64_n64", "mips"),
    ("mips64el_multilib", "mips"),
    ("mips64el_n32", "mips"),
    ("mips64el_n64", "mips"),
    ("mips64el_n64_musl", "mips"),
    ("mips64r2_multilib", "mips"),
    ("mips64r2_n32", "mips"),
    ("mips64r2_n64", "mips"),
    ("mips64r2el_multilib", "mips"),
    ("mips64r2el_n32", "mips"),
    ("mips64r2el_n64", "mips"),
    ("mipsel3_multilib", "mips"),
    ("mipsel3_n32", "mips"),
    ("mipsel3_n32_softfloat", "mips"),
    ("mipsel3_n64", "mips"),
    ("mipsel4_r5k_multilib", "mips"),
    ("mipsel4_r5k_n32", "mips"),
    ("mipsel4_r5k_n64", "mips"),
    // arch/ppc.toml [ppc64.*]
    ("970", "ppc"),
    ("cell", "ppc"),
    ("power5", "ppc"),
    ("power6", "ppc"),
    ("power7", "ppc"),
    ("power7le", "ppc"),
    ("power8", "ppc"),
    ("power8le", "ppc"),
    ("power9", "ppc"),
    ("power9le", "ppc"),
    ("powerpc64", "ppc"),
    ("powerpc64le", "ppc"),
    ("ppc64", "ppc"),
    ("ppc64le", "ppc"),
    // arch/ppc.toml [ppc.*]
    ("g3", "ppc"),
    ("g4", "ppc"),
    ("g5", "ppc"),
    ("powerpc", "ppc"),
    ("ppc", "ppc"),
    // arch/riscv.toml [riscv.*]
    ("riscv", "riscv"),
    ("rv32_ilp32", "riscv"),
    ("rv32_ilp32_musl", "riscv"),
    ("rv32_ilp32d", "riscv"),
    ("rv32_ilp32d_musl", "riscv"),
    ("rv64_lp64", "riscv"),
    ("rv64_lp64_musl", "riscv"),
    ("rv64_lp64d", "riscv"),
    ("rv64_lp64d_musl", "riscv"),
    ("rv64_multilib", "riscv"),
    // arch/s390.toml [s390.*]
    ("s390", "s390"),
    // arch/s390.toml [s390x.*]
    ("s390x", "s390"),
    // arch/sh.toml [sh.*]
    ("sh", "sh"),
    ("sh2", "sh"),
    ("sh2a", "sh"),
    ("sh2aeb", "sh"),
    ("sh2eb", "sh"),
    ("sh3", "sh"),
    ("sh3eb", "sh"),
    ("sh4", "sh"),
    ("sh4a", "sh"),
    ("sh4aeb", "sh"),
    ("sh4eb", "sh"),
    ("sheb", "sh"),
    // arch/sparc.toml [sparc.*]
    ("sparc", "sparc"),
    // arch/sparc.toml [sparc64.*]
    ("sparc64", "sparc"),
    // arch/x86.toml [x86.*]
    ("athlon", "x86"),
    ("athlon-xp", "x86"),
    ("i486", "x86"),
    ("i586", "x86"),
    ("i686", "x86"),
    ("i686-ssemath", "x86"),
    ("k6", "x86"),
    ("k6-2", "x86"),
    ("pentium", "x86"),
    ("pentium-mmx", "x86"),
    ("pentium2", "x86"),
    ("pentium3", "x86"),
    ("pentiumpro", "x86"),
    ("x86", "x86"),
];

/// A catalyst subarch (`amd64`, `x86_64`, `arm64`, `i686`, ...): the spec's `subarch` key, the
/// middle of a stage's file name (`stage3-<subarch>-<version_stamp>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Subarch {
    name: &'static str,
    arch: &'static str,
}

impl Subarch {
    /// Looks `name` up among catalyst's subarches.
    pub const fn parse(name: &str) -> Result<Subarch, ReleaseError> {
        let mut i = 0;
        while i < SUBARCHES.len() {
            if const_text::str_eq(SUBARCHES[i].0, name) {
                return Ok(Subarch { name: SUBARCHES[i].0, arch: SUBARCHES[i].1 });
            }
            i += 1;
        }
        Err(ReleaseError {
            field: "subarch",
            position: 0,
            expected: "a subarch from catalyst's arch/*.toml (e.g. amd64, x86_64, arm64, i686)",
        })
    }

    /// Like [`Subarch::parse`], panicking with a readable message (a compile error in const context).
    #[track_caller]
    pub const fn new(name: &str) -> Subarch {
        match Subarch::parse(name) {
            Ok(subarch) => subarch,
            Err(e) => const_text::invalid("subarch", name, e.position, e.expected),
        }
    }

    pub const fn as_str(&self) -> &'static str {
        self.name
    }

    /// The arch file that defines it (`amd64` for `x86_64`, `arm64` for `aarch64`).
    pub const fn arch(&self) -> &'static str {
        self.arch
    }

    /// Every subarch catalyst knows.
    pub fn all() -> impl Iterator<Item = Subarch> {
        SUBARCHES.iter().map(|&(name, arch)| Subarch { name, arch })
    }
}

impl fmt::Display for Subarch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

/// A [`Subarch`] from a string literal, checked at compile time: `subarch!("amd64")`.
#[macro_export]
macro_rules! subarch {
    ($s:literal) => {{
        const SUBARCH: $crate::release::Subarch = $crate::release::Subarch::new($s);
        SUBARCH
    }};
}

/// A profile path as catalyst's `profile` key takes it: relative to the repository's `profiles/`
/// folder (`default/linux/amd64/23.0/hardened`), optionally prefixed by a repository name
/// (`gentoo:default/linux/amd64/23.0`; stagebase.py `config_profile_link` splits on the first `:`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Profile<'a> {
    text: &'a str,
}

impl<'a> Profile<'a> {
    pub const fn parse(text: &'a str) -> Result<Profile<'a>, ReleaseError> {
        let b = text.as_bytes();
        // An optional `repo:` prefix (a repository name: PMS 3.1.5, `[A-Za-z0-9_][A-Za-z0-9_-]*`).
        let mut start = 0;
        let mut i = 0;
        while i < b.len() {
            if b[i] == b':' {
                if i == 0 {
                    return Err(ReleaseError::at("profile", 0, "a repository name before `:`"));
                }
                let mut k = 0;
                while k < i {
                    let c = b[k];
                    let ok = c.is_ascii_alphanumeric() || c == b'_' || (k > 0 && c == b'-');
                    if !ok {
                        return Err(ReleaseError::at("profile", k, "a repository name character ([A-Za-z0-9_-])"));
                    }
                    k += 1;
                }
                start = i + 1;
                break;
            }
            i += 1;
        }
        match check_relative_path(b, start, "a profile path relative to profiles/, such as default/linux/amd64/23.0") {
            Ok(()) => Ok(Profile { text }),
            Err((position, expected)) => Err(ReleaseError::at("profile", position, expected)),
        }
    }

    #[track_caller]
    pub const fn new(text: &'a str) -> Profile<'a> {
        match Profile::parse(text) {
            Ok(profile) => profile,
            Err(e) => const_text::invalid("profile", text, e.position, e.expected),
        }
    }

    pub const fn as_str(&self) -> &'a str {
        self.text
    }
}

impl fmt::Display for Profile<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text)
    }
}

/// A [`Profile`] from a string literal, checked at compile time:
/// `profile!("default/linux/amd64/23.0/hardened")`.
#[macro_export]
macro_rules! profile {
    ($s:literal) => {{
        const PROFILE: $crate::release::Profile<'static> = $crate::release::Profile::new($s);
        PROFILE
    }};
}

/// How catalyst compresses the stage tarballs (the spec's `compression_mode`): the tarball modes of
/// pyDeComp's `COMPRESS_DEFINITIONS` that the root image import can unpack. Catalyst adds
/// `--xattrs` to these on Linux itself (defaults.py `compressor_options`), so the `*_x` modes are not
/// needed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Compression {
    Bzip2,
    /// Parallel bzip2 (catalyst's default).
    Lbzip2,
    Xz,
    /// Parallel xz, what the Gentoo releases use.
    Pixz,
}

impl Compression {
    /// The `compression_mode` value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Compression::Bzip2 => "bzip2",
            Compression::Lbzip2 => "lbzip2",
            Compression::Xz => "xz",
            Compression::Pixz => "pixz",
        }
    }

    /// The tarball's extension, the first of the mode's extensions in `COMPRESS_DEFINITIONS`.
    pub const fn extension(self) -> &'static str {
        match self {
            Compression::Bzip2 | Compression::Lbzip2 => "tar.bz2",
            Compression::Xz | Compression::Pixz => "tar.xz",
        }
    }
}

/// One catalyst stage target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stage {
    Stage1,
    Stage2,
    Stage3,
}

impl Stage {
    /// The spec's `target` value, the first part of the stage's file name.
    pub const fn target(self) -> &'static str {
        match self {
            Stage::Stage1 => "stage1",
            Stage::Stage2 => "stage2",
            Stage::Stage3 => "stage3",
        }
    }
}

/// Which stages a release builds, in order. Current releng specs go from stage1 straight to stage3.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stages {
    /// stage1 → stage3 (stage3 is built from the stage1).
    Stage1Stage3,
    /// stage1 → stage2 → stage3.
    Stage1Stage2Stage3,
}

impl Stages {
    pub const fn list(self) -> &'static [Stage] {
        match self {
            Stages::Stage1Stage3 => &[Stage::Stage1, Stage::Stage3],
            Stages::Stage1Stage2Stage3 => &[Stage::Stage1, Stage::Stage2, Stage::Stage3],
        }
    }
}

/// A catalyst.conf `options` entry (etc/catalyst.conf and catalyst/defaults.py `option_messages`;
/// `versioned_cache` from stagebase.py).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CatalystOption {
    /// Resume a failed build where it stopped.
    Autoresume,
    /// Build with the `bindist` USE flag (for redistributed stages).
    Bindist,
    Ccache,
    Distcc,
    Icecream,
    /// Keep the work chroot after the build.
    Keepwork,
    Kerncache,
    /// Build and reuse binary packages (`pkgcache_path`, default `<storedir>/packages/...`).
    Pkgcache,
    /// Build the next stage from the previous stage's chroot instead of unpacking its tarball.
    Seedcache,
    /// Keep catalyst's `package.*` files and `catalyst_use` flags in the stage.
    StickyConfig,
    /// One package cache per version stamp.
    VersionedCache,
}

impl CatalystOption {
    pub const ALL: &'static [CatalystOption] = &[
        CatalystOption::Autoresume,
        CatalystOption::Bindist,
        CatalystOption::Ccache,
        CatalystOption::Distcc,
        CatalystOption::Icecream,
        CatalystOption::Keepwork,
        CatalystOption::Kerncache,
        CatalystOption::Pkgcache,
        CatalystOption::Seedcache,
        CatalystOption::StickyConfig,
        CatalystOption::VersionedCache,
    ];

    /// The option called `name` in catalyst.conf.
    pub fn parse(name: &str) -> Option<CatalystOption> {
        CatalystOption::ALL.iter().copied().find(|option| option.as_str() == name)
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            CatalystOption::Autoresume => "autoresume",
            CatalystOption::Bindist => "bindist",
            CatalystOption::Ccache => "ccache",
            CatalystOption::Distcc => "distcc",
            CatalystOption::Icecream => "icecream",
            CatalystOption::Keepwork => "keepwork",
            CatalystOption::Kerncache => "kerncache",
            CatalystOption::Pkgcache => "pkgcache",
            CatalystOption::Seedcache => "seedcache",
            CatalystOption::StickyConfig => "sticky-config",
            CatalystOption::VersionedCache => "versioned_cache",
        }
    }
}

/// A catalyst release: the stages built from one seed, one snapshot and one profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Release {
    /// Unique name (`amd64-openrc`): names the work folder and the imported root image
    /// (`<namespace>/stage3-<name>`). Lowercase, `[a-z0-9][a-z0-9._-]*`.
    pub name: &'static str,
    pub subarch: Subarch,
    pub profile: Profile<'static>,
    /// The first part of `version_stamp`, the last part of the stages' file names: the spec gets
    /// `<version_prefix>-<stamp>` (releng's `openrc-@TIMESTAMP@`), the stamp being the snapshot's
    /// commit date unless one is given. Not `none` (catalyst's spec parser reads that as Python's None).
    pub version_prefix: &'static str,
    /// `rel_type`, the folder under `<storedir>/builds/` the stages land in (`23.0-default`).
    /// Not `none`, as `version_prefix`.
    pub rel_type: &'static str,
    /// stage1's `source_subpath`: the seed stage, relative to `<storedir>/builds/`, with or without
    /// its extension (`23.0-default/stage3-amd64-openrc-latest`).
    pub seed: &'static str,
    pub compression: Compression,
    pub stages: Stages,
    /// Update the seed's @world before building stage1 (`update_seed: yes` with releng's
    /// `--update --deep --newuse @world`).
    pub update_seed: bool,
    /// catalyst.conf `options`.
    pub options: &'static [CatalystOption],
    /// catalyst.conf `binhost`: the binary package host URL, ending in `/`; with `binrepo_path`
    /// appended it becomes the stages' binrepos.conf `sync-uri`.
    pub binhost: Option<&'static str>,
    /// `binrepo_path`, relative to `binhost` (`amd64/binpackages/23.0/x86-64`).
    pub binrepo_path: Option<&'static str>,
    /// `pkgcache_path`, relative to catalyst's storedir (needs the `pkgcache` option).
    pub pkgcache_path: Option<&'static str>,
    /// `portage_confdir`: a folder of portage configuration copied into the stages, relative to the
    /// workspace root (the spec gets it absolute: catalyst needs that).
    pub portage_confdir: Option<&'static str>,
    /// `portage_prefix`: the name of the files and folders under `portage_confdir`'s `package.*`
    /// folders (`package.use/<prefix>/...`). Catalyst removes those from the finished stage only when
    /// it is set, so it goes with `portage_confdir`: without it the build's masks and USE would ship.
    pub portage_prefix: Option<&'static str>,
    /// stage1's `common_flags` (COMMON_FLAGS of the new stage; stage2 and stage3 keep the flags of
    /// the stage they are built from, so catalyst reads this key in stage1 only).
    pub common_flags: Option<&'static str>,
}

/// Why a release field is invalid: the field, the byte offset into its value and what was expected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReleaseError {
    pub field: &'static str,
    pub position: usize,
    pub expected: &'static str,
}

impl ReleaseError {
    const fn at(field: &'static str, position: usize, expected: &'static str) -> ReleaseError {
        ReleaseError { field, position, expected }
    }
}

impl fmt::Display for ReleaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: at byte {}: expected {}", self.field, self.position, self.expected)
    }
}

impl std::error::Error for ReleaseError {}

impl Release {
    /// The stages to build, in order.
    pub const fn stage_list(&self) -> &'static [Stage] {
        self.stages.list()
    }

    /// Checks every field: shapes catalyst (and the files and paths made from them) accept, and
    /// the settings that only work together.
    pub const fn validate(&self) -> Result<(), ReleaseError> {
        let name = self.name.as_bytes();
        if name.is_empty() || !(name[0].is_ascii_lowercase() || name[0].is_ascii_digit()) {
            return Err(ReleaseError::at("name", 0, "a lowercase letter or digit"));
        }
        let mut i = 0;
        while i < name.len() {
            let c = name[i];
            if !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'.' || c == b'_' || c == b'-') {
                return Err(ReleaseError::at("name", i, "a lowercase name character ([a-z0-9._-])"));
            }
            i += 1;
        }
        // `subarch` and `profile` were checked when they were made (their fields are private).
        if let Err(e) = check_stamp_part("version_prefix", self.version_prefix) {
            return Err(e);
        }
        if let Err(e) = check_stamp_part("rel_type", self.rel_type) {
            return Err(e);
        }
        if let Err((position, expected)) = check_relative_path(self.seed.as_bytes(), 0, PATH_EXPECTED) {
            return Err(ReleaseError::at("seed", position, expected));
        }
        if let Some(path) = self.binrepo_path {
            if let Err((position, expected)) = check_relative_path(path.as_bytes(), 0, PATH_EXPECTED) {
                return Err(ReleaseError::at("binrepo_path", position, expected));
            }
        }
        if let Some(path) = self.pkgcache_path {
            if let Err((position, expected)) = check_relative_path(path.as_bytes(), 0, PATH_EXPECTED) {
                return Err(ReleaseError::at("pkgcache_path", position, expected));
            }
            if !self.has_option(CatalystOption::Pkgcache) {
                return Err(ReleaseError::at(
                    "pkgcache_path",
                    0,
                    "the `pkgcache` option in `options` (catalyst ignores pkgcache_path without it)",
                ));
            }
        }
        match (self.portage_confdir, self.portage_prefix) {
            (Some(path), Some(prefix)) => {
                if let Err((position, expected)) = check_relative_path(path.as_bytes(), 0, PATH_EXPECTED) {
                    return Err(ReleaseError::at("portage_confdir", position, expected));
                }
                if let Err((position, expected)) = check_component(prefix.as_bytes(), 0, prefix.len()) {
                    return Err(ReleaseError::at("portage_prefix", position, expected));
                }
            }
            (Some(_), None) => {
                return Err(ReleaseError::at(
                    "portage_confdir",
                    0,
                    "a `portage_prefix` too (catalyst removes portage_confdir's package.* files from the stage only \
                     when portage_prefix is set; without it they ship in the stage)",
                ))
            }
            (None, Some(_)) => {
                return Err(ReleaseError::at(
                    "portage_prefix",
                    0,
                    "a `portage_confdir` too (the folder it names files in)",
                ))
            }
            (None, None) => {}
        }
        if let Some(flags) = self.common_flags {
            if let Err((position, expected)) = check_flags(flags.as_bytes()) {
                return Err(ReleaseError::at("common_flags", position, expected));
            }
        }
        match (self.binhost, self.binrepo_path) {
            (Some(binhost), Some(_)) => {
                if let Err((position, expected)) = check_binhost(binhost.as_bytes()) {
                    return Err(ReleaseError::at("binhost", position, expected));
                }
            }
            (Some(_), None) => {
                return Err(ReleaseError::at(
                    "binhost",
                    0,
                    "a `binrepo_path` too (catalyst writes binrepos.conf only when both are set)",
                ))
            }
            (None, Some(_)) => {
                return Err(ReleaseError::at(
                    "binrepo_path",
                    0,
                    "a `binhost` too (catalyst writes binrepos.conf only when both are set)",
                ))
            }
            (None, None) => {}
        }
        Ok(())
    }

    /// `self` when it is valid; otherwise panics with the field, the value and what was expected
    /// (a compile error when called in a `const` item).
    #[track_caller]
    pub const fn checked(self) -> Release {
        match self.validate() {
            Ok(()) => self,
            Err(e) => const_text::invalid(e.field, field_value(&self, e.field), e.position, e.expected),
        }
    }

    /// Whether catalyst.conf gets `option`.
    pub const fn has_option(&self, option: CatalystOption) -> bool {
        let mut i = 0;
        while i < self.options.len() {
            if self.options[i] as u8 == option as u8 {
                return true;
            }
            i += 1;
        }
        false
    }
}

/// The value of a field, by name, for error messages.
const fn field_value(release: &Release, field: &str) -> &'static str {
    let value = match field.as_bytes() {
        b"name" => Some(release.name),
        b"version_prefix" => Some(release.version_prefix),
        b"rel_type" => Some(release.rel_type),
        b"seed" => Some(release.seed),
        b"binhost" => release.binhost,
        b"binrepo_path" => release.binrepo_path,
        b"pkgcache_path" => release.pkgcache_path,
        b"portage_confdir" => release.portage_confdir,
        b"portage_prefix" => release.portage_prefix,
        b"common_flags" => release.common_flags,
        _ => None,
    };
    match value {
        Some(value) => value,
        None => "",
    }
}

const NONE_EXPECTED: &str = "a value other than `none` (catalyst's spec parser turns `none` into Python's None and \
     then fails)";

/// A version stamp as it goes into a spec (`<version_prefix>-<stamp>`, or a stamp given on the
/// command line): a name catalyst can put in a file name, and not `none`.
pub const fn check_version_stamp(stamp: &str) -> Result<(), ReleaseError> {
    check_stamp_part("version_stamp", stamp)
}

/// `field`'s value is one name ([`check_component`]) and not `none` in any case.
const fn check_stamp_part(field: &'static str, value: &str) -> Result<(), ReleaseError> {
    if let Err((position, expected)) = check_component(value.as_bytes(), 0, value.len()) {
        return Err(ReleaseError::at(field, position, expected));
    }
    let b = value.as_bytes();
    if b.len() == 4
        && b[0].eq_ignore_ascii_case(&b'n')
        && b[1].eq_ignore_ascii_case(&b'o')
        && b[2].eq_ignore_ascii_case(&b'n')
        && b[3].eq_ignore_ascii_case(&b'e')
    {
        return Err(ReleaseError::at(field, 0, NONE_EXPECTED));
    }
    Ok(())
}

const PATH_EXPECTED: &str = "a relative path of names ([A-Za-z0-9_][A-Za-z0-9._+-]*) separated by `/`";

/// One path component or file name part, `b[start..end]`: `[A-Za-z0-9_][A-Za-z0-9._+-]*`. Catalyst
/// joins these into paths and file names (`<rel_type>/<target>-<subarch>-<version_stamp>`), its
/// spec parser treats `#` as a comment, `%` as a substitution and whitespace as a list separator.
const fn check_component(b: &[u8], start: usize, end: usize) -> Result<(), (usize, &'static str)> {
    if start >= end {
        return Err((start, "a name ([A-Za-z0-9_][A-Za-z0-9._+-]*)"));
    }
    if !(b[start].is_ascii_alphanumeric() || b[start] == b'_') {
        return Err((start, "a name starting with a letter, digit or `_`"));
    }
    let mut i = start + 1;
    while i < end {
        let c = b[i];
        if !(c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'+' | b'-')) {
            return Err((i, "a name character ([A-Za-z0-9._+-])"));
        }
        i += 1;
    }
    Ok(())
}

/// Components separated by single `/`s, from `start` to the end (no leading or trailing `/`).
const fn check_relative_path(b: &[u8], start: usize, expected: &'static str) -> Result<(), (usize, &'static str)> {
    if start >= b.len() {
        return Err((start, expected));
    }
    let mut component = start;
    let mut i = start;
    while i <= b.len() {
        if i == b.len() || b[i] == b'/' {
            if let Err(e) = check_component(b, component, i) {
                return Err(if i == component { (i, expected) } else { e });
            }
            component = i + 1;
        }
        i += 1;
    }
    Ok(())
}

/// Compiler flags: printable ASCII words separated by single spaces, none of the characters the
/// spec parser or make.conf quoting would change (`#`, `%`, quotes, `\`, `$`, `` ` ``).
const fn check_flags(b: &[u8]) -> Result<(), (usize, &'static str)> {
    if b.is_empty() {
        return Err((0, "compiler flags such as `-O2 -pipe`"));
    }
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let space_ok = c == b' ' && i > 0 && i + 1 < b.len() && b[i - 1] != b' ';
        if !(space_ok || (c.is_ascii_graphic() && !matches!(c, b'#' | b'%' | b'"' | b'\'' | b'\\' | b'$' | b'`'))) {
            return Err((i, "compiler flags: words separated by single spaces, without #, %, quotes, \\, $ or `"));
        }
        i += 1;
    }
    Ok(())
}

/// An `http://`, `https://` or `file://` URL ending in `/` (catalyst appends `binrepo_path`).
const fn check_binhost(b: &[u8]) -> Result<(), (usize, &'static str)> {
    const SCHEMES: [&str; 3] = ["http://", "https://", "file://"];
    let mut scheme_ok = false;
    let mut s = 0;
    while s < SCHEMES.len() {
        let scheme = SCHEMES[s].as_bytes();
        if b.len() > scheme.len() {
            let mut k = 0;
            let mut same = true;
            while k < scheme.len() {
                same = same && b[k] == scheme[k];
                k += 1;
            }
            scheme_ok = scheme_ok || same;
        }
        s += 1;
    }
    if !scheme_ok {
        return Err((0, "an http://, https:// or file:// URL"));
    }
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if !c.is_ascii_graphic() || matches!(c, b'#' | b'%' | b'"' | b'\'' | b'\\') {
            return Err((i, "a URL character (no spaces, #, %, quotes or \\)"));
        }
        i += 1;
    }
    if b[b.len() - 1] != b'/' {
        return Err((b.len(), "a `/` at the end (catalyst appends binrepo_path to the binhost)"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: Release = Release {
        name: "x86-64-test",
        subarch: crate::subarch!("x86_64"),
        profile: crate::profile!("gentoo:default/linux/amd64/23.0/no-multilib"),
        version_prefix: "2026.01_rc1+x",
        rel_type: "23.0-default",
        seed: "seeds/stage3-amd64-openrc-latest.tar.xz",
        compression: Compression::Lbzip2,
        stages: Stages::Stage1Stage2Stage3,
        update_seed: false,
        options: &[CatalystOption::Pkgcache],
        binhost: Some("https://example.org/releases/"),
        binrepo_path: Some("amd64/binpackages/23.0/x86-64"),
        pkgcache_path: Some("packages/x"),
        portage_confdir: Some("catalyst/portage"),
        portage_prefix: Some("ours"),
        common_flags: Some("-O2 -pipe"),
    }
    .checked();

    fn error(release: Release) -> (&'static str, usize, &'static str) {
        let e = release.validate().unwrap_err();
        (e.field, e.position, e.expected)
    }

    #[test]
    fn subarches_are_those_of_catalysts_arch_files() {
        assert_eq!(Subarch::new("x86_64").arch(), "amd64");
        assert_eq!(Subarch::new("aarch64").arch(), "arm64");
        assert_eq!(Subarch::new("armv7a_hardfp_musl").arch(), "arm");
        assert_eq!(Subarch::new("mips64el_n64_musl").arch(), "mips");
        for typo in ["amd-64", "AMD64", "", "x86-64", "arm64 "] {
            let e = Subarch::parse(typo).unwrap_err();
            assert_eq!(e.field, "subarch", "{typo:?}");
        }
        let names: Vec<Subarch> = Subarch::all().collect();
        assert_eq!(names.len(), SUBARCHES.len());
        let mut unique: Vec<&str> = names.iter().map(Subarch::as_str).collect();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), names.len(), "a subarch is listed twice");
    }

    #[test]
    fn profiles_are_relative_paths_with_an_optional_repository() {
        for good in ["default/linux/amd64/23.0", "gentoo:default/linux/amd64/23.0/hardened", "a", "my_repo-2:x/y+z"] {
            assert_eq!(Profile::parse(good).map(|p| p.as_str()), Ok(good));
        }
        for (bad, position) in [
            ("/default/linux", 0),
            ("default//linux", 8),
            ("default/linux/", 14),
            ("default/../x", 8),
            ("default/linux amd64", 13),
            (":default", 0),
            ("gen too:default", 3),
            ("gentoo:", 7),
            ("", 0),
        ] {
            assert_eq!(Profile::parse(bad).map_err(|e| e.position), Err(position), "{bad:?}");
        }
    }

    #[test]
    fn a_valid_release_validates() {
        assert_eq!(VALID.validate(), Ok(()));
        assert_eq!(VALID.stage_list(), &[Stage::Stage1, Stage::Stage2, Stage::Stage3]);
        assert_eq!(Stages::Stage1Stage3.list(), &[Stage::Stage1, Stage::Stage3]);
        assert!(VALID.has_option(CatalystOption::Pkgcache));
        assert!(!VALID.has_option(CatalystOption::Seedcache));
        assert_eq!(Compression::Pixz.extension(), "tar.xz");
        assert_eq!(Compression::Lbzip2.extension(), "tar.bz2");
    }

    #[test]
    fn each_field_is_checked() {
        assert_eq!(error(Release { name: "Amd64", ..VALID }).0, "name");
        assert_eq!(
            error(Release { name: "amd64/x", ..VALID }),
            ("name", 5, "a lowercase name character ([a-z0-9._-])")
        );
        assert_eq!(error(Release { version_prefix: "2026 01", ..VALID }).0, "version_prefix");
        assert_eq!(error(Release { version_prefix: "", ..VALID }).0, "version_prefix");
        assert_eq!(error(Release { version_prefix: "None", ..VALID }), ("version_prefix", 0, NONE_EXPECTED));
        assert_eq!(error(Release { rel_type: "none", ..VALID }), ("rel_type", 0, NONE_EXPECTED));
        assert_eq!(Release { rel_type: "nones", version_prefix: "none-x", ..VALID }.validate(), Ok(()));
        assert_eq!(
            check_version_stamp("NONE").map_err(|e| (e.field, e.expected)),
            Err(("version_stamp", NONE_EXPECTED))
        );
        assert_eq!(check_version_stamp("openrc-20260101T000000Z"), Ok(()));
        assert_eq!(check_version_stamp("a/b").map_err(|e| e.position), Err(1));
        assert_eq!(
            error(Release { rel_type: "23.0/default", ..VALID }),
            ("rel_type", 4, "a name character ([A-Za-z0-9._+-])")
        );
        assert_eq!(error(Release { seed: "/var/tmp/seed", ..VALID }).0, "seed");
        assert_eq!(
            error(Release { seed: "a/../b", ..VALID }),
            ("seed", 2, "a name starting with a letter, digit or `_`")
        );
        assert_eq!(error(Release { binrepo_path: Some("amd64 x"), ..VALID }).0, "binrepo_path");
        assert_eq!(error(Release { pkgcache_path: Some("a/%(storedir)s"), ..VALID }).1, 2);
        assert_eq!(
            error(Release { portage_confdir: Some("conf#x"), ..VALID }),
            ("portage_confdir", 4, "a name character ([A-Za-z0-9._+-])")
        );
        assert_eq!(error(Release { common_flags: Some("-O2  -pipe"), ..VALID }).1, 4);
        assert_eq!(error(Release { common_flags: Some("-O2 # x"), ..VALID }).1, 4);
        assert_eq!(error(Release { common_flags: Some("-O2 -pipe "), ..VALID }).1, 9);
        assert_eq!(error(Release { common_flags: Some(""), ..VALID }).0, "common_flags");
        assert_eq!(error(Release { binhost: Some("https://example.org/releases"), ..VALID }).1, 28);
        assert_eq!(error(Release { binhost: Some("ftp://example.org/"), ..VALID }).1, 0);
        assert_eq!(error(Release { binhost: Some("https://exa mple.org/"), ..VALID }).1, 11);
    }

    #[test]
    fn settings_that_only_work_together_are_checked() {
        let (field, _, expected) = error(Release { options: &[], ..VALID });
        assert_eq!(field, "pkgcache_path");
        assert!(expected.contains("`pkgcache` option"), "{expected}");
        assert_eq!(error(Release { binhost: None, ..VALID }).0, "binrepo_path");
        assert_eq!(error(Release { binrepo_path: None, ..VALID }).0, "binhost");
        let without_binaries = Release { binhost: None, binrepo_path: None, ..VALID };
        assert_eq!(without_binaries.validate(), Ok(()));
        let (field, _, expected) = error(Release { portage_prefix: None, ..VALID });
        assert_eq!(field, "portage_confdir");
        assert!(expected.contains("ship in the stage"), "{expected}");
        assert_eq!(error(Release { portage_confdir: None, ..VALID }).0, "portage_prefix");
        assert_eq!(
            error(Release { portage_prefix: Some("re/leng"), ..VALID }),
            ("portage_prefix", 2, "a name character ([A-Za-z0-9._+-])")
        );
        let without_config = Release { portage_confdir: None, portage_prefix: None, ..VALID };
        assert_eq!(without_config.validate(), Ok(()));
    }

    #[test]
    fn checked_panics_with_the_field_and_value() {
        let err = std::panic::catch_unwind(|| Release { rel_type: "23.0 x", ..VALID }.checked()).unwrap_err();
        assert_eq!(
            err.downcast_ref::<String>().map(String::as_str),
            Some("invalid rel_type `23.0 x`: at byte 4: expected a name character ([A-Za-z0-9._+-])")
        );
        let err = std::panic::catch_unwind(|| Subarch::new("amd46")).unwrap_err();
        let message = err.downcast_ref::<String>().unwrap();
        assert!(
            message.starts_with("invalid subarch `amd46`: at byte 0: expected a subarch from catalyst"),
            "{message}"
        );
    }
}
