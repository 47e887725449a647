//! Catalyst releases: snapshots of the generated spec files and catalyst.conf, every spec checked
//! against the keys catalyst requires and knows per target, and the releng-parity releases compared
//! with the release engineering team's own specs. The CLI without catalyst is tested in
//! `xtask/tests/catalyst_cli.rs` (through the binary cargo builds for that package's tests).

use std::collections::BTreeSet;

use buildah_gentoo_tests::fixed_settings;
use camino::Utf8Path;
use image_defs::release::{CatalystOption, Compression, Release, Stages};
use image_defs::{profile, releases, subarch, Stage};
use xtask::catalyst::spec::RunValues;
use xtask::catalyst::{self, spec, CatalystPlan, Inputs, Snapshot};

/// Specs are written with the workspace at this path, so no machine path reaches a snapshot (the
/// real run writes the absolute workspace path into `portage_confdir`, as catalyst needs).
const WORKSPACE: &str = "/workspace";

/// The recorded snapshot the tests plan with, as `releases.lock` would give it.
const COMMIT: &str = "da31ee840e7887feb345ce81fb714853c2fc940c";
const COMMIT_DATE: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z

/// The host's cores the tests plan with (the real run counts them).
const CORES: u32 = 4;

fn snapshot() -> Snapshot {
    Snapshot::new(COMMIT, COMMIT_DATE).unwrap()
}

fn plan_of(release: &'static Release) -> CatalystPlan {
    let snapshot = snapshot();
    let inputs = Inputs { workspace: Utf8Path::new(WORKSPACE), snapshot: &snapshot, stamp: None, cores: CORES };
    catalyst::plan(release, &fixed_settings(), &inputs, false)
        .unwrap_or_else(|error| panic!("planning {}: {error:#}", release.name))
}

/// A release setting every optional key, so the key check covers them all.
static EVERYTHING: Release = Release {
    name: "everything",
    subarch: subarch!("amd64"),
    profile: profile!("default/linux/amd64/23.0/systemd"),
    version_prefix: "systemd",
    rel_type: "23.0-default",
    seed: "23.0-default/stage3-amd64-systemd-latest",
    compression: Compression::Lbzip2,
    stages: Stages::Stage1Stage2Stage3,
    update_seed: true,
    options: &[CatalystOption::Autoresume, CatalystOption::Pkgcache, CatalystOption::Seedcache],
    binhost: Some("https://binhost.example/releases/"),
    binrepo_path: Some("amd64/binpackages/23.0/x86-64"),
    pkgcache_path: Some("packages/everything"),
    portage_confdir: Some("catalyst/portage"),
    portage_prefix: Some("ours"),
    common_flags: Some("-O2 -pipe"),
}
.checked();

#[test]
fn specs_and_conf_of_the_example_releases_match_their_snapshots() {
    let mut checked = BTreeSet::new();
    for release in releases::all() {
        let plan = plan_of(release);
        for file in &plan.files {
            let name = file.path.file_name().unwrap();
            insta::assert_snapshot!(format!("{}@{name}", release.name), file.text);
        }
        insta::assert_snapshot!(format!("{}@commands", release.name), plan.script());
        checked.insert(release.name);
    }
    assert_eq!(checked.len(), 3);
}

/// A release, a stage and releng's spec for it, key by key.
type RelengSpec = (&'static str, Stage, &'static [(&'static str, &'static str)]);

