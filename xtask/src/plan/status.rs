//! Whether each planned image is up to date, missing or stale, and why: the parts of its input hash
//! recorded with the built image ([`INPUT_PARTS_LABEL`]) against those of the plan, and the ids it
//! was built on against those its parent and builder have now. Pure: the labels come read.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::input_parts::{self, group, parse_label, short, INPUT_PARTS_LABEL};
use super::{inputs_tag, ImageIndex, ImagePlan, Plan, Role};

/// One image's status.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ImageStatus {
    pub image: String,
    pub status: State,
    /// The id of its `latest`, when storage has one.
    pub id: Option<String>,
    /// Its input hash, when the plan knows it (not when a parent or builder is built first).
    pub input_hash: Option<String>,
    /// Why it is stale (empty otherwise), in the order of the parts.
    pub reasons: Vec<Reason>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// `latest` carries the input hash of the plan: `build` runs nothing.
    UpToDate,
    /// Storage has no `latest`.
    Missing,
    /// `latest` was built from other inputs.
    Stale,
}

/// One input that changed since the image was built.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Reason {
    pub input: Input,
    /// Which part: a definition's field (`packages`, `env`, `config`, `test`, `commit`, `steps`,
    /// `use`, `keywords`, `masks`, `unmasks`, `make_conf`, `provided`, `repositories`), the parent's
    /// or builder's name, a repository's name (`main` for the gentoo or rig repository), `version`,
    /// `files`, `settings`.
    pub part: String,
    /// The copied or generated file, for those parts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The recorded value (short hash, id or version); `None` when the part is new.
    pub was: Option<String>,
    /// The value now; `None` when the part is gone, or for a parent or builder the plan builds first
    /// (or storage lacks).
    pub now: Option<String>,
}

/// The kind of input a [`Reason`] names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Input {
    /// The image's own definition (a field, or a portage file generated from it).
    Definition,
    /// A file the image copies in.
    File,
    Parent,
    Builder,
    /// An ebuild repository's identity.
    Repository,
    /// The tool's version.
    Tool,
    /// Settings that enter the plan.
    Settings,
    /// The image was built before images recorded their input parts.
    NoManifest,
    /// The hash differs but no recorded part or id does (recorded by a tool that hashed otherwise).
    Unexplained,
}

/// The images of `plan` whose labels explain them: stale ones that storage has a `latest` of
/// (name, reference). Up-to-date and missing images need no look.
pub fn needs_labels(plan: &Plan, storage: &ImageIndex) -> Vec<(String, String)> {
    plan.images
        .iter()
        .filter(|image| state(image, storage) == State::Stale)
        .map(|image| (image.name.clone(), latest(image)))
        .collect()
}

/// The status of every image of `plan`, in its order. `labels`: the labels of the `latest` of the
/// images [`needs_labels`] named, by image name.
pub fn statuses(
    plan: &Plan,
    storage: &ImageIndex,
    labels: &BTreeMap<String, BTreeMap<String, String>>,
) -> Vec<ImageStatus> {
    plan.images
        .iter()
        .map(|image| {
            let status = state(image, storage);
            let reasons = match status {
                State::Stale => {
                    explain(image, labels.get(&image.name).and_then(|labels| labels.get(INPUT_PARTS_LABEL)))
                }
                _ => Vec::new(),
            };
            ImageStatus {
                image: image.name.clone(),
                status,
                id: storage.id(&latest(image)).map(str::to_owned),
                input_hash: image.input_hash.clone(),
                reasons,
            }
        })
        .collect()
}

fn latest(image: &ImagePlan) -> String {
    format!("{}:latest", image.repository)
}

fn state(image: &ImagePlan, storage: &ImageIndex) -> State {
    let Some(latest) = storage.id(&latest(image)) else { return State::Missing };
    match &image.input_hash {
        Some(hash) if storage.id(&inputs_tag(&image.repository, hash)) == Some(latest) => State::UpToDate,
        _ => State::Stale,
    }
}

