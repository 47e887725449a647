//! Makes the binary package folder for a build's flags (named by [`crate::plan::binpkg_cache`]) and
//! records in it the flags it holds packages for, so an operator can tell the folders apart.

use anyhow::{bail, Context as _, Result};
use camino::Utf8Path;

use crate::plan::binpkg_cache::{folder_name, target_of, RECORD_FILE};

/// `<cache-dir>/binpkgs/<key>` and `<cache-dir>/binhost/<key>` for `flags` on the root `root_key`,
/// made when missing, the flags recorded in the first; returns the key. With `parent` (a minimal
/// parent's reference, and its labels: its builder, then its flags), flags for another CHOST or
/// profile than the parent's are refused, naming both builders.
pub fn ensure_folder(
    cache_dir: &Utf8Path,
    root_key: &str,
    flags: &str,
    parent: Option<(&str, &str)>,
) -> Result<String> {
    if root_key.is_empty() || root_key.contains('/') || root_key.starts_with('.') {
        bail!("`{root_key}` is not a root key (a folder name, as plans print them)");
    }
    if !flags.lines().any(|line| line.starts_with("CHOST=")) {
        bail!("the flags read in the build name no CHOST: {flags:?}");
    }
    if let Some((reference, labels)) = parent {
        let (parent_builder, parent_flags) = labels.split_once('\n').unwrap_or((labels, ""));
        let (theirs, ours) = (target_of(parent_flags), target_of(flags));
        // A parent that records no flags (nothing emerged into it) constrains nothing.
        if !theirs.is_empty() && theirs != ours {
            bail!(
                "this image's builder builds for {}, but its minimal parent {reference} was built by {} for {}: \
                 a minimal chain is built for one CHOST and profile (state a builder like the parent's)",
                ours.join(", "),
                if parent_builder.is_empty() { "an unrecorded builder" } else { parent_builder },
                theirs.join(", ")
            );
        }
    }
    let key = folder_name(root_key, flags);
    let folder = cache_dir.join("binpkgs").join(&key);
    for dir in [&folder, &cache_dir.join("binhost").join(&key)] {
        std::fs::create_dir_all(dir).with_context(|| format!("creating the cache folder {dir}"))?;
    }
    let record = folder.join(RECORD_FILE);
    if !record.exists() {
        // Written whole, then renamed: a parallel build never reads half a record.
        let partial = folder.join(format!(".{RECORD_FILE}.{}", std::process::id()));
        let text = format!("# The flags the binary packages of this folder were built with.\n{}\n", flags.trim_end());
        std::fs::write(&partial, text).with_context(|| format!("writing {partial}"))?;
        std::fs::rename(&partial, &record).with_context(|| format!("writing {record}"))?;
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn makes_the_folder_once_with_its_record() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Utf8Path::from_path(dir.path()).unwrap();
        let flags = "CHOST=x86_64-pc-linux-gnu\nCFLAGS='-O2'\nprofile=/p";
        let key = ensure_folder(cache, "rig", flags, None).unwrap();
        assert_eq!(key, folder_name("rig", flags));
        let record = std::fs::read_to_string(cache.join("binpkgs").join(&key).join(RECORD_FILE)).unwrap();
        assert!(record.contains("CFLAGS='-O2'"), "{record}");
        assert!(cache.join("binhost").join(&key).is_dir());
        assert_eq!(ensure_folder(cache, "rig", flags, None).unwrap(), key);
        let other = ensure_folder(cache, "rig", "CHOST=x86_64-pc-linux-gnu\nCFLAGS='-O3'\nprofile=/p", None).unwrap();
        assert_ne!(other, key);
        assert!(ensure_folder(cache, "../x", flags, None).is_err());
        assert!(
            format!("{:#}", ensure_folder(cache, "rig", "error: no portage", None).unwrap_err()).contains("no CHOST")
        );
    }

    #[test]
    fn a_minimal_chain_keeps_its_chost_and_profile() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Utf8Path::from_path(dir.path()).unwrap();
        let glibc = "CHOST=x86_64-pc-linux-gnu\nCFLAGS='-O2'\nprofile=/repo/profiles/default/linux/amd64/23.0";
        let parent = format!("localhost/gentoo/stage3:latest\n{glibc}");
        // Other CFLAGS are fine (another folder); no label says nothing.
        let tuned = glibc.replace("-O2", "-O3");
        ensure_folder(cache, "stage3", &tuned, Some(("localhost/gentoo/glibc-base:latest", &parent))).unwrap();
        ensure_folder(cache, "stage3", glibc, Some(("localhost/gentoo/glibc-base:latest", "\n"))).unwrap();
        let musl = "CHOST=x86_64-gentoo-linux-musl\nCFLAGS='-O2'\nprofile=/repo/profiles/default/linux/amd64/23.0/musl";
        let error = ensure_folder(cache, "stage3", musl, Some(("localhost/gentoo/glibc-base:latest", &parent)))
            .unwrap_err()
            .to_string();
        for part in [
            "builds for CHOST=x86_64-gentoo-linux-musl",
            "localhost/gentoo/glibc-base:latest was built by localhost/gentoo/stage3:latest",
            "for CHOST=x86_64-pc-linux-gnu, profile=/repo/profiles/default/linux/amd64/23.0:",
        ] {
            assert!(error.contains(part), "{part:?} missing from: {error}");
        }
    }
}
