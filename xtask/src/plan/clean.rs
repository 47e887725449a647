//! `cargo xtask clean`: what to remove, as data, from one look at storage (pure: the executor gathers
//! the listings and runs the steps). Only what is ours: images and tags of the settings' namespace,
//! images the ledger records as built under it, containers a `--keep-failed` left (named
//! `bg-<pid>-...`, their process gone), and the build contexts and logs of images the registry no
//! longer defines.

use std::collections::{BTreeMap, BTreeSet};

use camino::Utf8PathBuf;
use serde::{Deserialize, Serialize};

use super::command::Command;
use super::step::PlanStep;

/// An image as `buildah images --json` lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StoredImage {
    /// Without `sha256:`.
    pub id: String,
    pub names: Vec<String>,
    /// Bytes, as buildah lists them (layers shared with other images count in each).
    pub size: u64,
}

/// A working container as `buildah containers --json` lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StoredContainer {
    pub name: String,
    /// Without `sha256:`.
    pub image_id: String,
    pub image_name: String,
}

/// One line of the ledger (`<work-dir>/ledger.jsonl`): what a build of a namespace made that storage
/// cannot tell later: the ids of the images it built (an image that loses every name keeps no trace
/// of its namespace) and the containers `--keep-failed` kept.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub namespace: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
}

/// A file or folder of the work folder, relative to the workspace root, with its size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkFile {
    pub path: Utf8PathBuf,
    /// The name in its folder (a context folder's name, a log's file name).
    pub name: String,
    pub bytes: u64,
}

/// Everything `clean` decides from.
pub struct CleanInputs<'a> {
    pub namespace: &'a str,
    pub keep_dates: usize,
    pub images: &'a [StoredImage],
    pub containers: &'a [StoredContainer],
    /// The process ids of `bg-<pid>-...` containers whose process still runs.
    pub live_pids: &'a BTreeSet<u32>,
    pub ledger: &'a [LedgerEntry],
    /// [`super::file_stem`] of every image the registry defines.
    pub image_stems: &'a BTreeSet<String>,
    /// The folders under `<work-dir>/context/`.
    pub contexts: &'a [WorkFile],
    /// The files under `<work-dir>/logs/`.
    pub logs: &'a [WorkFile],
}

/// One thing to remove, why, and the step that removes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CleanItem {
    /// `container`, `tag`, `image`, `context` or `log`.
    pub kind: &'static str,
    /// The container's name, the reference, the image id or the path.
    pub target: String,
    pub why: String,
    /// Bytes this frees: an image's size when the image goes, a file's size; 0 for a tag the image
    /// keeps others of, and for containers (buildah does not list their size).
    pub bytes: u64,
    pub step: CleanStep,
}

/// The plan of a `clean`: removals in an order that works (containers before the images they use).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CleanPlan {
    pub items: Vec<CleanItem>,
}

impl CleanPlan {
    pub fn bytes(&self) -> u64 {
        self.items.iter().map(|item| item.bytes).sum()
    }
}

/// One removal; each renders to exactly one [`Command`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum CleanStep {
    /// `buildah rm NAME`.
    RemoveContainer { name: String },
    /// `buildah rmi REFERENCE`: removes a name (and the image with its last name).
    Untag { reference: String },
    /// `buildah rmi ID`: an image without names.
    RemoveImage { id: String },
    /// `rm -rf -- PATH` (relative to the workspace root).
    RemovePath { path: Utf8PathBuf },
}

impl PlanStep for CleanStep {
    fn command(&self) -> Command {
        match self {
            CleanStep::RemoveContainer { name } => Command::new(["buildah", "rm", name.as_str()]),
            CleanStep::Untag { reference } => Command::new(["buildah", "rmi", reference.as_str()]),
            CleanStep::RemoveImage { id } => Command::new(["buildah", "rmi", id.as_str()]),
            CleanStep::RemovePath { path } => Command::new(["rm", "-rf", "--", path.as_str()]),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            CleanStep::RemoveContainer { .. } => "rm",
            CleanStep::Untag { .. } | CleanStep::RemoveImage { .. } => "rmi",
            CleanStep::RemovePath { .. } => "rm -rf",
        }
    }
}

/// Files of the log folder that are the tool's, not an image's.
const TOOL_LOGS: &[&str] = &["setup.log", "summary.json", "rig-root.log", "push-setup.log", "clean.log"];

