//! The input hash of an image: everything that determines it. An image whose stored hash matches
//! is up to date and is not built again. Pure: the contents of copied files come hashed with the
//! planner's inputs.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write as _;

use anyhow::{bail, Result};
use image_defs::Image;

use super::emerge::NOT_INPUTS;
use super::input_parts::{self, group, InputParts, INPUT_PARTS_LABEL};
use super::step::TEST_CONTAINER;
use super::{ConfigOption, ImagePlan, Piece, PlanInputs, Step, Word};

use crate::hash::sha256;

/// How many hex digits of the SHA-256 an input hash keeps (128 bits): the label, the OCI version and
/// the `inputs-` tag carry the same value.
pub const LENGTH: usize = 32;

/// The input hash of `image` built on the image with id `base_id` (`scratch` for an empty root) and,
/// for a minimal image, by the builder with id `builder_id`.
pub fn input_hash(image: &dyn Image, inputs: &PlanInputs, base_id: &str, builder_id: Option<&str>) -> Result<String> {
    let plan = super::image::plan_steps(image, inputs)?;
    let mut parts = own_parts(image, &plan, inputs)?;
    add_repository_parts(&mut parts, image, inputs)?;
    Ok(combine(&parts.partial_hash(), base_id, builder_id))
}

/// The input hash from the hash of everything but the ids and the ids of the images the image
/// starts from: what `cargo xtask inputs` prints for a plan step ([`Step::InputHash`]), which the
/// executor computes in-process with this same function.
pub fn combine(partial: &str, base_id: &str, builder_id: Option<&str>) -> String {
    let mut text = format!("partial {partial}\nbase {}\n", base_id.trim_start_matches("sha256:"));
    if let Some(builder) = builder_id {
        writeln!(text, "builder {}", builder.trim_start_matches("sha256:")).unwrap();
    }
    sha256(text.as_bytes())[..LENGTH].to_owned()
}

/// Everything that determines the image but the ids it starts from and the repositories' identities
/// ([`add_repository_parts`]), part by part (see [`InputParts`]; the partial hash is the hash of all
/// of them): the tool's version, the settings that enter the plan, the image's steps in groups (minus
/// those that settle the hash or move tags, each as [`as_input`] sees it), its generated files and
/// the content of every file it copies. Reads nothing of local storage.
pub(super) fn own_parts(image: &dyn Image, plan: &ImagePlan, inputs: &PlanInputs) -> Result<InputParts> {
    let mut parts = InputParts::default();
    parts.insert(input_parts::TOOL, env!("CARGO_PKG_VERSION"));
    parts.insert(input_parts::SETTINGS, sha256(settings_identity(image, inputs).as_bytes()));
    // The steps, fed field by field into the hash of their group: the same typed data their commands
    // are rendered from, without rendering every command of every image.
    let mut groups: BTreeMap<&'static str, StableHasher> = BTreeMap::new();
    let mut feed = |group: &'static str, value: &dyn Fn(&mut StableHasher)| {
        value(groups.entry(group).or_insert_with(|| StableHasher(Vec::with_capacity(1024))));
    };
    for step in &plan.steps {
        if matches!(step, Step::Tag { .. } | Step::UntagStale { .. }) {
            continue;
        }
        let hashed = as_input(step, plan);
        // Where each group's steps stand among the others: the order across groups is an input too.
        let position =
            if matches!(hashed.as_ref(), Step::Config { .. }) { "config step" } else { group_of(hashed.as_ref()) };
        feed(group::STEPS, &|hasher| {
            hasher.0.extend_from_slice(position.as_bytes());
            hasher.0.push(b'\n');
        });
        match hashed.as_ref() {
            Step::Config { options, .. } => {
                for option in options {
                    let group = match option {
                        ConfigOption::Env(..) => group::ENV,
                        _ => group::CONFIG,
                    };
                    feed(group, &|hasher| std::hash::Hash::hash(option, hasher));
                }
            }
            other => feed(group_of(other), &|hasher| std::hash::Hash::hash(other, hasher)),
        }
        if let Some(path) = copied_file(step, plan) {
            let Some(hash) = inputs.copied_files.get(path) else {
                bail!("image `{}`: the file {path} it copies was not read before planning", plan.name);
            };
            parts.insert(format!("{}{path}", input_parts::FILE_PREFIX), hash.clone());
        }
    }
    for (group, hasher) in groups {
        parts.insert(group, sha256(&hasher.0));
    }
    for file in &plan.context_files {
        parts.insert(format!("{}{}", input_parts::PORTAGE_PREFIX, file.path), sha256(file.contents.as_bytes()));
    }
    Ok(parts)
}

