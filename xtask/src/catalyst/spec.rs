//! Catalyst 4.x spec files: one `key: value` line per key, in a fixed order.
//!
//! Catalyst's spec parser (catalyst/config.py `SpecParser`, gentoo/catalyst df01e21b) splits each
//! line on its first `:`, strips a trailing `# comment` and surrounding `"`, applies Python `%`
//! substitution and splits the value on whitespace into a list, which reaches the build scripts
//! joined by single spaces again. So values are written unquoted, as releng's specs do, and must
//! not contain `#`, `%` or a line break (the release model and [`check_value`] reject them).

use anyhow::{bail, Result};
use camino::Utf8Path;
use image_defs::{Release, Stage};

/// The command releng's stage1 specs update the seed with (`update_seed_command`).
pub const UPDATE_SEED_COMMAND: &str = "--update --deep --newuse @world";

/// One spec file: the stage it builds and its keys in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spec {
    pub stage: Stage,
    pub entries: Vec<(&'static str, String)>,
}

impl Spec {
    /// The spec file's text.
    pub fn render(&self) -> String {
        self.entries.iter().map(|(key, value)| format!("{key}: {value}\n")).collect()
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries.iter().find(|(k, _)| *k == key).map(|(_, value)| value.as_str())
    }
}

/// What one run of a release fills in, as releng's tooling fills `@TREEISH@` and `@TIMESTAMP@`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunValues {
    /// `snapshot_treeish`: the snapshot's commit.
    pub treeish: String,
    /// The whole `version_stamp`: `<version_prefix>-<stamp>`.
    pub version_stamp: String,
}

impl RunValues {
    /// `<version_prefix>-<stamp>`, checked (a name, not `none`).
    pub fn new(release: &Release, treeish: &str, stamp: &str) -> Result<RunValues> {
        let version_stamp = format!("{}-{stamp}", release.version_prefix);
        image_defs::release::check_version_stamp(&version_stamp)
            .map_err(|error| anyhow::anyhow!("release `{}`: {error}", release.name))?;
        Ok(RunValues { treeish: treeish.to_owned(), version_stamp })
    }
}

/// Where stage `stage` of `release` lands, relative to `<storedir>/builds/` and without the
/// extension: `<rel_type>/<target>-<subarch>-<version_stamp>` (stagebase.py `set_target_subpath`).
pub fn output_subpath(release: &Release, stage: Stage, version_stamp: &str) -> String {
    format!("{}/{}-{}-{version_stamp}", release.rel_type, stage.target(), release.subarch)
}

/// catalyst's default package cache of a stage, relative to the storedir, when the spec sets no
/// `pkgcache_path`: `packages/<rel_type>/<target>-<subarch>` (stagebase.py `set_pkgcache_path`,
/// without `versioned_cache`). One per target, shared by the releases of one rel_type and subarch.
pub fn default_pkgcache_subpath(release: &Release, stage: Stage) -> String {
    format!("packages/{}/{}-{}", release.rel_type, stage.target(), release.subarch)
}

/// The spec of every stage of `release`, in build order: stage1 starts from the seed, every later
/// stage from the one before it. `workspace` anchors `portage_confdir` (catalyst needs it absolute),
/// `storedir` `pkgcache_path`. `binrepo_path` goes in the last stage only, as releng's specs have it.
pub fn specs(release: &Release, run: &RunValues, workspace: &Utf8Path, storedir: &Utf8Path) -> Result<Vec<Spec>> {
    let mut specs = Vec::new();
    let mut source = release.seed.to_owned();
    let last = release.stage_list().last().copied();
    for &stage in release.stage_list() {
        let mut entries: Vec<(&'static str, String)> = vec![
            ("subarch", release.subarch.to_string()),
            ("target", stage.target().to_owned()),
            ("version_stamp", run.version_stamp.clone()),
            ("rel_type", release.rel_type.to_owned()),
            ("profile", release.profile.to_string()),
            ("snapshot_treeish", run.treeish.clone()),
            ("source_subpath", source),
            ("compression_mode", release.compression.as_str().to_owned()),
        ];
        if stage == Stage::Stage1 {
            if release.update_seed {
                entries.push(("update_seed", "yes".to_owned()));
                entries.push(("update_seed_command", UPDATE_SEED_COMMAND.to_owned()));
            }
            if let Some(flags) = release.common_flags {
                entries.push(("common_flags", flags.to_owned()));
            }
        }
        if let Some(dir) = release.portage_confdir {
            entries.push(("portage_confdir", workspace.join(dir).into_string()));
        }
        if let Some(prefix) = release.portage_prefix {
            entries.push(("portage_prefix", prefix.to_owned()));
        }
        if let Some(path) = release.pkgcache_path {
            entries.push(("pkgcache_path", storedir.join(path).into_string()));
        }
        if let Some(path) = release.binrepo_path.filter(|_| Some(stage) == last) {
            entries.push(("binrepo_path", path.to_owned()));
        }
        for (key, value) in &entries {
            check_value(key, value).map_err(|error| error.context(format!("release `{}`", release.name)))?;
        }
        source = output_subpath(release, stage, &run.version_stamp);
        specs.push(Spec { stage, entries });
    }
    Ok(specs)
}