/// What `clean` removes.
pub fn plan(inputs: &CleanInputs) -> CleanPlan {
    let prefix = format!("{}/", inputs.namespace.trim_end_matches('/'));
    let ours = |name: &str| name.starts_with(&prefix);
    let ledger_images: BTreeSet<&str> = inputs
        .ledger
        .iter()
        .filter(|entry| entry.namespace == inputs.namespace)
        .filter_map(|entry| entry.image.as_deref())
        .collect();
    let ledger_containers: BTreeSet<&str> = inputs
        .ledger
        .iter()
        .filter(|entry| entry.namespace == inputs.namespace)
        .filter_map(|entry| entry.container.as_deref())
        .collect();
    // Images every name of which is ours (buildah lists a container's image by its first name, not
    // by the one it was made from, so a shared image says nothing about a container's namespace).
    let only_ours: BTreeSet<&str> = inputs
        .images
        .iter()
        .filter(|image| !image.names.is_empty() && image.names.iter().all(|name| ours(name)))
        .map(|image| image.id.as_str())
        .collect();
    let mut items = Vec::new();

    // Containers of runs that are gone: a run's containers share its pid; a run is ours when one of
    // its containers is (recorded by --keep-failed, or made from an image only our namespace names).
    let leftover = |container: &StoredContainer| -> Option<u32> {
        let pid: u32 = container.name.strip_prefix("bg-")?.split('-').next()?.parse().ok()?;
        (!inputs.live_pids.contains(&pid)).then_some(pid)
    };
    let our_runs: BTreeSet<u32> = inputs
        .containers
        .iter()
        .filter(|container| {
            ledger_containers.contains(container.name.as_str()) || only_ours.contains(container.image_id.as_str())
        })
        .filter_map(leftover)
        .collect();
    let mut removed_containers = BTreeSet::new();
    for container in inputs.containers {
        if leftover(container).is_some_and(|pid| our_runs.contains(&pid)) {
            removed_containers.insert(container.name.as_str());
            items.push(CleanItem {
                kind: "container",
                target: container.name.clone(),
                why: "left by a failed build (--keep-failed) whose process is gone".into(),
                bytes: 0,
                step: CleanStep::RemoveContainer { name: container.name.clone() },
            });
        }
    }
    // Images a container still uses (one not removed here) stay.
    let in_use: BTreeSet<&str> = inputs
        .containers
        .iter()
        .filter(|container| !removed_containers.contains(container.name.as_str()))
        .map(|container| container.image_id.as_str())
        .collect();

    // Date tags beyond the newest `keep_dates` of each image.
    let mut dates: BTreeMap<&str, Vec<(&str, &StoredImage)>> = BTreeMap::new();
    for image in inputs.images {
        for name in image.names.iter().filter(|name| ours(name)) {
            let Some((repository, tag)) = name.rsplit_once(':') else { continue };
            if tag.len() == 8 && tag.bytes().all(|b| b.is_ascii_digit()) {
                dates.entry(repository).or_default().push((tag, image));
            }
        }
    }
    let mut untagged: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    let mut tag_items = Vec::new();
    for (repository, mut tags) in dates {
        tags.sort_by(|a, b| b.0.cmp(a.0));
        for (tag, image) in tags.into_iter().skip(inputs.keep_dates) {
            let reference = format!("{repository}:{tag}");
            untagged.entry(image.id.as_str()).or_default().insert(reference.clone());
            tag_items.push((reference, image));
        }
    }
    for (reference, image) in tag_items {
        let goes = image.names.iter().all(|name| untagged[image.id.as_str()].contains(name));
        // The image goes with the last of its names: count its size once, on that name.
        let last = untagged[image.id.as_str()].iter().next_back() == Some(&reference);
        let blocked = goes && in_use.contains(image.id.as_str());
        if blocked {
            continue;
        }
        items.push(CleanItem {
            kind: "tag",
            target: reference.clone(),
            why: format!(
                "a date tag older than the newest {}{}",
                inputs.keep_dates,
                if goes { "; the image has no other name and goes with it" } else { "" }
            ),
            bytes: if goes && last { image.size } else { 0 },
            step: CleanStep::Untag { reference },
        });
    }

    // Images of ours without a name (a rebuild moved every tag to a new image).
    for image in inputs.images {
        if image.names.is_empty() && ledger_images.contains(image.id.as_str()) && !in_use.contains(image.id.as_str()) {
            items.push(CleanItem {
                kind: "image",
                target: image.id.clone(),
                why: format!("built under {} and left without a name by a rebuild", inputs.namespace),
                bytes: image.size,
                step: CleanStep::RemoveImage { id: image.id.clone() },
            });
        }
    }

    // Build contexts and logs of images the registry no longer defines.
    let known = |stem: &str| inputs.image_stems.contains(stem);
    let tool_stem = |stem: &str| stem.starts_with("root+") || stem.starts_with("catalyst+") || stem == "rig-root";
    for context in inputs.contexts {
        if !known(&context.name) && !tool_stem(&context.name) {
            items.push(CleanItem {
                kind: "context",
                target: context.path.to_string(),
                why: "the build context of an image no longer defined".into(),
                bytes: context.bytes,
                step: CleanStep::RemovePath { path: context.path.clone() },
            });
        }
    }
    for log in inputs.logs {
        if TOOL_LOGS.contains(&log.name.as_str()) {
            continue;
        }
        let Some(stem) = image_stem_of_log(&log.name, inputs.image_stems) else { continue };
        if !known(stem) && !tool_stem(stem) {
            items.push(CleanItem {
                kind: "log",
                target: log.path.to_string(),
                why: "a log of an image no longer defined".into(),
                bytes: log.bytes,
                step: CleanStep::RemovePath { path: log.path.clone() },
            });
        }
    }
    CleanPlan { items }
}