/// Adds the identities of the repositories the image is built from (one of them may be an image,
/// whose id local storage gives).
pub(super) fn add_repository_parts(parts: &mut InputParts, image: &dyn Image, inputs: &PlanInputs) -> Result<()> {
    for (part, identity) in inputs.repository_parts(image)? {
        parts.insert(part, sha256(identity.as_bytes()));
    }
    Ok(())
}

/// The path of the image's own file a step copies in (not one the build makes: the build context,
/// the SBOM).
fn copied_file<'s>(step: &'s Step, plan: &ImagePlan) -> Option<&'s str> {
    match step {
        Step::Copy { source, .. } if !made_by_the_build(source, plan) => match source.0.as_slice() {
            [Piece::Text(path)] => Some(path),
            _ => None,
        },
        _ => None,
    }
}

/// Whether `word` is a file the build makes (the build context, the SBOM): no input.
fn made_by_the_build(word: &Word, plan: &ImagePlan) -> bool {
    match word.0.as_slice() {
        [Piece::Text(path)] => {
            path.starts_with(plan.context_dir.as_str()) || plan.sbom.as_ref().is_some_and(|sbom| sbom.as_str() == path)
        }
        _ => false,
    }
}

/// The group a step is hashed in (see [`group`]).
fn group_of(step: &Step) -> &'static str {
    match step {
        Step::Run { argv, .. } if argv.first().is_some_and(|program| program == "emerge") => {
            if argv.iter().any(|arg| arg == "--depclean") {
                group::STEPS
            } else {
                group::PACKAGES
            }
        }
        Step::From { into: TEST_CONTAINER, .. }
        | Step::Run { container: TEST_CONTAINER, .. }
        | Step::Remove { container: TEST_CONTAINER } => group::TEST,
        Step::Commit { .. } => group::COMMIT,
        _ => group::STEPS,
    }
}

/// The settings that enter the plan, as text: they also show in the steps (isolation in every
/// `buildah run`, the namespace in references, omit-history and the date in the commit), so this part
/// names them when they change.
fn settings_identity(image: &dyn Image, inputs: &PlanInputs) -> String {
    let settings = inputs.settings;
    format!(
        "isolation {}\nnamespace {}\nomit-history {}\nsource {}\nsource-date-epoch {}\n",
        settings.isolation.as_str(),
        settings.namespace,
        settings.omit_history,
        settings.source.as_deref().unwrap_or(""),
        inputs.source_date(image)
    )
}

/// A step as the input hash sees it: without what only says where things are on this machine (the
/// sources of mounts: caches, repositories, certificates, whose content is an input through the
/// repositories' identities or is none; the cache folder of the binary package step; the build
/// context and SBOM under the work folder, whose files are hashed as generated files), and without
/// the environment variables of [`NOT_INPUTS`]. Two machines with other cache or work folders plan
/// the same hashes, so a CI runner finds what another one built.
fn as_input<'s>(step: &'s Step, plan: &ImagePlan) -> Cow<'s, Step> {
    let made_by_the_build = |word: &Word| made_by_the_build(word, plan);
    // Every mount's source is blanked: a step with mounts is copied.
    let placed = |mounts: &[super::Mount]| !mounts.is_empty();
    let unchanged = match step {
        Step::Run { mounts, env, .. } => {
            !placed(mounts) && !env.iter().any(|(key, _)| NOT_INPUTS.contains(&key.as_str()))
        }
        Step::Capture { mounts, .. } | Step::WriteFile { mounts, .. } => !placed(mounts),
        Step::BinpkgFolder { cache_dir, .. } => cache_dir.is_empty(),
        Step::Copy { source, .. } => !made_by_the_build(source),
        Step::Sbom { output, .. } => output.is_empty(),
        Step::Config { options, .. } => {
            !options.iter().any(|option| matches!(option, ConfigOption::LabelWord(key, _) if key == INPUT_PARTS_LABEL))
        }
        _ => true,
    };
    if unchanged {
        return Cow::Borrowed(step);
    }
    let mut step = step.clone();
    let here = Word::text("");
    match &mut step {
        Step::Run { mounts, env, .. } => {
            mounts.iter_mut().for_each(|mount| mount.source = here.clone());
            env.retain(|(key, _)| !NOT_INPUTS.contains(&key.as_str()));
        }
        Step::Capture { mounts, .. } | Step::WriteFile { mounts, .. } => {
            mounts.iter_mut().for_each(|mount| mount.source = here.clone());
        }
        Step::BinpkgFolder { cache_dir, .. } => cache_dir.clear(),
        Step::Copy { source, .. } if made_by_the_build(source) => *source = here.clone(),
        Step::Sbom { output, .. } => output.clear(),
        // The record of the parts is made from them (and from the ids, which `combine` takes).
        Step::Config { options, .. } => {
            options.retain(|option| !matches!(option, ConfigOption::LabelWord(key, _) if key == INPUT_PARTS_LABEL))
        }
        _ => {}
    }
    Cow::Owned(step)
}

