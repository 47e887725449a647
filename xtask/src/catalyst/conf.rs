//! catalyst.conf for one release (or for making a snapshot). Catalyst 4 reads it as TOML
//! (catalyst/main.py `parse_config`) and knows the keys of catalyst/defaults.py
//! `valid_config_file_values` (gentoo/catalyst df01e21b); string values then go through Python `%`
//! substitution, so they must not contain `%`.
//!
//! `catalyst -c FILE` replaces `/etc/catalyst/catalyst.conf` entirely, so this file carries every key
//! that matters to a build: without `jobs` and `load-average` catalyst exports `MAKEOPTS=''` and
//! builds serially. They default to the host's cores; `envscript` and `distdir` are written when set.

use anyhow::{bail, Result};
use image_defs::{CatalystOption, Release};

use crate::settings::Settings;

/// The digests catalyst writes to `<stage>.DIGESTS` (defaults.py has none: without `digests`
/// catalyst writes no DIGESTS file, and the root image import verifies the stage against it).
pub const DIGESTS: &[&str] = &["sha512"];

/// catalyst.conf of `release`: its options (with the `catalyst-options` setting's) and binhost.
pub fn render(release: &Release, settings: &Settings, cores: u32) -> Result<String> {
    let title = format!("release `{}`", release.name);
    render_with(&title, release.options, release.binhost, settings, cores)
}

/// catalyst.conf for `catalyst -s`: no release's options.
pub fn render_snapshot(settings: &Settings, cores: u32) -> Result<String> {
    render_with("snapshots", &[], None, settings, cores)
}

fn render_with(
    title: &str,
    options: &[CatalystOption],
    binhost: Option<&str>,
    settings: &Settings,
    cores: u32,
) -> Result<String> {
    let mut text = format!("# catalyst.conf of {title}, written by `cargo xtask catalyst`.\n");
    text.push_str(&format!("storedir = {}\n", toml_string("storedir", settings.catalyst_storedir.as_str())?));
    text.push_str(&format!("digests = {}\n", toml_list("digests", DIGESTS.iter().copied())?));
    text.push_str(&format!("jobs = {}\n", settings.catalyst_jobs.unwrap_or(cores).max(1)));
    text.push_str(&format!("load-average = {}\n", settings.catalyst_load_average.unwrap_or(cores).max(1)));
    if let Some(path) = &settings.catalyst_envscript {
        text.push_str(&format!("envscript = {}\n", toml_string("envscript", path.as_str())?));
    }
    if let Some(path) = &settings.catalyst_distdir {
        text.push_str(&format!("distdir = {}\n", toml_string("distdir", path.as_str())?));
    }
    let mut options: Vec<CatalystOption> = options.iter().chain(&settings.catalyst_options).copied().collect();
    options.sort();
    options.dedup();
    text.push_str(&format!("options = {}\n", toml_list("options", options.iter().map(|option| option.as_str()))?));
    if let Some(binhost) = binhost {
        text.push_str(&format!("binhost = {}\n", toml_string("binhost", binhost)?));
    }
    Ok(text)
}

/// A TOML basic string. Values with `%` (catalyst's substitution), quotes, `\` or control
/// characters are refused rather than escaped: catalyst would change or mishandle them.
fn toml_string(key: &str, value: &str) -> Result<String> {
    if let Some(c) = value.chars().find(|c| matches!(c, '%' | '"' | '\\' | '#') || c.is_control() || c.is_whitespace())
    {
        bail!("catalyst.conf `{key}`: value `{value}` contains {c:?}, which catalyst would not read back unchanged");
    }
    Ok(format!("\"{value}\""))
}

fn toml_list<'a>(key: &str, values: impl Iterator<Item = &'a str>) -> Result<String> {
    let items: Vec<String> = values.map(|value| toml_string(key, value)).collect::<Result<_>>()?;
    Ok(format!("[{}]", items.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use image_defs::releases::AMD64_OPENRC;

    fn settings() -> Settings {
        Settings::defaults("/var/cache".into())
    }

    #[test]
    fn storedir_catalyst_would_change_is_refused() {
        let mut settings = settings();
        settings.catalyst_storedir = "/var/tmp/100%".into();
        let error = render(&AMD64_OPENRC, &settings, 2).unwrap_err();
        assert_eq!(
            error.to_string(),
            "catalyst.conf `storedir`: value `/var/tmp/100%` contains '%', which catalyst would not read back unchanged"
        );
        settings.catalyst_storedir = "/var/tmp/my store".into();
        assert!(render(&AMD64_OPENRC, &settings, 2).is_err());
    }

    #[test]
    fn builds_in_parallel_by_default_and_takes_the_host_settings() {
        let text = render(&AMD64_OPENRC, &settings(), 6).unwrap();
        let parsed: toml::Table = toml::from_str(&text).unwrap();
        assert_eq!(parsed["storedir"].as_str(), Some("/var/tmp/catalyst"));
        assert_eq!((parsed["jobs"].as_integer(), parsed["load-average"].as_integer()), (Some(6), Some(6)));
        assert!(!parsed.contains_key("envscript") && !parsed.contains_key("distdir"));
        assert_eq!(parsed["binhost"].as_str(), AMD64_OPENRC.binhost);

        let mut settings = settings();
        settings.catalyst_jobs = Some(3);
        settings.catalyst_envscript = Some("/etc/catalyst/catalystrc".into());
        settings.catalyst_distdir = Some("/srv/distfiles".into());
        settings.catalyst_options = vec![CatalystOption::Ccache, CatalystOption::Pkgcache];
        let parsed: toml::Table = toml::from_str(&render(&AMD64_OPENRC, &settings, 6).unwrap()).unwrap();
        assert_eq!((parsed["jobs"].as_integer(), parsed["load-average"].as_integer()), (Some(3), Some(6)));
        assert_eq!(parsed["envscript"].as_str(), Some("/etc/catalyst/catalystrc"));
        assert_eq!(parsed["distdir"].as_str(), Some("/srv/distfiles"));
        let options: Vec<&str> = parsed["options"].as_array().unwrap().iter().map(|o| o.as_str().unwrap()).collect();
        assert_eq!(options, ["bindist", "ccache", "pkgcache", "seedcache"], "merged, sorted, once each");

        let snapshot: toml::Table = toml::from_str(&render_snapshot(&settings, 1).unwrap()).unwrap();
        assert!(!snapshot.contains_key("binhost"));
    }
}
