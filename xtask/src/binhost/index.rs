//! portage's binary package index, the `Packages` file: a header block, then one block per package,
//! blocks separated by one blank line, each line `KEY: value`. Read and written the way
//! `portage.getbinpkg.PackageIndex` does it, so that what portage reads from our file is what it
//! would read from its own:
//!
//! - a line without `:` is ignored; the value is what follows `:` minus one character (the space);
//! - the body ends at the first empty block (two blank lines in a row), blocks without `CPV` are
//!   skipped, and a key given twice keeps its last value;
//! - keys are written sorted by portage's internal name (`DESC` is `DESCRIPTION`, `MTIME` is
//!   `_mtime_`, `REPO` is `repository`), empty values are not written;
//! - `CHOST` and `REPO` are *inherited*: an entry without them takes the header's value. Entries from
//!   two indexes with different headers are therefore [`PackageIndex::materialized`] before they are
//!   mixed, and [`PackageIndex::render`] drops them again where they equal the new header's.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Keys an entry takes from the header when it has none of its own (`_pkgindex_inherited_keys`).
pub const INHERITED_KEYS: [&str; 2] = ["CHOST", "REPO"];

/// Header keys whose values portage unions when it merges headers (`iter_iuse_vars` in
/// `_merge_pkgindex_header`), besides every `USE_EXPAND_VALUES_*`.
const UNION_HEADER_KEYS: [&str; 4] = ["IUSE_IMPLICIT", "USE_EXPAND_IMPLICIT", "USE_EXPAND_UNPREFIXED", "USE_EXPAND"];

/// One block: keys as written in the file (`MTIME`, `REPO`, not portage's internal names).
pub type Block = BTreeMap<String, String>;

/// A parsed `Packages` file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PackageIndex {
    pub header: Block,
    pub packages: Vec<Block>,
}

impl PackageIndex {
    /// Parses the text of a `Packages` file (never fails: portage does not either).
    pub fn parse(text: &str) -> PackageIndex {
        let mut lines = text.lines();
        let header = read_block(&mut lines);
        let mut packages = Vec::new();
        loop {
            let block = read_block(&mut lines);
            if block.is_empty() {
                break;
            }
            if block.get("CPV").is_some_and(|cpv| !cpv.is_empty()) {
                packages.push(block);
            }
        }
        PackageIndex { header, packages }
    }

    /// The file's text: the header, then the entries sorted by CPV (then build id), inherited keys
    /// that equal the header's left out.
    pub fn render(&self) -> String {
        let mut out = String::new();
        write_block(&mut out, &self.header);
        let mut packages: Vec<&Block> = self.packages.iter().collect();
        packages.sort_by(|a, b| {
            (a.get("CPV"), build_id(a).unwrap_or(0), a.get("PATH")).cmp(&(
                b.get("CPV"),
                build_id(b).unwrap_or(0),
                b.get("PATH"),
            ))
        });
        for package in packages {
            let mut package = package.clone();
            for key in INHERITED_KEYS {
                if let (Some(own), Some(header)) = (package.get(key), self.header.get(key)) {
                    if own == header {
                        package.remove(key);
                    }
                }
            }
            write_block(&mut out, &package);
        }
        out
    }

    /// The entries with every inherited key spelt out, so they keep their meaning under another header.
    pub fn materialized(&self) -> Vec<Block> {
        self.packages
            .iter()
            .map(|package| {
                let mut package = package.clone();
                for key in INHERITED_KEYS {
                    if let Some(value) = self.header.get(key).filter(|value| !value.is_empty()) {
                        package.entry(key.to_owned()).or_insert_with(|| value.clone());
                    }
                }
                package
            })
            .collect()
    }

    /// The header's `TIMESTAMP`, when it is a number.
    pub fn timestamp(&self) -> Option<u64> {
        self.header.get("TIMESTAMP")?.trim().parse().ok()
    }
}