/// A `Hasher` that collects the bytes a SHA-256 is then taken of, every integer as 8 little-endian
/// bytes, so that what a derived `Hash` writes is the same on every machine (`finish` is not used).
/// Collected first and hashed once: one digest of a group's bytes costs less than a digest update
/// per field.
struct StableHasher(Vec<u8>);

impl std::hash::Hasher for StableHasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
    }

    fn write_u8(&mut self, value: u8) {
        self.0.push(value);
    }

    fn write_u16(&mut self, value: u16) {
        self.write_u64(u64::from(value));
    }

    fn write_u128(&mut self, value: u128) {
        self.0.extend_from_slice(&value.to_le_bytes());
    }

    fn write_u32(&mut self, value: u32) {
        self.write_u64(u64::from(value));
    }

    fn write_u64(&mut self, value: u64) {
        self.0.extend_from_slice(&value.to_le_bytes());
    }

    fn write_usize(&mut self, value: usize) {
        self.write_u64(value as u64);
    }

    fn write_isize(&mut self, value: isize) {
        self.write_u64(value as u64);
    }

    fn write_i64(&mut self, value: i64) {
        self.write_u64(value as u64);
    }

    fn finish(&self) -> u64 {
        unreachable!("the SHA-256 is read, not this")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{input_parts::parse_label, ConfigOption, ImageIndex, SourceDates};

    /// The plan's hash, `input_hash` (what `ci job` and `--remote-check` compute) and the hash of
    /// the recorded parts agree, and the label records exactly the parts the hash was made from.
    #[test]
    fn the_hash_is_the_hash_of_the_parts_the_label_records() {
        let registry = image_defs::Registry::global().unwrap();
        let settings = crate::settings::Settings::defaults(camino::Utf8Path::new("/cache"));
        let listing = r#"[{"id":"sha256:1111","names":["localhost/gentoo/rig/base:latest"]}]"#;
        let inputs = PlanInputs {
            registry,
            settings: &settings,
            date_tag: "20260101".into(),
            rig_root: "localhost/rig-root:x".into(),
            tarballs: Default::default(),
            source_dates: SourceDates { rig: 1, repository: 1 },
            storage: ImageIndex::parse(listing).unwrap(),
            repositories: Default::default(),
            copied_files: Default::default(),
            binhost_tls: Default::default(),
            force: false,
        };
        let hello = registry.get("rig/hello").unwrap();
        let plan = crate::plan::plan_image(hello, &inputs).unwrap();
        let hash = plan.input_hash.clone().expect("the parent is in storage");
        assert_eq!(hash, input_hash(hello, &inputs, "1111", None).unwrap());
        assert_eq!(hash, combine(&plan.input_parts.partial_hash(), "1111", None));
        let label = plan
            .steps
            .iter()
            .find_map(|step| match step {
                Step::Config { options, .. } => options.iter().find_map(|option| match option {
                    ConfigOption::LabelWord(key, word) if key == INPUT_PARTS_LABEL => Some(word.clone()),
                    _ => None,
                }),
                _ => None,
            })
            .expect("the label is planned");
        let recorded = parse_label(&label.resolve(&Default::default()).unwrap()).unwrap();
        let (parent, builder, recorded) = (recorded.parent, recorded.builder, recorded.parts);
        assert_eq!(recorded, plan.input_parts.short());
        assert_eq!((parent.as_deref(), builder), (Some("1111"), None));
        for part in ["tool", "repository", "settings", "packages", "env", "config", "test", "commit", "steps"] {
            assert!(recorded.contains_key(part), "{part} in {recorded:?}");
        }
        assert!(recorded.contains_key("portage:etc/portage/package.use/rig+hello"), "{recorded:?}");
    }

    #[test]
    fn every_id_changes_the_hash_and_the_sha256_prefix_does_not() {
        let partial = "ab".repeat(32);
        let hash = combine(&partial, "1111", None);
        assert_eq!(hash.len(), LENGTH);
        assert_eq!(hash, combine(&partial, "sha256:1111", None));
        assert_ne!(hash, combine(&partial, "2222", None));
        assert_ne!(hash, combine(&partial, "1111", Some("3333")));
        assert_ne!(hash, combine(&"cd".repeat(32), "1111", None));
    }
}
