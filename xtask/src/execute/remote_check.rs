//! `build --remote-check`: before building, take from the registry what CI built already. For each
//! image of the build (parents first) whose input hash the registry has as `<image>:inputs-<hash>`,
//! the image is pulled and named in local storage as a local build would name it; the build then
//! finds it up to date. An image the registry lacks is built, and so are its descendants (their hash
//! needs its new id).

use std::collections::BTreeMap;

use anyhow::Result;
use camino::Utf8Path;
use image_defs::{Image, Registry, Root};
use xshell::Shell;

use super::ci_job::start_ids;
use super::remote::RemoteRegistry;
use super::{inputs, rig_root};
use crate::plan::{self, inputs_tag, INPUTS_TAG_PREFIX};
use crate::settings::Settings;

/// Pulls the images of `images` (in build order) that the registry has up to date; returns the
/// references pulled.
pub fn take_from_registry(
    sh: &Shell,
    workspace: &Utf8Path,
    settings: &Settings,
    registry: &Registry,
    images: &[&'static dyn Image],
) -> Result<Vec<String>> {
    let remote = RemoteRegistry::new(sh, settings)?;
    let request = inputs::Request { workspace, settings, registry, images, force: false };
    let mut inputs = inputs::gather(sh, &request)?;
    if images.iter().any(|image| registry.root_of(*image) == Root::Rig) {
        let id = rig_root::ensure(sh, workspace, settings, &inputs.storage)?;
        inputs.storage.insert(inputs.rig_root.clone(), id);
    }
    // Ids of the images that are (or now are) in local storage with the inputs they have today.
    let mut known: BTreeMap<&str, String> = BTreeMap::new();
    let mut pulled = Vec::new();
    for image in images {
        let local = settings.repository_of(image.name());
        let ids = |name: &str| {
            known.get(name).cloned().or_else(|| {
                // A parent outside this build (`--no-deps`): as local storage has it.
                inputs.storage.id(&format!("{}:latest", settings.repository_of(name))).map(str::to_owned)
            })
        };
        let Ok((base, builder)) = start_ids(*image, &ids, &inputs, &remote) else {
            continue; // built on an image this build makes: its hash is known only then
        };
        let hash = plan::input_hash(*image, &inputs, &base, builder.as_deref())?;
        let marker = inputs_tag(&local, &hash);
        if let Some(id) = inputs.storage.id(&marker) {
            known.insert(image.name(), id.to_owned());
            continue;
        }
        let tag = format!("{INPUTS_TAG_PREFIX}{hash}");
        let Some(id) = remote.image_id(image.name(), &tag)? else { continue };
        eprintln!("==> {}: up to date in the registry, pulling it", image.name());
        let tags = [format!("{local}:latest"), marker];
        let source = remote.pull_as(image.name(), &tag, Some(&id), &tags)?;
        known.insert(image.name(), id);
        pulled.push(source);
    }
    Ok(pulled)
}
