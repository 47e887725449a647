//! The executor's looks at local containers-storage: the one listing a command's inputs start from,
//! and the labels of one image.

use std::collections::BTreeMap;
use std::sync::Mutex;

use anyhow::{Context, Result};
use xshell::{cmd, Shell};

use crate::plan::clean::{StoredContainer, StoredImage};
use crate::plan::ImageIndex;

/// One `buildah images --json --no-trunc` call.
pub fn load_index(sh: &Shell) -> Result<ImageIndex> {
    let json = cmd!(sh, "buildah images --json --no-trunc").quiet().read().context("listing local images")?;
    ImageIndex::parse(&json)
}

/// `buildah images --json --no-trunc`, started: the caller does other work while buildah reads
/// storage, then [`Listing::wait`]s for the index (a no-op build overlaps its hashing with it).
pub struct Listing {
    child: std::process::Child,
}

/// A listing started before the command read its settings and images ([`Listing::start_early`]),
/// for the first [`Listing::start`] to take.
static EARLY: Mutex<Option<Listing>> = Mutex::new(None);

impl Listing {
    /// Starts the listing now, before anything else of the command, when buildah is installed: the
    /// command's first [`Listing::start`] takes it. Only for a command that changes nothing in
    /// storage before it plans (a no-op build is this one listing and the time it takes).
    pub fn start_early() {
        if crate::prerequisites::is_installed("buildah") {
            if let Ok(listing) = Listing::spawn() {
                *EARLY.lock().unwrap() = Some(listing);
            }
        }
    }

    /// The listing started early, or a new one.
    pub fn start() -> Result<Listing> {
        match EARLY.lock().unwrap().take() {
            Some(listing) => Ok(listing),
            None => Listing::spawn(),
        }
    }

    fn spawn() -> Result<Listing> {
        let child = buildah(&["images", "--json", "--no-trunc"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .context("listing local images: starting buildah")?;
        Ok(Listing { child })
    }

    pub fn wait(self) -> Result<ImageIndex> {
        let output = self.child.wait_with_output().context("listing local images")?;
        if !output.status.success() {
            anyhow::bail!(
                "listing local images: `buildah images --json --no-trunc` failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        ImageIndex::parse(&String::from_utf8_lossy(&output.stdout))
    }
}

/// The labels of an image in local storage (`buildah inspect --type image`).
pub fn labels(sh: &Shell, reference: &str) -> Result<BTreeMap<String, String>> {
    let json = cmd!(sh, "buildah inspect --type image {reference}")
        .quiet()
        .ignore_stderr()
        .read()
        .with_context(|| format!("inspecting the image {reference}"))?;
    let inspected: serde_json::Value =
        serde_json::from_str(&json).with_context(|| format!("reading `buildah inspect` of {reference}"))?;
    Ok(inspected["OCIv1"]["config"]["Labels"]
        .as_object()
        .map(|labels| {
            labels.iter().filter_map(|(key, value)| Some((key.clone(), value.as_str()?.to_owned()))).collect()
        })
        .unwrap_or_default())
}

/// A `buildah` command with these arguments, for callers that time or read it themselves (the bench
/// measures one look at storage against a no-op build).
pub fn buildah(args: &[&str]) -> std::process::Command {
    let mut command = std::process::Command::new("buildah");
    command.args(args);
    command
}

/// Every image with its names and size: one `buildah images --json --no-trunc` call (`clean`).
pub fn list_images(sh: &Shell) -> Result<Vec<StoredImage>> {
    let json = cmd!(sh, "buildah images --json --no-trunc").quiet().read().context("listing local images")?;
    parse_images(&json)
}

/// Every working container: one `buildah containers --json` call.
pub fn list_containers(sh: &Shell) -> Result<Vec<StoredContainer>> {
    let json = cmd!(sh, "buildah containers --json").quiet().read().context("listing working containers")?;
    let listed: Option<Vec<serde_json::Value>> = if json.trim().is_empty() {
        None
    } else {
        serde_json::from_str(json.trim()).context("reading `buildah containers --json`")?
    };
    let text = |value: &serde_json::Value| value.as_str().unwrap_or_default().to_owned();
    Ok(listed
        .unwrap_or_default()
        .iter()
        .map(|container| StoredContainer {
            name: text(&container["containername"]),
            image_id: text(&container["imageid"]).trim_start_matches("sha256:").to_owned(),
            image_name: text(&container["imagename"]),
        })
        .collect())
}

fn parse_images(json: &str) -> Result<Vec<StoredImage>> {
    let listed: Option<Vec<serde_json::Value>> = if json.trim().is_empty() {
        None
    } else {
        serde_json::from_str(json.trim()).context("reading `buildah images --json`")?
    };
    Ok(listed
        .unwrap_or_default()
        .iter()
        .map(|image| StoredImage {
            id: image["id"].as_str().unwrap_or_default().trim_start_matches("sha256:").to_owned(),
            names: image["names"]
                .as_array()
                .map(|names| names.iter().filter_map(|name| name.as_str().map(str::to_owned)).collect())
                .unwrap_or_default(),
            size: image["size"].as_str().and_then(parse_size).unwrap_or(0),
        })
        .collect())
}

/// Bytes of a size as buildah prints it (`277 MB`, `2.34 KB`: decimal units).
fn parse_size(text: &str) -> Option<u64> {
    let (number, unit) = text.trim().split_once(' ').unwrap_or((text.trim(), "B"));
    let factor: f64 = match unit.to_ascii_uppercase().as_str() {
        "B" => 1.0,
        "KB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "TB" => 1e12,
        _ => return None,
    };
    Some((number.parse::<f64>().ok()? * factor).round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_names_of_a_listing() {
        let json = r#"[{"id":"sha256:ab","names":["localhost/x/y:1"],"size":"2.34 KB"},{"id":"cd","names":null,"size":"277 MB"}]"#;
        let images = parse_images(json).unwrap();
        assert_eq!(images[0], StoredImage { id: "ab".into(), names: vec!["localhost/x/y:1".into()], size: 2340 });
        assert_eq!((images[1].names.len(), images[1].size), (0, 277_000_000));
        assert!(parse_images("null").unwrap().is_empty());
    }
}
