//! What local containers-storage held when a command gathered its inputs: one `buildah images`
//! listing (the executor reads it; see `execute::storage`), as data the planner can use.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use anyhow::{Context, Result};
use serde::Deserialize;

use crate::plan::{PACKAGES_LABEL, PROVIDED_LABEL};

/// Image references (`name:tag`) → image ids, as of one look at storage.
#[derive(Clone, Debug, Default)]
pub struct ImageIndex {
    ids: HashMap<String, String>,
}

#[derive(Deserialize)]
struct ListedImage {
    id: String,
    #[serde(default)]
    names: Option<Vec<String>>,
}

impl ImageIndex {
    /// Reads the output of `buildah images --json --no-trunc`.
    pub fn parse(json: &str) -> Result<ImageIndex> {
        let json = json.trim();
        let listed: Vec<ListedImage> = if json.is_empty() {
            Vec::new()
        } else {
            serde_json::from_str(json).context("reading `buildah images --json`")?
        };
        let mut ids = HashMap::new();
        for image in listed {
            let id = image.id.trim_start_matches("sha256:").to_owned();
            for name in image.names.unwrap_or_default() {
                ids.insert(name, id.clone());
            }
        }
        Ok(ImageIndex { ids })
    }

    /// The id of `reference` (a `name:tag`; `docker.io/` names as buildah lists them).
    pub fn id(&self, reference: &str) -> Option<&str> {
        self.ids.get(reference).or_else(|| self.ids.get(&normalize(reference))).map(String::as_str)
    }

    /// The id of every image listed.
    pub fn ids(&self) -> std::collections::BTreeSet<String> {
        self.ids.values().cloned().collect()
    }

    /// Every reference of the image with this id.
    pub fn names_of(&self, id: &str) -> Vec<String> {
        let mut names: Vec<String> =
            self.ids.iter().filter(|(_, other)| *other == id).map(|(name, _)| name.clone()).collect();
        names.sort();
        names
    }

    /// Forgets a reference (after it was untagged).
    pub fn remove(&mut self, reference: &str) {
        self.ids.remove(reference);
    }

    /// Records a reference this run has just tagged.
    pub fn insert(&mut self, reference: String, id: String) {
        self.ids.insert(reference, id);
    }
}

/// buildah lists `gentoo/stage3` as `docker.io/gentoo/stage3:latest`.
fn normalize(reference: &str) -> String {
    let mut name = reference.to_owned();
    let last = name.rsplit('/').next().unwrap_or("");
    if !last.contains(':') && !name.contains('@') {
        name.push_str(":latest");
    }
    let first = name.split('/').next().unwrap_or("");
    let has_host = name.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    if !has_host {
        name = if name.contains('/') { format!("docker.io/{name}") } else { format!("docker.io/library/{name}") };
    }
    name
}

/// Every package a built minimal image holds (`CAT/PF`, sorted), from its labels: what its package
/// database listed when it was built plus what its minimal parent held. `None` when the image has no
/// such label (a full image, or one built before minimal images existed).
pub fn recorded_packages(labels: &BTreeMap<String, String>) -> Option<Vec<String>> {
    let own = labels.get(PACKAGES_LABEL)?;
    let inherited = labels.get(PROVIDED_LABEL).map(String::as_str).unwrap_or_default();
    let all: BTreeSet<&str> = own.split_whitespace().chain(inherited.split_whitespace()).collect();
    Some(all.into_iter().map(str::to_owned).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_buildah_listing_and_normalizes_names() {
        let json = r#"[{"id":"sha256:abc","names":["docker.io/gentoo/stage3:latest","localhost/x/y:1"]},{"id":"def","names":null}]"#;
        let index = ImageIndex::parse(json).unwrap();
        assert_eq!(index.id("gentoo/stage3"), Some("abc"));
        assert_eq!(index.id("localhost/x/y:1"), Some("abc"));
        assert_eq!(index.id("localhost/x/y"), None);
        assert!(ImageIndex::parse("").unwrap().id("a").is_none());
    }

    #[test]
    fn recorded_packages_join_both_labels() {
        let labels = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs.iter().map(|(key, value)| (key.to_string(), value.to_string())).collect()
        };
        let both = labels(&[
            (PACKAGES_LABEL, "app-misc/greeter-1\ndev-libs/libgreet-1\nsys-apps/busybox-1"),
            (PROVIDED_LABEL, "sys-apps/busybox-1"),
        ]);
        assert_eq!(
            recorded_packages(&both).unwrap(),
            ["app-misc/greeter-1", "dev-libs/libgreet-1", "sys-apps/busybox-1"]
        );
        let empty = labels(&[(PACKAGES_LABEL, ""), (PROVIDED_LABEL, "")]);
        assert_eq!(recorded_packages(&empty), Some(vec![]));
        assert_eq!(recorded_packages(&labels(&[(PROVIDED_LABEL, "a/b-1")])), None);
    }
}