/// The release engineering team's amd64 stage specs, key by key, as gentoo/releng has them at
/// 2542ea88 (2026-06-28): `releases/specs/amd64/stage{1,3}-{openrc,systemd}-23.spec` and
/// `releases/specs/amd64/hardened/stage{1,3}-openrc-23.spec`. `@TIMESTAMP@`, `@TREEISH@` and
/// `@REPO_DIR@` are what releng's catalyst-auto fills in; the test fills them with the snapshot's
/// stamp and commit and the workspace.
const RELENG: &[RelengSpec] = &[
    (
        "amd64-openrc",
        Stage::Stage1,
        &[
            ("subarch", "amd64"),
            ("target", "stage1"),
            ("version_stamp", "openrc-@TIMESTAMP@"),
            ("rel_type", "23.0-default"),
            ("profile", "default/linux/amd64/23.0"),
            ("snapshot_treeish", "@TREEISH@"),
            ("source_subpath", "23.0-default/stage3-amd64-openrc-latest"),
            ("compression_mode", "pixz"),
            ("update_seed", "yes"),
            ("update_seed_command", "--update --deep --newuse @world"),
            ("portage_confdir", "@REPO_DIR@/releases/portage/stages"),
            ("portage_prefix", "releng"),
        ],
    ),
    (
        "amd64-openrc",
        Stage::Stage3,
        &[
            ("subarch", "amd64"),
            ("target", "stage3"),
            ("version_stamp", "openrc-@TIMESTAMP@"),
            ("rel_type", "23.0-default"),
            ("profile", "default/linux/amd64/23.0"),
            ("snapshot_treeish", "@TREEISH@"),
            ("source_subpath", "23.0-default/stage1-amd64-openrc-@TIMESTAMP@"),
            ("compression_mode", "pixz"),
            ("portage_confdir", "@REPO_DIR@/releases/portage/stages"),
            ("portage_prefix", "releng"),
            ("binrepo_path", "amd64/binpackages/23.0/x86-64"),
        ],
    ),
    (
        "amd64-hardened",
        Stage::Stage1,
        &[
            ("subarch", "amd64"),
            ("target", "stage1"),
            ("version_stamp", "hardened-openrc-@TIMESTAMP@"),
            ("rel_type", "23.0-hardened"),
            ("profile", "default/linux/amd64/23.0/hardened"),
            ("snapshot_treeish", "@TREEISH@"),
            ("source_subpath", "23.0-hardened/stage3-amd64-hardened-openrc-latest"),
            ("compression_mode", "pixz"),
            ("update_seed", "yes"),
            ("update_seed_command", "--update --deep --newuse @world"),
            ("portage_confdir", "@REPO_DIR@/releases/portage/stages"),
            ("portage_prefix", "releng"),
        ],
    ),
    (
        "amd64-hardened",
        Stage::Stage3,
        &[
            ("subarch", "amd64"),
            ("target", "stage3"),
            ("version_stamp", "hardened-openrc-@TIMESTAMP@"),
            ("rel_type", "23.0-hardened"),
            ("profile", "default/linux/amd64/23.0/hardened"),
            ("snapshot_treeish", "@TREEISH@"),
            ("source_subpath", "23.0-hardened/stage1-amd64-hardened-openrc-@TIMESTAMP@"),
            ("compression_mode", "pixz"),
            ("portage_confdir", "@REPO_DIR@/releases/portage/stages"),
            ("portage_prefix", "releng"),
            ("binrepo_path", "amd64/binpackages/23.0/x86-64_hardened"),
        ],
    ),
    (
        "amd64-systemd",
        Stage::Stage1,
        &[
            ("subarch", "amd64"),
            ("target", "stage1"),
            ("version_stamp", "systemd-@TIMESTAMP@"),
            ("rel_type", "23.0-default"),
            ("profile", "default/linux/amd64/23.0/systemd"),
            ("snapshot_treeish", "@TREEISH@"),
            ("source_subpath", "23.0-default/stage3-amd64-systemd-latest"),
            ("compression_mode", "pixz"),
            ("update_seed", "yes"),
            ("update_seed_command", "--update --deep --newuse @world"),
            ("portage_confdir", "@REPO_DIR@/releases/portage/stages"),
            ("portage_prefix", "releng"),
        ],
    ),
    (
        "amd64-systemd",
        Stage::Stage3,
        &[
            ("subarch", "amd64"),
            ("target", "stage3"),
            ("version_stamp", "systemd-@TIMESTAMP@"),
            ("rel_type", "23.0-default"),
            ("profile", "default/linux/amd64/23.0/systemd"),
            ("snapshot_treeish", "@TREEISH@"),
            ("source_subpath", "23.0-default/stage1-amd64-systemd-@TIMESTAMP@"),
            ("compression_mode", "pixz"),
            ("portage_confdir", "@REPO_DIR@/releases/portage/stages"),
            ("portage_prefix", "releng"),
            ("binrepo_path", "amd64/binpackages/23.0/x86-64"),
        ],
    ),
];

