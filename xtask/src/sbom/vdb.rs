//! Reading portage's package database (`/var/db/pkg/<category>/<PF>/`) of a root filesystem.

use anyhow::{bail, Context, Result};
use camino::Utf8Path;

/// One installed package, as its package database entry describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstalledPackage {
    pub category: String,
    /// Package name (`PN`).
    pub name: String,
    /// Version with revision (`PVR`), e.g. `1.2-r1`.
    pub version: String,
    pub slot: String,
    /// The `LICENSE` expression, as portage recorded it.
    pub license: String,
    /// Every flag of `IUSE`, enabled or not (`extra`, `-doc`), sorted by name.
    pub use_flags: Vec<String>,
    /// The ebuild repository it came from (`repository`).
    pub repository: String,
    /// `SRC_URI`, as portage recorded it (empty for packages without sources).
    pub src_uri: String,
    pub homepage: String,
    pub description: String,
    /// Regular files it installed: path and MD5, from `CONTENTS`.
    pub files: Vec<(String, String)>,
}

impl InstalledPackage {
    /// `category/PF`, as `portageq match` lists it.
    pub fn cpv(&self) -> String {
        format!("{}/{}-{}", self.category, self.name, self.version)
    }
}

/// The installed packages of the root filesystem at `root`, sorted by category and `PF`. A root
/// without a package database holds no packages.
pub fn read(root: &Utf8Path) -> Result<Vec<InstalledPackage>> {
    let vdb = root.join("var/db/pkg");
    let mut packages = Vec::new();
    if !vdb.is_dir() {
        return Ok(packages);
    }
    for category in sorted_dirs(&vdb)? {
        for entry in sorted_dirs(&vdb.join(&category))? {
            let dir = vdb.join(&category).join(&entry);
            // Portage's merge-in-progress entries (`-MERGING-foo-1`) are not installed packages.
            if entry.starts_with('-') {
                continue;
            }
            packages.push(read_entry(&dir, &category, &entry).with_context(|| format!("reading {dir}"))?);
        }
    }
    Ok(packages)
}

fn sorted_dirs(dir: &Utf8Path) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in dir.read_dir_utf8().with_context(|| format!("reading {dir}"))? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            names.push(entry.file_name().to_owned());
        }
    }
    names.sort();
    Ok(names)
}

fn read_entry(dir: &Utf8Path, category: &str, pf: &str) -> Result<InstalledPackage> {
    let field = |name: &str| -> Result<String> {
        match std::fs::read_to_string(dir.join(name)) {
            Ok(text) => Ok(text.split_whitespace().collect::<Vec<_>>().join(" ")),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
            Err(error) => Err(error).with_context(|| format!("reading {name}")),
        }
    };
    let (name, version) = split_pf(pf)?;
    let enabled: Vec<String> = field("USE")?.split_whitespace().map(str::to_owned).collect();
    let mut use_flags: Vec<String> = field("IUSE")?
        .split_whitespace()
        .map(|flag| flag.trim_start_matches(['+', '-']))
        .map(|flag| if enabled.iter().any(|on| on == flag) { flag.to_owned() } else { format!("-{flag}") })
        .collect();
    use_flags.sort_by(|a, b| a.trim_start_matches('-').cmp(b.trim_start_matches('-')));
    use_flags.dedup();
    let contents = match std::fs::read_to_string(dir.join("CONTENTS")) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(error) => return Err(error).context("reading CONTENTS"),
    };
    Ok(InstalledPackage {
        category: category.to_owned(),
        name,
        version,
        slot: field("SLOT")?,
        license: field("LICENSE")?,
        use_flags,
        repository: field("repository")?,
        src_uri: field("SRC_URI")?,
        homepage: field("HOMEPAGE")?,
        description: field("DESCRIPTION")?,
        files: contents.lines().filter_map(content_file).collect(),
    })
}

/// `obj PATH MD5 MTIME` (the path may contain spaces) → `(PATH, MD5)`; other entries (`dir`, `sym`) → none.
fn content_file(line: &str) -> Option<(String, String)> {
    let rest = line.strip_prefix("obj ")?;
    let (rest, _mtime) = rest.rsplit_once(' ')?;
    let (path, md5) = rest.rsplit_once(' ')?;
    Some((path.to_owned(), md5.to_owned()))
}

/// `PF` → (`PN`, `PVR`): the version starts after the last `-` followed by a digit, a `-rN`
/// revision belongs to it.
pub fn split_pf(pf: &str) -> Result<(String, String)> {
    let (base, revision) = match pf.rsplit_once("-r") {
        Some((base, number)) if !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()) => {
            (base, Some(number))
        }
        _ => (pf, None),
    };
    let Some(split) = base
        .match_indices('-')
        .map(|(i, _)| i)
        .rev()
        .find(|&i| base[i + 1..].starts_with(|c: char| c.is_ascii_digit()))
    else {
        bail!("`{pf}` is not a package name followed by a version (expected e.g. `hello-1.2-r1`)");
    };
    let version = match revision {
        Some(number) => format!("{}-r{number}", &base[split + 1..]),
        None => base[split + 1..].to_owned(),
    };
    Ok((base[..split].to_owned(), version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pf_splits_into_name_and_version() {
        let split = |pf| split_pf(pf).unwrap();
        assert_eq!(split("hello-1"), ("hello".into(), "1".into()));
        assert_eq!(split("gtk+-3.24.38-r1"), ("gtk+".into(), "3.24.38-r1".into()));
        assert_eq!(split("font-adobe-100dpi-1.0.4"), ("font-adobe-100dpi".into(), "1.0.4".into()));
        assert_eq!(split("openssl-3.0.13_p1"), ("openssl".into(), "3.0.13_p1".into()));
        assert_eq!(split("zlib-1.3.1a"), ("zlib".into(), "1.3.1a".into()));
        let error = split_pf("noversion").unwrap_err().to_string();
        assert!(error.contains("`noversion`") && error.contains("expected"), "{error}");
    }

    #[test]
    fn contents_lists_regular_files_with_their_md5() {
        assert_eq!(
            content_file("obj /usr/share/a b.txt 0123abcd 1700000000"),
            Some(("/usr/share/a b.txt".into(), "0123abcd".into()))
        );
        assert_eq!(content_file("dir /usr/bin"), None);
        assert_eq!(content_file("sym /usr/lib -> lib64 1700000000"), None);
    }
}