/// Why a stale image is stale, from its recorded label (`None`: built before labels recorded parts).
fn explain(image: &ImagePlan, recorded: Option<&String>) -> Vec<Reason> {
    let Some(recorded) = recorded.and_then(|label| parse_label(label)) else {
        let mut reasons =
            vec![Reason { input: Input::NoManifest, part: String::new(), path: None, was: None, now: None }];
        // What the plan builds first is a reason without any record.
        reasons.extend(id_reasons(image, None, None).into_iter().filter(|reason| reason.now.is_none()));
        return reasons;
    };
    let mut reasons = diff_parts(&recorded.parts, &image.input_parts.short());
    reasons.extend(id_reasons(image, recorded.parent.as_deref(), recorded.builder.as_deref()));
    if reasons.is_empty() {
        reasons.push(Reason { input: Input::Unexplained, part: String::new(), path: None, was: None, now: None });
    }
    reasons
}

/// The parts that differ between a recorded label and the plan (short values both), sorted by part.
pub fn diff_parts(recorded: &BTreeMap<String, String>, current: &BTreeMap<String, String>) -> Vec<Reason> {
    let mut keys: Vec<&String> = recorded.keys().chain(current.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|key| recorded.get(*key) != current.get(*key))
        .map(|key| reason_for(key, recorded.get(key).cloned(), current.get(key).cloned()))
        .collect()
}

/// The parent and builder: rebuilt since (another id), or built first by the plan (no id yet).
fn id_reasons(image: &ImagePlan, parent: Option<&str>, builder: Option<&str>) -> Vec<Reason> {
    let bare = |id: &str| id.trim_start_matches("sha256:").to_owned();
    image
        .starts_from
        .iter()
        .filter_map(|from| {
            let (input, was) = match from.role {
                Role::Parent => (Input::Parent, parent),
                Role::Builder => (Input::Builder, builder),
            };
            let was = was.map(bare);
            let now = from.id.as_deref().map(bare);
            (now.is_none() || was != now).then(|| Reason {
                input,
                part: from.image.clone().unwrap_or_else(|| from.reference.clone()),
                path: None,
                was,
                now,
            })
        })
        .collect()
}

/// A changed part as a reason: what kind of input its key names.
fn reason_for(key: &str, was: Option<String>, now: Option<String>) -> Reason {
    let reason = |input, part: &str, path: Option<&str>| Reason {
        input,
        part: part.to_owned(),
        path: path.map(str::to_owned),
        was: was.clone(),
        now: now.clone(),
    };
    if key == input_parts::TOOL {
        reason(Input::Tool, "version", None)
    } else if key == input_parts::SETTINGS {
        reason(Input::Settings, "settings", None)
    } else if key == input_parts::REPOSITORY {
        reason(Input::Repository, "main", None)
    } else if let Some(name) = key.strip_prefix(input_parts::REPOSITORY_PREFIX) {
        reason(Input::Repository, name, None)
    } else if let Some(path) = key.strip_prefix(input_parts::FILE_PREFIX) {
        reason(Input::File, "files", Some(path))
    } else if let Some(path) = key.strip_prefix(input_parts::PORTAGE_PREFIX) {
        reason(Input::Definition, portage_field(path), Some(path))
    } else {
        reason(Input::Definition, key, None)
    }
}

/// The definition's field a generated portage file comes from.
fn portage_field(path: &str) -> &'static str {
    let fields = [
        ("/package.use/", "use"),
        ("/package.accept_keywords/", "keywords"),
        ("/package.mask/", "masks"),
        ("/package.unmask/", "unmasks"),
        ("/make.conf/", "make_conf"),
        ("/repos.conf/", "repositories"),
        ("/package.provided", "provided"),
    ];
    fields.iter().find(|(folder, _)| path.contains(folder)).map_or("portage", |(_, field)| field)
}