#[test]
fn the_releng_parity_releases_write_releng_specs() {
    let stamp = snapshot().stamp();
    assert_eq!(stamp, "20260101T000000Z", "catalyst-auto's TIMESTAMP format");
    let fill = |value: &str| {
        value.replace("@TIMESTAMP@", &stamp).replace("@TREEISH@", COMMIT).replace("@REPO_DIR@", WORKSPACE)
    };
    let mut compared = BTreeSet::new();
    for release in releases::all() {
        let plan = plan_of(release);
        let ours: Vec<(Stage, String)> = spec::specs(
            release,
            &RunValues::new(release, COMMIT, &stamp).unwrap(),
            Utf8Path::new(WORKSPACE),
            &fixed_settings().catalyst_storedir,
        )
        .unwrap()
        .into_iter()
        .map(|spec| (spec.stage, spec.render()))
        .collect();
        let theirs: Vec<(Stage, String)> = RELENG
            .iter()
            .filter(|(name, _, _)| *name == release.name)
            .map(|(_, stage, keys)| {
                (*stage, keys.iter().map(|(key, value)| format!("{key}: {}\n", fill(value))).collect())
            })
            .collect();
        assert_eq!(ours, theirs, "{}: our specs are not releng's", release.name);
        // What catalyst reads is what the plan writes.
        for (stage, text) in &ours {
            let name = format!("/{}.spec", stage.target());
            let written = plan.files.iter().find(|file| file.path.as_str().ends_with(&name)).unwrap();
            assert_eq!(&written.text, text);
        }
        compared.insert(release.name);
    }
    assert_eq!(compared.len(), RELENG.len() / 2, "every release in the table is registered, and only those");
}

#[test]
fn the_stage_portage_configuration_is_releng_style_and_parses() {
    let workspace = Utf8Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let confdir = workspace.join(releases::RELENG_PORTAGE_CONFDIR);
    let mut files = 0;
    for kind in ["package.mask", "package.use", "profile/package.use.force"] {
        let folder = confdir.join(kind);
        for entry in folder.read_dir_utf8().unwrap_or_else(|error| panic!("{folder}: {error}")) {
            let entry = entry.unwrap();
            // Catalyst removes only `<kind>/<portage_prefix>` from the finished stage.
            assert_eq!(entry.file_name(), releases::RELENG_PORTAGE_PREFIX, "{}", entry.path());
            for file in entry.path().read_dir_utf8().unwrap() {
                let file = file.unwrap();
                let text = std::fs::read_to_string(file.path()).unwrap();
                for line in text.lines().map(str::trim).filter(|line| !line.is_empty() && !line.starts_with('#')) {
                    let atom = line.split_whitespace().next().unwrap();
                    if atom != "*/*" {
                        image_defs::Atom::parse(atom)
                            .unwrap_or_else(|error| panic!("{}: {line}: {error:?}", file.path()));
                    }
                }
                files += 1;
            }
        }
    }
    assert!(files >= 8, "{files} files");
    let top: Vec<String> = confdir
        .read_dir_utf8()
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_owned())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(top, ["package.mask", "package.use", "profile"], "nothing else is copied into the stage");
}

// The keys catalyst 4.x takes in a stage spec, from gentoo/catalyst df01e21b (4.1.0-37):
// catalyst/base/stagebase.py `StageBase.__init__` (`required_values |=`, `valid_values |=`) and
// catalyst/targets/stage{1,2,3}.py (`required_values`, `valid_values`). catalyst/support.py
// `addl_arg_parse` refuses a spec with a key outside these or without a required one.

/// stagebase.py `required_values`, for every stage target.
const STAGE_REQUIRED: &[&str] =
    &["profile", "rel_type", "snapshot_treeish", "source_subpath", "subarch", "target", "version_stamp"];

