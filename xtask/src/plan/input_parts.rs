//! The parts of an image's input hash, each with its own hash, by name: the tool's version, each
//! ebuild repository's identity, each copied file, each generated portage file, the settings that
//! enter the plan, and the image's steps in groups (packages, env, config, test, commit, the rest).
//! The partial input hash is the hash of exactly these parts ([`InputParts::partial_hash`]), and the
//! image records them, shortened, in a label ([`INPUT_PARTS_LABEL`]) with the ids it was built on, so
//! `status` and `build --explain` can say which input changed: one source of truth, no guessing.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::{Piece, Var, Word};
use crate::hash::sha256;

/// The label holding the parts, as compact JSON: `{part: short hash, ..., "parent": id, "builder": id}`.
pub const INPUT_PARTS_LABEL: &str = "io.buildah-gentoo.input-parts";
/// How many hex digits of a part's hash the label keeps (48 bits: enough to tell two states apart).
pub const SHORT: usize = 12;
/// The key of the tool's version (recorded whole: it is short and says more than a hash).
pub const TOOL: &str = "tool";
/// The key of the main ebuild repository (the rig's for rig images).
pub const REPOSITORY: &str = "repository";
/// The key of the settings that enter the plan (isolation, namespace, omit-history, source, the date).
pub const SETTINGS: &str = "settings";
/// Keys of the label that are not parts: the ids the image starts from.
pub const PARENT: &str = "parent";
pub const BUILDER: &str = "builder";
/// Prefixes of per-item keys.
pub const REPOSITORY_PREFIX: &str = "repository:";
pub const FILE_PREFIX: &str = "file:";
pub const PORTAGE_PREFIX: &str = "portage:";

/// The groups an image's steps are hashed in, by what in the definition they come from.
pub mod group {
    /// The emerge step (the packages, and how emerge runs).
    pub const PACKAGES: &str = "packages";
    /// The image's environment (`buildah config --env`).
    pub const ENV: &str = "env";
    /// The rest of its configuration (labels, ports, user, workdir, entrypoint, cmd, volumes, ...).
    pub const CONFIG: &str = "config";
    /// The post-build test.
    pub const TEST: &str = "test";
    /// The commit (date, format, history).
    pub const COMMIT: &str = "commit";
    /// Every other step: actions, cleanups, copies, the tool's own procedure.
    pub const STEPS: &str = "steps";
}

/// Part name → full value (a hex SHA-256, or the tool's version).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct InputParts(pub BTreeMap<String, String>);

impl InputParts {
    pub fn insert(&mut self, part: impl Into<String>, value: impl Into<String>) {
        self.0.insert(part.into(), value.into());
    }

    /// The partial input hash (hex SHA-256): the hash of every part, `name value` a line, sorted.
    pub fn partial_hash(&self) -> String {
        let mut text = String::new();
        for (part, value) in &self.0 {
            writeln!(text, "{part} {value}").unwrap();
        }
        sha256(text.as_bytes())
    }

    /// The parts as the label records them: every value cut to [`SHORT`] hex digits.
    pub fn short(&self) -> BTreeMap<String, String> {
        self.0.iter().map(|(part, value)| (part.clone(), short(value).to_owned())).collect()
    }

    /// The label's value: the short parts and the ids the image starts from (`parent`, and a minimal
    /// image's `builder`), each a value of the plan or a variable of the run. Compact JSON.
    pub fn label(&self, parent: IdWord, builder: Option<IdWord>) -> Word {
        let mut text = String::from("{");
        for (part, value) in &self.0 {
            push_json(&mut text, part);
            text.push(':');
            push_json(&mut text, short(value));
            text.push(',');
        }
        let mut pieces = Vec::new();
        let mut id = |key: &str, id: IdWord, text: &mut String, last: bool| {
            push_json(text, key);
            text.push_str(":\"");
            match id {
                IdWord::Value(value) => text.push_str(value.trim_start_matches("sha256:")),
                IdWord::Var(var) => {
                    pieces.push(Piece::Text(std::mem::take(text)));
                    pieces.push(Piece::Var(var));
                }
            }
            text.push_str(if last { "\"}" } else { "\"," });
        };
        let has_builder = builder.is_some();
        id(PARENT, parent, &mut text, !has_builder);
        if let Some(builder) = builder {
            id(BUILDER, builder, &mut text, true);
        }
        pieces.push(Piece::Text(text));
        Word(pieces)
    }
}

