//! What the planner needs besides the images: everything that would otherwise be I/O or the clock,
//! gathered once per command by `execute::inputs`.

use std::collections::BTreeMap;

use image_defs::{Image, Registry, Root};

use super::{input_parts, ImageIndex, TarballImport};
use crate::settings::{BinhostTls, Settings};

#[derive(Clone)]
pub struct PlanInputs<'a> {
    pub registry: &'a Registry,
    pub settings: &'a Settings,
    /// The date tag, `YYYYMMDD`, taken from the clock by the caller.
    pub date_tag: String,
    /// The image reference of the rig root (tagged with the hash of its inputs).
    pub rig_root: String,
    /// The tarball roots in use (declared path → what to import, with the digest the caller read
    /// from the definition or the `.DIGESTS` file). A tarball root missing here cannot be planned.
    pub tarballs: BTreeMap<String, TarballImport>,
    /// SOURCE_DATE_EPOCH of rig images and of the others.
    pub source_dates: SourceDates,
    /// What local containers-storage held: references → image ids.
    pub storage: ImageIndex,
    /// The identities of the ebuild repositories the images are built from.
    pub repositories: RepositoryIdentities,
    /// The SHA-256 (hex) of every file the images copy in, by the path the image names.
    pub copied_files: BTreeMap<String, String>,
    /// The TLS files of the `https://` binhosts, by `host[:port]` (see
    /// [`Settings::discover_binhost_tls`]).
    pub binhost_tls: BTreeMap<String, BinhostTls>,
    /// Plan images whose inputs did not change too (`build --force`, and `plan`, which prints the
    /// whole build).
    pub force: bool,
}

/// SOURCE_DATE_EPOCH of one run: the one date an image carries (its creation time, every file's
/// mtime, its SBOM's date), for rig images (from `tests/rig/repo`) and for the others.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SourceDates {
    pub rig: i64,
    pub repository: i64,
}

/// The state of the ebuild repositories, part of every input hash: a new snapshot rebuilds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RepositoryIdentities {
    /// The rig's repository (`tests/rig/repo`): its content hash.
    pub rig: String,
    /// The configured repository: a folder and its sync timestamp, or an image and its id.
    pub main: String,
    /// The extra repositories the images use, by name: a folder's content hash, or an image's id.
    pub extra: BTreeMap<&'static str, String>,
}

impl PlanInputs<'_> {
    /// The identities of the repositories `image` is built from, as input parts: the main one (the
    /// rig's for rig images) as [`input_parts::REPOSITORY`], then each extra repository it mounts as
    /// `repository:<name>`.
    pub fn repository_parts(&self, image: &dyn Image) -> anyhow::Result<Vec<(String, String)>> {
        let main = match self.registry.root_of(image) {
            Root::Rig => self.repositories.rig.clone(),
            _ => self.repositories.main.clone(),
        };
        let mut parts = vec![(input_parts::REPOSITORY.to_owned(), main)];
        for repository in self.registry.repositories_of(image) {
            let Some(extra) = self.repositories.extra.get(repository.name) else {
                anyhow::bail!(
                    "image `{}`: repository `{}` was not read before planning",
                    image.name(),
                    repository.name
                );
            };
            parts.push((format!("{}{}", input_parts::REPOSITORY_PREFIX, repository.name), extra.clone()));
        }
        Ok(parts)
    }

    /// The image's SOURCE_DATE_EPOCH: the rig's for rig images, the repository's for the others.
    pub fn source_date(&self, image: &dyn Image) -> i64 {
        match self.registry.root_of(image) {
            Root::Rig => self.source_dates.rig,
            _ => self.source_dates.repository,
        }
    }
}
