//! The executor's looks at local containers-storage: the one listing a command's inputs start from,
//! and the labels of one image.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use xshell::{cmd, Shell};

use crate::plan::ImageIndex;

/// One `buildah images --json --no-trunc` call.
pub fn load_index(sh: &Shell) -> Result<ImageIndex> {
    let json = cmd!(sh, "buildah images --json --no-trunc").quiet().read().context("listing local images")?;
    ImageIndex::parse(&json)
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