impl ImageStatus {
    /// One line: `rig/hello: stale: definition env changed; parent rig/base rebuilt (… → …)`.
    pub fn line(&self) -> String {
        let state = match self.status {
            State::UpToDate => "up to date",
            State::Missing => "missing",
            State::Stale => "stale",
        };
        let mut line = format!("{}: {state}", self.image);
        let reasons: Vec<String> = self.reasons.iter().map(Reason::describe).collect();
        if !reasons.is_empty() {
            write!(line, ": {}", reasons.join("; ")).unwrap();
        }
        line
    }
}

impl Reason {
    /// The reason in words.
    pub fn describe(&self) -> String {
        let value =
            |value: &Option<String>| value.as_deref().map_or("none".to_owned(), |value| short(value).to_owned());
        let change = format!("{} → {}", value(&self.was), value(&self.now));
        let part = &self.part;
        match self.input {
            Input::Definition => match &self.path {
                Some(path) => format!("definition changed: {part} ({path})"),
                None if part == group::STEPS => "definition changed: steps (actions, cleanups, copies)".to_owned(),
                None => format!("definition changed: {part}"),
            },
            Input::File => format!("copied file changed: {} ({change})", self.path.as_deref().unwrap_or_default()),
            Input::Parent | Input::Builder => {
                let role = if self.input == Input::Parent { "parent" } else { "builder" };
                match (&self.was, &self.now) {
                    (_, None) => format!("{role} {part} is built first (or not in storage)"),
                    (None, Some(_)) => format!("{role} {part} not recorded (now {})", value(&self.now)),
                    (Some(_), Some(_)) => format!("{role} {part} rebuilt ({change})"),
                }
            }
            Input::Repository => format!("repository {part} changed ({change})"),
            Input::Tool => format!("tool version changed ({change})"),
            Input::Settings => "settings changed (isolation, namespace, omit-history, source or date)".to_owned(),
            Input::NoManifest => "no manifest recorded".to_owned(),
            Input::Unexplained => "input hash changed, but no recorded part did".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::StartsFrom;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(key, value)| (key.to_string(), value.to_string())).collect()
    }

    #[test]
    fn each_changed_part_is_one_reason_of_its_kind() {
        let recorded = map(&[
            ("tool", "0.1.0"),
            ("repository", "aaaaaaaaaaaa"),
            ("repository:overlay", "bbbbbbbbbbbb"),
            ("env", "cccccccccccc"),
            ("file:image-defs/x.conf", "dddddddddddd"),
            ("portage:etc/portage/package.use/rig+hello", "eeeeeeeeeeee"),
            ("packages", "ffffffffffff"),
            ("settings", "111111111111"),
        ]);
        assert!(diff_parts(&recorded, &recorded).is_empty());
        let mut current = recorded.clone();
        current.insert("tool".into(), "0.2.0".into());
        current.insert("repository:overlay".into(), "999999999999".into());
        current.insert("env".into(), "888888888888".into());
        current.insert("file:image-defs/x.conf".into(), "777777777777".into());
        current.insert("portage:etc/portage/package.use/rig+hello".into(), "666666666666".into());
        current.remove("packages");
        current.insert("portage:etc/portage/package.accept_keywords/rig+hello".into(), "555555555555".into());
        let reasons = diff_parts(&recorded, &current);
        let kinds: Vec<(Input, &str, Option<&str>)> =
            reasons.iter().map(|reason| (reason.input, reason.part.as_str(), reason.path.as_deref())).collect();
        assert_eq!(
            kinds,
            [
                (Input::Definition, "env", None),
                (Input::File, "files", Some("image-defs/x.conf")),
                (Input::Definition, "packages", None),
                (Input::Definition, "keywords", Some("etc/portage/package.accept_keywords/rig+hello")),
                (Input::Definition, "use", Some("etc/portage/package.use/rig+hello")),
                (Input::Repository, "overlay", None),
                (Input::Tool, "version", None),
            ]
        );
        let overlay = &reasons[5];
        assert_eq!((overlay.was.as_deref(), overlay.now.as_deref()), (Some("bbbbbbbbbbbb"), Some("999999999999")));
        assert_eq!((reasons[2].was.as_deref(), reasons[2].now.as_deref()), (Some("ffffffffffff"), None));
        assert_eq!((reasons[3].was.as_deref(), reasons[3].now.as_deref()), (None, Some("555555555555")));
    }