/// stagebase.py `valid_values`, beyond the required ones.
const STAGE_VALID: &[&str] = &[
    "asflags",
    "binrepo_path",
    "catalyst_use",
    "cbuild",
    "cflags",
    "common_flags",
    "compression_mode",
    "cxxflags",
    "decompressor_search_order",
    "fcflags",
    "fflags",
    "hostuse",
    "install_mask",
    "interpreter",
    "keep_repos",
    "kerncache_path",
    "ldflags",
    "pkgcache_path",
    "portage_confdir",
    "rename_regexp",
    "repos",
    "portage_prefix",
];

/// The target's own `valid_values` (stage1.py, stage2.py, stage3.py); none adds required keys.
fn target_valid(stage: Stage) -> &'static [&'static str] {
    match stage {
        Stage::Stage1 => &["chost", "update_seed", "update_seed_command"],
        Stage::Stage2 => &["chost"],
        Stage::Stage3 => &[],
    }
}

/// catalyst/defaults.py `valid_config_file_values`: the keys catalyst.conf may have.
const CONF_KEYS: &[&str] = &[
    "binhost",
    "compression_mode",
    "digests",
    "digest_format",
    "distcc_hosts",
    "distdir",
    "envscript",
    "jobs",
    "jobserver-fifo",
    "load-average",
    "options",
    "port_logdir",
    "repo_basedir",
    "repo_openpgp_key_path",
    "repo_name",
    "repos_storedir",
    "sharedir",
    "storedir",
    "target_distdir",
    "target_logdir",
    "target_pkgdir",
    "var_tmpfs_portage",
];

/// catalyst.conf `options` catalyst acts on: defaults.py `option_messages`, etc/catalyst.conf
/// (`bindist`, `keepwork`, `sticky-config`) and stagebase.py (`versioned_cache`).
const CONF_OPTIONS: &[&str] = &[
    "autoresume",
    "bindist",
    "ccache",
    "distcc",
    "icecream",
    "keepwork",
    "kerncache",
    "pkgcache",
    "seedcache",
    "sticky-config",
    "versioned_cache",
];

/// pyDeComp DeComp/definitions.py `COMPRESS_DEFINITIONS` keys (catalyst's `compression_mode`).
const COMPRESSION_MODES: &[&str] = &[
    "rsync",
    "lbzip2",
    "lbzip2_x",
    "bzip2",
    "bzip2_x",
    "lzip",
    "lzma",
    "lzop",
    "tar",
    "tar_x",
    "xz",
    "xz_x",
    "pixz",
    "pixz_x",
    "gzip",
    "gzip_x",
    "squashfs_xz",
    "squashfs_gzip",
];

/// A spec file as catalyst/config.py `SpecParser` reads it: key → value words.
fn parse_like_catalyst(text: &str) -> Vec<(String, Vec<String>)> {
    let mut values: Vec<(String, Vec<String>)> = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap().trim();
        if line.is_empty() {
            continue;
        }
        let (key, value) = line.split_once(':').unwrap_or_else(|| panic!("a line without `:`: {line:?}"));
        assert!(!value.contains('%'), "catalyst would %-substitute {value:?}");
        let words = value.trim().trim_matches('"').split_whitespace().map(str::to_owned).collect();
        assert!(values.iter().all(|(k, _)| k != key), "key {key} twice");
        values.push((key.to_owned(), words));
    }
    values
}