/// An entry's `BUILD_ID`, when it has a numeric one.
pub fn build_id(entry: &Block) -> Option<u64> {
    entry.get("BUILD_ID")?.trim().parse().ok()
}

/// Where an entry's file is, relative to the binhost root: `PATH`, or portage's fallback for entries
/// without one (`CPV.tbz2`, the pre-multi-instance layout).
pub fn entry_path(entry: &Block) -> Option<String> {
    match entry.get("PATH").filter(|path| !path.is_empty()) {
        Some(path) => Some(path.clone()),
        None => entry.get("CPV").map(|cpv| format!("{cpv}.tbz2")),
    }
}

/// The header of an index that merges `base` (the binhost's) with `ours` (the publishing builder's,
/// just written by its portage): our values win, as portage's `_update_pkgindex_header` would write
/// them, except that the implicit-IUSE variables are unioned as `_merge_pkgindex_header` does, so
/// packages from either side keep their flags valid. `PACKAGES` and `TIMESTAMP` are the caller's.
pub fn merge_headers(base: Option<&Block>, ours: &Block) -> Block {
    let mut header = base.cloned().unwrap_or_default();
    for (key, value) in ours {
        let unioned = UNION_HEADER_KEYS.contains(&key.as_str()) || key.starts_with("USE_EXPAND_VALUES_");
        match header.get(key) {
            Some(before) if unioned => {
                let mut values: Vec<&str> = before.split_whitespace().chain(value.split_whitespace()).collect();
                values.sort_unstable();
                values.dedup();
                let joined = values.join(" ");
                header.insert(key.clone(), joined);
            }
            _ => {
                header.insert(key.clone(), value.clone());
            }
        }
    }
    header
}

fn read_block<'a>(lines: &mut impl Iterator<Item = &'a str>) -> Block {
    let mut block = Block::new();
    for line in lines {
        if line.is_empty() {
            break;
        }
        let Some((key, value)) = line.split_once(':') else { continue };
        // portage drops the first character after the colon, whatever it is.
        let value = value.char_indices().nth(1).map_or("", |(at, _)| &value[at..]);
        block.insert(key.to_owned(), value.to_owned());
    }
    block
}

/// portage's internal name of a key, which is what it sorts by.
fn sort_name(key: &str) -> &str {
    match key {
        "DESC" => "DESCRIPTION",
        "MTIME" => "_mtime_",
        "REPO" => "repository",
        other => other,
    }
}

