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
/// for a minimal image, by the builder with id `builder_id`: what `cargo xtask inputs` prints and the
/// executor computes in-process for a step [`Step::InputHash`].
pub fn input_hash(image: &dyn Image, inputs: &PlanInputs, base_id: &str, builder_id: Option<&str>) -> Result<String> {
    let plan = super::image::plan_steps(image, inputs)?;
    fingerprint(&plan, inputs, inputs.repository_of(image), base_id, builder_id)
}

/// The hash (hex SHA-256, [`LENGTH`] digits) of: the tool's version, the image's rendered steps
/// (minus those that settle the hash or move tags), its generated files, the content of every file
/// it copies, the ids of its base image and builder and the repository's identity.
pub(super) fn fingerprint(
    plan: &ImagePlan,
    inputs: &PlanInputs,
    repository: &str,
    base_id: &str,
    builder_id: Option<&str>,
) -> Result<String> {
    let mut text = String::new();
    writeln!(text, "tool {}", env!("CARGO_PKG_VERSION")).unwrap();
    writeln!(text, "base {}", base_id.trim_start_matches("sha256:")).unwrap();
    if let Some(builder) = builder_id {
        writeln!(text, "builder {}", builder.trim_start_matches("sha256:")).unwrap();
    }
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
    Ok(sha256(text.as_bytes())[..LENGTH].to_owned())
}
