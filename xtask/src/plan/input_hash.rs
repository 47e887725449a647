//! The input hash of an image: everything that determines it. An image whose stored hash matches
//! is up to date and is not built again. Pure: the contents of copied files come hashed with the
//! planner's inputs.

use std::fmt::Write as _;

use anyhow::{bail, Result};
use image_defs::Image;

use super::emerge::NOT_INPUTS;
use super::{ImagePlan, Piece, PlanInputs, Step, Word};
use sha2::{Digest, Sha256};

use crate::hash::sha256;

/// How many hex digits of the SHA-256 an input hash keeps (128 bits): the label, the OCI version and
/// the `inputs-` tag carry the same value.
pub const LENGTH: usize = 32;

/// The input hash of `image` built on the image with id `base_id` (`scratch` for an empty root) and,
/// for a minimal image, by the builder with id `builder_id`.
pub fn input_hash(image: &dyn Image, inputs: &PlanInputs, base_id: &str, builder_id: Option<&str>) -> Result<String> {
    let plan = super::image::plan_steps(image, inputs)?;
    Ok(combine(&partial(&plan, inputs, &inputs.repositories_of(image)?)?, base_id, builder_id))
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

/// The hash (hex SHA-256) of everything that determines the image but the ids it starts from: the
/// tool's version, the repository's identity, the image's steps (minus those that settle the hash or
/// move tags, each as [`as_input`] sees it), its generated files and the content of every file it
/// copies.
pub(super) fn partial(plan: &ImagePlan, inputs: &PlanInputs, repository: &str) -> Result<String> {
    let mut text = String::new();
    writeln!(text, "tool {}", env!("CARGO_PKG_VERSION")).unwrap();
    writeln!(text, "repository {repository}").unwrap();
    // The steps, fed field by field into the hash: the same typed data their commands are rendered
    // from, without rendering every command of every image.
    let mut steps = StableHasher(Sha256::new());
    for step in &plan.steps {
        if matches!(step, Step::Tag { .. } | Step::UntagStale { .. }) {
            continue;
        }
        std::hash::Hash::hash(&as_input(step, plan), &mut steps);
        if let Step::Copy { source, .. } = step {
            if let [Piece::Text(path)] = source.0.as_slice() {
                // The build context and the SBOM are made by the build, not inputs of it.
                let made_by_the_build = path.starts_with(plan.context_dir.as_str())
                    || plan.sbom.as_ref().is_some_and(|sbom| sbom.as_str() == path);
                if !made_by_the_build {
                    let Some(hash) = inputs.copied_files.get(path) else {
                        bail!("image `{}`: the file {path} it copies was not read before planning", plan.name);
                    };
                    writeln!(text, "file {path} {hash}").unwrap();
                }
            }
        }
    }
    writeln!(text, "steps {}", crate::hash::hex(&steps.0.finalize())).unwrap();
    for file in &plan.context_files {
        writeln!(text, "generated {} {}", file.path, sha256(file.contents.as_bytes())).unwrap();
    }
    Ok(sha256(text.as_bytes()))
}

/// A step as the input hash sees it: without what only says where things are on this machine (the
/// sources of mounts: caches, repositories, certificates, whose content is an input through the
/// repositories' identities or is none; the cache folder of the binary package step; the build
/// context and SBOM under the work folder, whose files are hashed as generated files), and without
/// the environment variables of [`NOT_INPUTS`]. Two machines with other cache or work folders plan
/// the same hashes, so a CI runner finds what another one built.
fn as_input(step: &Step, plan: &ImagePlan) -> Step {
    let mut step = step.clone();
    let here = Word::text("");
    let made_by_the_build = |word: &Word| match word.0.as_slice() {
        [Piece::Text(path)] => {
            path.starts_with(plan.context_dir.as_str()) || plan.sbom.as_ref().is_some_and(|sbom| sbom.as_str() == path)
        }
        _ => false,
    };
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
        _ => {}
    }
    step
}

/// A `Hasher` that feeds a SHA-256, every integer as 8 little-endian bytes, so that what a derived
/// `Hash` writes is the same on every machine (`finish` is not used).
struct StableHasher(Sha256);

impl std::hash::Hasher for StableHasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn write_u8(&mut self, value: u8) {
        self.0.update([value]);
    }

    fn write_u16(&mut self, value: u16) {
        self.write_u64(u64::from(value));
    }

    fn write_u128(&mut self, value: u128) {
        self.0.update(value.to_le_bytes());
    }

    fn write_u32(&mut self, value: u32) {
        self.write_u64(u64::from(value));
    }

    fn write_u64(&mut self, value: u64) {
        self.0.update(value.to_le_bytes());
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