fn write_block(out: &mut String, block: &Block) {
    let mut keys: Vec<&String> = block.keys().filter(|key| !block[*key].is_empty()).collect();
    keys.sort_by_key(|key| sort_name(key));
    for key in keys {
        let _ = writeln!(out, "{key}: {}", block[key]);
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The header and two entries of an index the rig's portage wrote (trimmed).
    const RIG: &str = "\
ACCEPT_KEYWORDS: amd64
ARCH: amd64
CHOST: x86_64-pc-linux-gnu
IUSE_IMPLICIT: prefix prefix-guest prefix-stack
PACKAGES: 2
TIMESTAMP: 1795470251
USE_EXPAND: ELIBC KERNEL USERLAND
USE_EXPAND_VALUES_KERNEL: linux
VERSION: 0

BUILD_ID: 1
BUILD_TIME: 1795470245
CPV: app-misc/hello-1
DEFINED_PHASES: compile install
EAPI: 8
IUSE: extra
MD5: e7bff35adce2c2463731abbbf635e47b
PATH: app-misc/hello/hello-1-1.gpkg.tar
SHA1: dea6643898fccc6b3b275e49bc0072aab877ee08
SIZE: 10240
USE: elibc_glibc extra kernel_linux userland_GNU
MTIME: 1795470246
REPO: gentoo

BUILD_ID: 1
CPV: dev-libs/libgreet-1
DESC: a library
PATH: dev-libs/libgreet/libgreet-1-1.gpkg.tar
SIZE: 10240
MTIME: 1795470235
REPO: gentoo

";

    #[test]
    fn portage_output_round_trips_byte_for_byte() {
        let index = PackageIndex::parse(RIG);
        assert_eq!(index.packages.len(), 2);
        assert_eq!(index.header["CHOST"], "x86_64-pc-linux-gnu");
        assert_eq!(index.packages[0]["USE"], "elibc_glibc extra kernel_linux userland_GNU");
        assert_eq!(index.timestamp(), Some(1795470251));
        assert_eq!(index.render(), RIG);
    }

    #[test]
    fn reads_like_portage() {
        // No space after the colon loses a character; a line without a colon is ignored; a block
        // without CPV is skipped; the body stops at an empty block.
        let text = "A:xyz\nnonsense\nB: \n\nSIZE: 1\n\nCPV: a/b-1\nSIZE: 1\nSIZE: 2\n\n\nCPV: c/d-1\n";
        let index = PackageIndex::parse(text);
        assert_eq!(index.header["A"], "yz");
        assert_eq!(index.header["B"], "");
        assert_eq!(index.packages.len(), 1);
        assert_eq!(index.packages[0]["SIZE"], "2");
        assert_eq!(PackageIndex::parse("").packages.len(), 0);
    }

    #[test]
    fn inherited_keys_are_spelt_out_and_dropped_again() {
        let mut index = PackageIndex::parse(RIG);
        let entries = index.materialized();
        assert_eq!(entries[0]["CHOST"], "x86_64-pc-linux-gnu");
        // Under a header with another CHOST the entry keeps its own.
        index.header.insert("CHOST".into(), "aarch64-unknown-linux-gnu".into());
        index.packages = entries;
        let text = index.render();
        assert!(text.contains("CPV: app-misc/hello-1\n"), "{text}");
        assert_eq!(text.matches("CHOST: x86_64-pc-linux-gnu\n").count(), 2, "{text}");
    }

    #[test]
    fn entries_sort_by_cpv_then_build_id() {
        let text = "VERSION: 0\n\nCPV: b/b-1\nBUILD_ID: 10\n\nCPV: b/b-1\nBUILD_ID: 9\n\nCPV: a/a-1\n\n";
        let rendered = PackageIndex::parse(text).render();
        assert_eq!(rendered, "VERSION: 0\n\nCPV: a/a-1\n\nBUILD_ID: 9\nCPV: b/b-1\n\nBUILD_ID: 10\nCPV: b/b-1\n\n");
    }

    #[test]
    fn entry_paths() {
        let index = PackageIndex::parse(RIG);
        assert_eq!(entry_path(&index.packages[0]).unwrap(), "app-misc/hello/hello-1-1.gpkg.tar");
        let old = PackageIndex::parse("VERSION: 0\n\nCPV: app-misc/old-1\n\n");
        assert_eq!(entry_path(&old.packages[0]).unwrap(), "app-misc/old-1.tbz2");
        assert_eq!(build_id(&old.packages[0]), None);
    }

    #[test]
    fn headers_merge_ours_over_theirs_with_iuse_unions() {
        let theirs = PackageIndex::parse(
            "ARCH: amd64\nTTL: 600\nUSE: old\nIUSE_IMPLICIT: a b\nUSE_EXPAND_VALUES_KERNEL: linux\n\n",
        );
        let ours = PackageIndex::parse(
            "ARCH: amd64\nUSE: new\nIUSE_IMPLICIT: b c\nUSE_EXPAND_VALUES_KERNEL: freebsd linux\n\n",
        );
        let merged = merge_headers(Some(&theirs.header), &ours.header);
        assert_eq!(merged["TTL"], "600");
        assert_eq!(merged["USE"], "new");
        assert_eq!(merged["IUSE_IMPLICIT"], "a b c");
        assert_eq!(merged["USE_EXPAND_VALUES_KERNEL"], "freebsd linux");
        assert_eq!(merge_headers(None, &ours.header), ours.header);
    }
}
