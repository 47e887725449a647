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

/// Where stage `stage` of `release` lands, relative to `<storedir>/builds/` and without the
/// extension: `<rel_type>/<target>-<subarch>-<version_stamp>` (stagebase.py `set_target_subpath`).
pub fn output_subpath(release: &Release, stage: Stage) -> String {
    format!("{}/{}-{}-{}", release.rel_type, stage.target(), release.subarch, release.version_stamp)
}

/// The spec of every stage of `release`, in build order: stage1 starts from the seed, every later
/// stage from the one before it. `workspace` anchors `portage_confdir`, `storedir` `pkgcache_path`.
pub fn specs(release: &Release, workspace: &Utf8Path, storedir: &Utf8Path) -> Result<Vec<Spec>> {
    let mut specs = Vec::new();
    let mut source = release.seed.to_owned();
    for &stage in release.stage_list() {
        let mut entries: Vec<(&'static str, String)> = vec![
            ("subarch", release.subarch.to_string()),
            ("target", stage.target().to_owned()),
            ("version_stamp", release.version_stamp.to_owned()),
            ("rel_type", release.rel_type.to_owned()),
            ("profile", release.profile.to_string()),
            ("snapshot_treeish", release.snapshot_treeish.to_owned()),
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
        if let Some(path) = release.pkgcache_path {
            entries.push(("pkgcache_path", storedir.join(path).into_string()));
        }
        if let Some(path) = release.binrepo_path {
            entries.push(("binrepo_path", path.to_owned()));
        }
        for (key, value) in &entries {
            check_value(key, value).map_err(|error| error.context(format!("release `{}`", release.name)))?;
        }
        source = output_subpath(release, stage);
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

    #[test]
    fn each_stage_starts_from_the_one_before() {
        let specs = specs(&AMD64_HARDENED, "/ws".into(), "/store".into()).unwrap();
        let sources: Vec<(&str, &str)> =
            specs.iter().map(|s| (s.get("target").unwrap(), s.get("source_subpath").unwrap())).collect();
        assert_eq!(
            sources,
            [
                ("stage1", "23.0-hardened/stage3-amd64-hardened-openrc-latest"),
                ("stage2", "23.0-hardened/stage1-amd64-hardened-openrc-20260101"),
                ("stage3", "23.0-hardened/stage2-amd64-hardened-openrc-20260101"),
            ]
        );
        let specs = super::specs(&AMD64_OPENRC, "/ws".into(), "/store".into()).unwrap();
        assert_eq!(specs.len(), 2);
        assert_eq!(specs[1].get("source_subpath"), Some("23.0-default/stage1-amd64-openrc-20260101"));
    }

    #[test]
    fn stage1_only_keys_stay_in_stage1() {
        let specs = specs(&AMD64_HARDENED, "/ws".into(), "/store".into()).unwrap();
        assert_eq!(specs[0].get("common_flags"), Some("-O2 -pipe -march=x86-64-v2"));
        assert_eq!(specs[0].get("update_seed"), Some("yes"));
        for later in &specs[1..] {
            for key in ["common_flags", "update_seed", "update_seed_command"] {
                assert_eq!(later.get(key), None, "{key} in {:?}", later.stage);
            }
            assert_eq!(later.get("pkgcache_path"), Some("/store/packages/23.0-hardened"));
        }
    }

    #[test]
    fn values_catalyst_would_change_are_refused() {
        for bad in ["a#b", "50%", "say \"hi\"", "two\nlines", "tab\there", "", " lead", "trail ", "a  b"] {
            assert!(check_value("k", bad).is_err(), "{bad:?}");
        }
        check_value("k", "--update --deep @world").unwrap();
        let error = specs(&AMD64_HARDENED, "/my ws#1".into(), "/store".into());
        assert!(error.is_ok(), "portage_confdir is unset, so the workspace path is not written");
        let with_confdir = Release { portage_confdir: Some("conf"), ..AMD64_OPENRC };
        let error = specs(&with_confdir, "/my#ws".into(), "/store".into()).unwrap_err();
        assert_eq!(
            format!("{error:#}"),
            "release `amd64-openrc`: spec key `portage_confdir`: value `/my#ws/conf` contains '#', which catalyst's \
             spec parser would not keep"
        );
    }

    #[test]
    fn renders_key_colon_value_lines() {
        let spec =
            Spec { stage: Stage::Stage3, entries: vec![("subarch", "amd64".into()), ("target", "stage3".into())] };
        assert_eq!(spec.render(), "subarch: amd64\ntarget: stage3\n");
    }
}
