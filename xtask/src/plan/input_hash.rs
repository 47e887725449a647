//! The input hash of an image: everything that determines it. An image whose stored hash matches
//! is up to date and is not built again. Pure: the contents of copied files come hashed with the
//! planner's inputs.

use std::fmt::Write as _;

use anyhow::{bail, Result};
use image_defs::Image;

use super::{ImagePlan, Piece, PlanInputs, Step};
use crate::hash::sha256;

/// How many hex digits of the SHA-256 an input hash keeps (128 bits): the label, the OCI version and
/// the `inputs-` tag carry the same value.
pub const LENGTH: usize = 32;

/// The input hash of `image` built on the image with id `base_id` (`scratch` for an empty root) and,
/// for a minimal image, by the builder with id `builder_id`.
pub fn input_hash(image: &dyn Image, inputs: &PlanInputs, base_id: &str, builder_id: Option<&str>) -> Result<String> {
    let plan = super::image::plan_steps(image, inputs)?;
    Ok(combine(&partial(&plan, inputs, inputs.repository_of(image))?, base_id, builder_id))
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
/// tool's version, the repository's identity, the image's rendered steps (minus those that settle the
/// hash or move tags), its generated files and the content of every file it copies.
pub(super) fn partial(plan: &ImagePlan, inputs: &PlanInputs, repository: &str) -> Result<String> {
    let mut text = String::new();
    writeln!(text, "tool {}", env!("CARGO_PKG_VERSION")).unwrap();
    writeln!(text, "repository {repository}").unwrap();
    for step in &plan.steps {
        if matches!(step, Step::Tag { .. } | Step::UntagStale { .. }) {
            continue;
        }
        writeln!(text, "step {}", step.command().to_shell()).unwrap();
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
    for file in &plan.context_files {
        writeln!(text, "generated {} {}", file.path, sha256(file.contents.as_bytes())).unwrap();
    }
    Ok(sha256(text.as_bytes()))
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
