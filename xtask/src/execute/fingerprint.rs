//! The input hash of an image: everything that determines it. An image whose stored hash matches
//! is up to date and is not built again.

use std::fmt::Write as _;

use anyhow::{Context, Result};
use camino::Utf8Path;
use sha2::{Digest, Sha256};

use crate::plan::{ImagePlan, Piece, Step};

/// What goes into an image's input hash besides its plan.
pub struct FingerprintInputs<'a> {
    /// The id of the image the working container starts from (parent, root, or `scratch`).
    pub base_id: &'a str,
    /// The id of a minimal image's builder.
    pub builder_id: Option<&'a str>,
    /// Identifies the ebuild repository's state.
    pub repository: &'a str,
}

/// The hash (hex SHA-256) of: the tool's version, the image's rendered steps (minus the tag step,
/// whose date changes daily), its generated files, the content of every file it copies, the ids of
/// its base image and builder and the repository's identity.
pub fn fingerprint(workspace: &Utf8Path, plan: &ImagePlan, inputs: &FingerprintInputs) -> Result<String> {
    let mut text = String::new();
    writeln!(text, "tool {}", env!("CARGO_PKG_VERSION")).unwrap();
    writeln!(text, "base {}", inputs.base_id).unwrap();
    if let Some(builder) = inputs.builder_id {
        writeln!(text, "builder {builder}").unwrap();
    }
    writeln!(text, "repository {}", inputs.repository).unwrap();
    for step in &plan.steps {
        if matches!(step, Step::Tag { .. }) {
            continue;
        }
        writeln!(text, "step {}", step.command().to_shell()).unwrap();
        if let Step::Copy { source, .. } = step {
            if let [Piece::Text(path)] = source.0.as_slice() {
                // The build context and the SBOM are made by the build, not inputs of it.
                if !path.starts_with(plan.context_dir.as_str())
                    && plan.sbom.as_ref().map(|sbom| sbom.as_str()) != Some(path.as_str())
                {
                    let bytes = std::fs::read(workspace.join(path))
                        .with_context(|| format!("image `{}`: reading {path}, which it copies", plan.name))?;
                    writeln!(text, "file {path} {}", hex(&Sha256::digest(&bytes))).unwrap();
                }
            }
        }
    }
    for file in &plan.context_files {
        writeln!(text, "generated {} {}", file.path, hex(&Sha256::digest(file.contents.as_bytes()))).unwrap();
    }
    Ok(hex(&Sha256::digest(text.as_bytes())))
}

/// A hash of every file under `dir` (paths and contents, in sorted order).
pub fn tree_hash(dir: &Utf8Path) -> Result<String> {
    let mut files = Vec::new();
    collect(dir, dir, &mut files)?;
    files.sort();
    let mut hasher = Sha256::new();
    for relative in files {
        let path = dir.join(&relative);
        hasher.update(relative.as_bytes());
        hasher.update([0]);
        if path.is_symlink() {
            hasher.update(std::fs::read_link(&path)?.to_string_lossy().as_bytes());
        } else {
            hasher.update(Sha256::digest(std::fs::read(&path).with_context(|| format!("reading {path}"))?));
        }
    }
    Ok(hex(&hasher.finalize()))
}

fn collect(base: &Utf8Path, dir: &Utf8Path, files: &mut Vec<String>) -> Result<()> {
    for entry in dir.read_dir_utf8().with_context(|| format!("reading {dir}"))? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            collect(base, path, files)?;
        } else {
            files.push(path.strip_prefix(base).expect("under base").to_string());
        }
    }
    Ok(())
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
