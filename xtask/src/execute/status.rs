//! `status` and `build --explain`: the plan's statuses, with the labels of the stale images read
//! from storage. Storage is listed once for the whole tree (the listing the inputs are gathered
//! from); only an image that is stale and has a `latest` is inspected, one `buildah inspect` each
//! (buildah inspects one image a call). Up-to-date and missing images cost nothing more.

use std::collections::BTreeMap;

use anyhow::{Context as _, Result};
use camino::Utf8Path;
use image_defs::{Image, Registry};
use xshell::Shell;

use crate::plan::status::{self, ImageStatus};
use crate::plan::{self, ImageIndex, Plan};
use crate::settings::Settings;

/// The status of each image of a plan: `storage` is the listing the plan was made from.
pub fn of_plan(sh: &Shell, plan: &Plan, storage: &ImageIndex) -> Result<Vec<ImageStatus>> {
    let mut labels = BTreeMap::new();
    for (name, reference) in status::needs_labels(plan, storage) {
        let read = super::storage::labels(sh, &reference)
            .with_context(|| format!("image `{name}`: reading the labels of {reference}"))?;
        labels.insert(name, read);
    }
    Ok(status::statuses(plan, storage, &labels))
}

/// The status of `images` (in build order): gathers their inputs and plans them as `build` would
/// (not forced), without writing anything.
pub fn of_images(
    sh: &Shell,
    workspace: &Utf8Path,
    settings: &Settings,
    registry: &Registry,
    images: &[&'static dyn Image],
) -> Result<Vec<ImageStatus>> {
    let request = super::inputs::Request { workspace, settings, registry, images, force: false };
    let inputs = super::inputs::gather(sh, &request)?;
    let plan = plan::plan(images, &inputs)?;
    of_plan(sh, &plan, &inputs.storage)
}
