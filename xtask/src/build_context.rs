//! Writes an image's generated build context (its portage files) to disk, replacing whatever an
//! earlier plan left there, so the folder holds exactly the plan's files.

use anyhow::{Context, Result};
use camino::Utf8Path;

use crate::plan::ImagePlan;

/// Writes `image`'s context folder under `workspace`.
pub fn write(workspace: &Utf8Path, image: &ImagePlan) -> Result<()> {
    let dir = workspace.join(&image.context_dir);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("removing the old build context {dir}"))?;
    }
    for file in &image.context_files {
        let path = dir.join(&file.path);
        let parent = path.parent().expect("context files live in folders");
        std::fs::create_dir_all(parent).with_context(|| format!("creating {parent}"))?;
        std::fs::write(&path, &file.contents).with_context(|| format!("writing {path}"))?;
    }
    Ok(())
}