/// The image stem of a file the tool writes into the log folder: `<stem>.log`, `<stem>.spdx.json`,
/// `<stem>.push.log`, `<stem>.<cat>+<pf>.build.log`, `<stem>.<cat>+<pf>.environment`. A known stem is
/// preferred (image names may hold dots); `None` for any other file.
fn image_stem_of_log<'n>(name: &'n str, stems: &BTreeSet<String>) -> Option<&'n str> {
    let suffixes = [".push.log", ".spdx.json", ".build.log", ".environment", ".log"];
    let suffix = suffixes.iter().find(|suffix| name.ends_with(*suffix))?;
    let body = &name[..name.len() - suffix.len()];
    let package_file = matches!(*suffix, ".build.log" | ".environment");
    if let Some(stem) =
        stems.iter().find(|stem| body == stem.as_str() || (package_file && body.starts_with(&format!("{stem}."))))
    {
        return Some(&name[..stem.len()]);
    }
    if package_file {
        // `<stem>.<cat>+<pf>`: the package part holds a `+`, a version's dots come after it.
        let plus = body.rfind('+')?;
        let dot = body[..plus].rfind('.')?;
        return Some(&body[..dot]);
    }
    Some(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(id: &str, names: &[&str], size: u64) -> StoredImage {
        StoredImage { id: id.into(), names: names.iter().map(|n| n.to_string()).collect(), size }
    }

    fn file(path: &str, name: &str) -> WorkFile {
        WorkFile { path: path.into(), name: name.into(), bytes: 10 }
    }

    #[test]
    fn removes_only_what_is_ours() {
        let images = [
            image("a1", &["localhost/ns/app:latest", "localhost/ns/app:20260105"], 100),
            image("a2", &["localhost/ns/app:20260104"], 90),
            image("a3", &["localhost/ns/app:20260103", "localhost/ns/app:inputs-x"], 80),
            image("a4", &["localhost/ns/app:20260102"], 70),
            image("o1", &["localhost/other/app:20200101"], 60),
            image("s1", &["localhost/ns/app:inputs-y", "localhost/other/app:latest"], 30),
            image("d1", &[], 50),
            image("d2", &[], 40),
        ];
        let containers = [
            StoredContainer { name: "bg-1-app-work".into(), image_id: "a1".into(), image_name: String::new() },
            StoredContainer { name: "bg-1-app-builder".into(), image_id: "zz".into(), image_name: "scratch".into() },
            StoredContainer { name: "bg-2-app-work".into(), image_id: "a1".into(), image_name: String::new() },
            StoredContainer { name: "bg-3-x-work".into(), image_id: "o1".into(), image_name: String::new() },
            // An image with names in both namespaces says nothing: not ours.
            StoredContainer { name: "bg-4-x-work".into(), image_id: "s1".into(), image_name: String::new() },
            StoredContainer { name: "mine".into(), image_id: "a4".into(), image_name: String::new() },
        ];
        let ledger = [
            LedgerEntry { namespace: "localhost/ns".into(), image: Some("d1".into()), container: None },
            LedgerEntry { namespace: "localhost/other".into(), image: Some("d2".into()), container: None },
        ];
        let stems: BTreeSet<String> = ["app".to_owned(), "rig+alpha".to_owned()].into();
        let live: BTreeSet<u32> = [2].into();
        let contexts =
            [file("t/context/app", "app"), file("t/context/gone", "gone"), file("t/context/root+s", "root+s")];
        let logs = [
            file("t/logs/app.log", "app.log"),
            file("t/logs/gone.log", "gone.log"),
            file("t/logs/rig+alpha.app-misc+broken-1.2.build.log", "rig+alpha.app-misc+broken-1.2.build.log"),
            file("t/logs/rig+gone.app-misc+broken-1.2.build.log", "rig+gone.app-misc+broken-1.2.build.log"),
            file("t/logs/summary.json", "summary.json"),
        ];
        let inputs = CleanInputs {
            namespace: "localhost/ns",
            keep_dates: 2,
            images: &images,
            containers: &containers,
            live_pids: &live,
            ledger: &ledger,
            image_stems: &stems,
            contexts: &contexts,
            logs: &logs,
        };
        let plan = plan(&inputs);
        let targets: Vec<(&str, &str, u64)> =
            plan.items.iter().map(|item| (item.kind, item.target.as_str(), item.bytes)).collect();
        assert_eq!(
            targets,
            [
                ("container", "bg-1-app-work", 0),
                ("container", "bg-1-app-builder", 0),
                ("tag", "localhost/ns/app:20260103", 0),
                // a4 is used by the container `mine`: its last name stays.
                ("image", "d1", 50),
                ("context", "t/context/gone", 10),
                ("log", "t/logs/gone.log", 10),
                ("log", "t/logs/rig+gone.app-misc+broken-1.2.build.log", 10),
            ]
        );
        assert_eq!(plan.bytes(), 80);
    }
}