#[test]
fn every_spec_has_the_keys_catalyst_requires_and_none_it_does_not_know() {
    let mut all: Vec<&'static Release> = releases::all();
    all.push(&EVERYTHING);
    let mut seen_keys = BTreeSet::new();
    for release in all {
        let plan = plan_of(release);
        let run = RunValues::new(release, COMMIT, &snapshot().stamp()).unwrap();
        let specs = spec::specs(release, &run, Utf8Path::new(WORKSPACE), &fixed_settings().catalyst_storedir).unwrap();
        assert_eq!(specs.iter().map(|s| s.stage).collect::<Vec<_>>(), release.stage_list());
        for spec in &specs {
            let text = spec.render();
            let written =
                plan.files.iter().find(|f| f.path.as_str().ends_with(&format!("/{}.spec", spec.stage.target())));
            assert_eq!(written.map(|f| f.text.as_str()), Some(text.as_str()), "{} {:?}", release.name, spec.stage);
            let parsed = parse_like_catalyst(&text);
            let keys: BTreeSet<&str> = parsed.iter().map(|(k, _)| k.as_str()).collect();
            for required in STAGE_REQUIRED {
                assert!(keys.contains(required), "{} {:?}: no `{required}`:\n{text}", release.name, spec.stage);
            }
            for key in &keys {
                let known =
                    STAGE_REQUIRED.contains(key) || STAGE_VALID.contains(key) || target_valid(spec.stage).contains(key);
                assert!(known, "{} {:?}: catalyst does not know `{key}`:\n{text}", release.name, spec.stage);
                seen_keys.insert(key.to_string());
            }
            // What catalyst reads back is what was meant: the words, joined by single spaces.
            for ((key, words), (our_key, value)) in parsed.iter().zip(&spec.entries) {
                assert_eq!((key.as_str(), words.join(" ")), (*our_key, value.clone()));
            }
            let value = |key: &str| parsed.iter().find(|(k, _)| k == key).map(|(_, words)| words.join(" "));
            assert_eq!(value("target").as_deref(), Some(spec.stage.target()));
            assert!(COMPRESSION_MODES.contains(&value("compression_mode").unwrap().as_str()));
            if let Some(update_seed) = value("update_seed") {
                assert!(["yes", "no"].contains(&update_seed.as_str()), "stage1/chroot.sh takes yes or no");
            }
        }
        let conf: toml::Table = toml::from_str(&plan.files[0].text).expect("catalyst.conf is TOML");
        for key in conf.keys() {
            assert!(
                CONF_KEYS.contains(&key.as_str()),
                "{}: catalyst.conf key `{key}` is unknown to catalyst",
                release.name
            );
        }
        assert_eq!(conf["storedir"].as_str(), Some("/var/tmp/catalyst"));
        assert_eq!(conf["jobs"].as_integer(), Some(i64::from(CORES)), "parallel by default");
        assert_eq!(conf["load-average"].as_integer(), Some(i64::from(CORES)));
        let digests: Vec<&str> = conf["digests"].as_array().unwrap().iter().map(|d| d.as_str().unwrap()).collect();
        assert!(digests.contains(&"sha512"), "the import verifies <stage3>.DIGESTS, which needs sha512");
        for option in conf["options"].as_array().unwrap() {
            assert!(CONF_OPTIONS.contains(&option.as_str().unwrap()), "{}: unknown option {option:?}", release.name);
        }
        assert_eq!(conf.get("binhost").and_then(|b| b.as_str()), release.binhost);
    }
    // EVERYTHING sets every optional key, so each was checked above.
    for key in
        ["binrepo_path", "pkgcache_path", "portage_confdir", "portage_prefix", "common_flags", "update_seed_command"]
    {
        assert!(seen_keys.contains(key), "no release wrote `{key}`");
    }
}

#[test]
fn the_stage3_tarball_is_named_as_catalyst_names_it() {
    let plan = plan_of(&EVERYTHING);
    assert_eq!(plan.stage3, "/var/tmp/catalyst/builds/23.0-default/stage3-amd64-systemd-20260101T000000Z.tar.bz2");
    assert_eq!(plan.portage_confdir.as_deref(), Some(Utf8Path::new("/workspace/catalyst/portage")));
    let stage3 = plan.files.iter().find(|f| f.path.as_str().ends_with("/stage3.spec")).unwrap();
    assert!(
        stage3.text.contains("source_subpath: 23.0-default/stage2-amd64-systemd-20260101T000000Z\n"),
        "{}",
        stage3.text
    );
    assert!(stage3.text.contains("pkgcache_path: /var/tmp/catalyst/packages/everything\n"), "{}", stage3.text);
}
