//! catalyst.conf for one release. Catalyst 4 reads it as TOML (catalyst/main.py `parse_config`)
//! and knows the keys of catalyst/defaults.py `valid_config_file_values` (gentoo/catalyst
//! df01e21b); string values then go through Python `%` substitution, so they must not contain `%`.

use anyhow::{bail, Result};
use camino::Utf8Path;
use image_defs::Release;

/// The digests catalyst writes to `<stage>.DIGESTS` (defaults.py has none: without `digests`
/// catalyst writes no DIGESTS file, and the root image import verifies the stage against it).
pub const DIGESTS: &[&str] = &["sha512"];

/// catalyst.conf's text: `storedir`, `digests`, `options` and, when the release has one, `binhost`.
pub fn render(release: &Release, storedir: &Utf8Path) -> Result<String> {
    let mut text = format!("# catalyst.conf of release `{}`, written by `cargo xtask catalyst`.\n", release.name);
    text.push_str(&format!("storedir = {}\n", toml_string("storedir", storedir.as_str())?));
    text.push_str(&format!("digests = {}\n", toml_list("digests", DIGESTS.iter().copied())?));
    let options = release.options.iter().map(|option| option.as_str());
    text.push_str(&format!("options = {}\n", toml_list("options", options)?));
    if let Some(binhost) = release.binhost {
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

    #[test]
    fn storedir_catalyst_would_change_is_refused() {
        let error = render(&AMD64_OPENRC, "/var/tmp/100%".into()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "catalyst.conf `storedir`: value `/var/tmp/100%` contains '%', which catalyst would not read back unchanged"
        );
        assert!(render(&AMD64_OPENRC, "/var/tmp/my store".into()).is_err());
        let text = render(&AMD64_OPENRC, "/var/tmp/catalyst".into()).unwrap();
        let parsed: toml::Table = toml::from_str(&text).unwrap();
        assert_eq!(parsed["storedir"].as_str(), Some("/var/tmp/catalyst"));
        assert_eq!(parsed["options"].as_array().unwrap().len(), AMD64_OPENRC.options.len());
        assert!(!parsed.contains_key("binhost"));
    }
}