/// A value catalyst's spec parser reads back unchanged: one line, no `#` (a comment), no `%` (a
/// substitution), no `"`, no leading or trailing or doubled whitespace (it splits on whitespace).
pub fn check_value(key: &str, value: &str) -> Result<()> {
    let bad =
        value.chars().find(|c| matches!(c, '#' | '%' | '"') || (c.is_whitespace() && *c != ' ') || c.is_control());
    if let Some(c) = bad {
        bail!("spec key `{key}`: value `{value}` contains {c:?}, which catalyst's spec parser would not keep");
    }
    if value.is_empty() || value.starts_with(' ') || value.ends_with(' ') || value.contains("  ") {
        bail!("spec key `{key}`: value `{value}` must be words separated by single spaces (catalyst drops empty keys)");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use image_defs::releases::{AMD64_HARDENED, AMD64_OPENRC};
    use image_defs::{CatalystOption, Stages};

    const TREEISH: &str = "da31ee840e7887feb345ce81fb714853c2fc940c";

    fn run(release: &Release) -> RunValues {
        RunValues::new(release, TREEISH, "20260101T000000Z").unwrap()
    }

    /// Every optional key set, stage2 included.
    const FULL: Release = Release {
        stages: Stages::Stage1Stage2Stage3,
        common_flags: Some("-O2 -pipe"),
        pkgcache_path: Some("packages/full"),
        options: &[CatalystOption::Pkgcache],
        ..AMD64_HARDENED
    };

    #[test]
    fn each_stage_starts_from_the_one_before() {
        let specs = specs(&FULL, &run(&FULL), "/ws".into(), "/store".into()).unwrap();
        let sources: Vec<(&str, &str)> =
            specs.iter().map(|s| (s.get("target").unwrap(), s.get("source_subpath").unwrap())).collect();
        assert_eq!(
            sources,
            [
                ("stage1", "23.0-hardened/stage3-amd64-hardened-openrc-latest"),
                ("stage2", "23.0-hardened/stage1-amd64-hardened-openrc-20260101T000000Z"),
                ("stage3", "23.0-hardened/stage2-amd64-hardened-openrc-20260101T000000Z"),
            ]
        );
        let specs = super::specs(&AMD64_OPENRC, &run(&AMD64_OPENRC), "/ws".into(), "/store".into()).unwrap();
        assert_eq!(specs.len(), 2);
        assert_eq!(specs[1].get("source_subpath"), Some("23.0-default/stage1-amd64-openrc-20260101T000000Z"));
        assert_eq!(specs[1].get("portage_confdir"), Some("/ws/releases/portage/stages"), "absolute, for catalyst");
        assert_eq!(specs[1].get("portage_prefix"), Some("releng"));
    }

    #[test]
    fn stage_specific_keys_stay_in_their_stage() {
        let specs = specs(&FULL, &run(&FULL), "/ws".into(), "/store".into()).unwrap();
        assert_eq!(specs[0].get("common_flags"), Some("-O2 -pipe"));
        assert_eq!(specs[0].get("update_seed"), Some("yes"));
        for later in &specs[1..] {
            for key in ["common_flags", "update_seed", "update_seed_command"] {
                assert_eq!(later.get(key), None, "{key} in {:?}", later.stage);
            }
            assert_eq!(later.get("pkgcache_path"), Some("/store/packages/full"));
        }
        let binrepo: Vec<Option<&str>> = specs.iter().map(|spec| spec.get("binrepo_path")).collect();
        assert_eq!(binrepo, [None, None, Some("amd64/binpackages/23.0/x86-64_hardened")]);
    }

    #[test]
    fn a_given_stamp_is_checked() {
        let error = RunValues::new(&AMD64_OPENRC, TREEISH, "2026/01").unwrap_err().to_string();
        assert_eq!(
            error,
            "release `amd64-openrc`: version_stamp: at byte 11: expected a name character ([A-Za-z0-9._+-])"
        );
        assert_eq!(RunValues::new(&AMD64_OPENRC, TREEISH, "none").unwrap().version_stamp, "openrc-none");
    }

    #[test]
    fn values_catalyst_would_change_are_refused() {
        for bad in ["a#b", "50%", "say \"hi\"", "two\nlines", "tab\there", "", " lead", "trail ", "a  b"] {
            assert!(check_value("k", bad).is_err(), "{bad:?}");
        }
        check_value("k", "--update --deep @world").unwrap();
        let without_confdir = Release { portage_confdir: None, portage_prefix: None, ..AMD64_HARDENED };
        let result = specs(&without_confdir, &run(&AMD64_HARDENED), "/my ws#1".into(), "/store".into());
        assert!(result.is_ok(), "portage_confdir is unset, so the workspace path is not written");
        let error = specs(&AMD64_OPENRC, &run(&AMD64_OPENRC), "/my#ws".into(), "/store".into()).unwrap_err();
        assert_eq!(
            format!("{error:#}"),
            "release `amd64-openrc`: spec key `portage_confdir`: value `/my#ws/releases/portage/stages` contains '#', \
             which catalyst's spec parser would not keep"
        );
    }

    #[test]
    fn renders_key_colon_value_lines() {
        let spec =
            Spec { stage: Stage::Stage3, entries: vec![("subarch", "amd64".into()), ("target", "stage3".into())] };
        assert_eq!(spec.render(), "subarch: amd64\ntarget: stage3\n");
    }
}