/// An id the label records: known to the plan, or a variable a prelude step assigns.
#[derive(Clone, Copy, Debug)]
pub enum IdWord<'a> {
    Value(&'a str),
    Var(Var),
}

/// The first [`SHORT`] characters (a version is shorter and stays whole).
pub fn short(value: &str) -> &str {
    value.get(..SHORT).unwrap_or(value)
}

/// Appends `value` as a JSON string.
fn push_json(text: &mut String, value: &str) {
    if value.chars().all(|c| c != '"' && c != '\\' && !c.is_control()) {
        text.push('"');
        text.push_str(value);
        text.push('"');
    } else {
        text.push_str(&serde_json::to_string(value).expect("strings serialize"));
    }
}

/// What a recorded label says, read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedParts {
    /// Part name → short value.
    pub parts: BTreeMap<String, String>,
    /// The id of the parent the image was built on (`scratch` for an empty root).
    pub parent: Option<String>,
    /// The id of a minimal image's builder.
    pub builder: Option<String>,
}

/// Reads a label's value; `None` when it is not a JSON object of strings.
pub fn parse_label(value: &str) -> Option<RecordedParts> {
    let mut parts: BTreeMap<String, String> = serde_json::from_str(value).ok()?;
    let parent = parts.remove(PARENT);
    let builder = parts.remove(BUILDER);
    Some(RecordedParts { parts, parent, builder })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts() -> InputParts {
        let mut parts = InputParts::default();
        parts.insert(TOOL, "0.1.0");
        parts.insert(group::ENV, "ab".repeat(32));
        parts.insert(format!("{FILE_PREFIX}a \"quoted\" path"), "cd".repeat(32));
        parts
    }

    #[test]
    fn every_part_changes_the_partial_hash() {
        let base = parts().partial_hash();
        let mut other = parts();
        other.insert(group::ENV, "ef".repeat(32));
        assert_ne!(base, other.partial_hash());
        let mut renamed = InputParts::default();
        for (part, value) in &parts().0 {
            renamed.insert(format!("{part}x"), value.clone());
        }
        assert_ne!(base, renamed.partial_hash());
        assert_eq!(base, parts().partial_hash());
    }

    #[test]
    fn the_label_reads_back_as_the_short_parts_and_the_ids() {
        let word = parts().label(IdWord::Value("sha256:1111"), Some(IdWord::Var(Var("builder_id"))));
        let vars = [(Var("builder_id"), "2222".to_owned())].into_iter().collect();
        let value = word.resolve(&vars).unwrap();
        let RecordedParts { parts: recorded, parent, builder } = parse_label(&value).expect("JSON");
        assert_eq!(recorded, parts().short());
        assert_eq!(recorded[group::ENV], "abababababab");
        assert_eq!(recorded[TOOL], "0.1.0");
        assert_eq!((parent.as_deref(), builder.as_deref()), (Some("1111"), Some("2222")));
        let full = parts().label(IdWord::Var(Var("base_id")), None);
        let vars = [(Var("base_id"), "3333".to_owned())].into_iter().collect();
        let RecordedParts { parent, builder, .. } = parse_label(&full.resolve(&vars).unwrap()).unwrap();
        assert_eq!((parent.as_deref(), builder), (Some("3333"), None));
        assert!(parse_label("not json").is_none());
    }
}