    fn stale_image(starts_from: Vec<StartsFrom>) -> ImagePlan {
        let registry = image_defs::Registry::global().unwrap();
        let settings = crate::settings::Settings::defaults(camino::Utf8Path::new("/cache"));
        let inputs = crate::plan::PlanInputs {
            registry,
            settings: &settings,
            date_tag: "20260101".into(),
            rig_root: "localhost/rig-root:x".into(),
            tarballs: BTreeMap::new(),
            source_dates: crate::plan::SourceDates { rig: 1, repository: 1 },
            storage: Default::default(),
            repositories: Default::default(),
            copied_files: Default::default(),
            binhost_tls: Default::default(),
            force: false,
        };
        let mut plan = crate::plan::plan_image(registry.get("rig/hello").unwrap(), &inputs).unwrap();
        plan.starts_from = starts_from;
        plan
    }

    #[test]
    fn a_rebuilt_parent_a_parent_built_first_and_a_missing_record_are_reasons() {
        let parent = |id: Option<&str>| StartsFrom {
            role: Role::Parent,
            image: Some("rig/base".into()),
            reference: "localhost/gentoo/rig/base:latest".into(),
            id: id.map(str::to_owned),
        };
        let image = stale_image(vec![parent(Some("2222"))]);
        // The label as the build records it: the plan's parts, built on parent 1111.
        let label = image.input_parts.label(input_parts::IdWord::Value("sha256:1111"), None);
        let label = label.resolve(&Default::default()).unwrap();
        let reasons = explain(&image, Some(&label));
        assert_eq!(
            reasons,
            [Reason {
                input: Input::Parent,
                part: "rig/base".into(),
                path: None,
                was: Some("1111".into()),
                now: Some("2222".into())
            }]
        );
        assert_eq!(reasons[0].describe(), "parent rig/base rebuilt (1111 → 2222)");
        // The same parent: nothing differs, which the hash says otherwise.
        let same = stale_image(vec![parent(Some("1111"))]);
        assert_eq!(explain(&same, Some(&label))[0].input, Input::Unexplained);
        // The parent is built first: its new id is not known yet.
        let first = stale_image(vec![parent(None)]);
        let reasons = explain(&first, Some(&label));
        assert_eq!((reasons[0].input, reasons[0].now.as_deref()), (Input::Parent, None));
        // Built before labels recorded parts.
        let reasons = explain(&first, None);
        assert_eq!(reasons.iter().map(|reason| reason.input).collect::<Vec<_>>(), [Input::NoManifest, Input::Parent]);
        assert_eq!(explain(&same, None).iter().map(|reason| reason.input).collect::<Vec<_>>(), [Input::NoManifest]);
        // A minimal image's builder, rebuilt since.
        let builder = StartsFrom {
            role: Role::Builder,
            image: Some("rig/base".into()),
            reference: "localhost/gentoo/rig/base:latest".into(),
            id: Some("4444".into()),
        };
        let minimal = stale_image(vec![parent(Some("1111")), builder]);
        let label =
            minimal.input_parts.label(input_parts::IdWord::Value("1111"), Some(input_parts::IdWord::Value("3333")));
        let reasons = explain(&minimal, Some(&label.resolve(&Default::default()).unwrap()));
        assert_eq!(
            reasons
                .iter()
                .map(|reason| (reason.input, reason.was.as_deref(), reason.now.as_deref()))
                .collect::<Vec<_>>(),
            [(Input::Builder, Some("3333"), Some("4444"))]
        );
        let status = ImageStatus {
            image: "rig/hello".into(),
            status: State::Stale,
            id: None,
            input_hash: None,
            reasons: explain(&same, None),
        };
        assert_eq!(status.line(), "rig/hello: stale: no manifest recorded");
    }
}
