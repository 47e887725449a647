//! What publishing one package folder to a binhost does, decided without any I/O: which local
//! packages are new, which are there already, which must take another build id because the binhost
//! has a different package under their name, and the index the binhost ends up with.
//!
//! Packages are identified by content: the same `SIZE` and the same digests (`SHA1`, `MD5`, ...) in
//! the two indexes, both written by portage from the files. When an index cannot tell (a package file
//! on the binhost that no index lists, or no digest in common), the caller compares the bytes
//! ([`content_checks`]) and passes the pairs found equal.

use std::collections::{BTreeMap, BTreeSet};

use super::index::{self, Block, PackageIndex};

/// Digest keys an index entry may carry, strongest first.
const DIGEST_KEYS: [&str; 4] = ["BLAKE2B", "SHA512", "SHA1", "MD5"];

/// A package folder's state: its index and its files (path relative to the folder → size).
#[derive(Clone, Debug, Default)]
pub struct FolderState {
    pub index: Option<PackageIndex>,
    pub files: BTreeMap<String, u64>,
}

/// One file to upload: local path → path on the binhost, both relative to their package folder.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Upload {
    pub local: String,
    pub remote: String,
}

impl Upload {
    pub fn renamed(&self) -> bool {
        self.local != self.remote
    }
}

/// The outcome of [`plan`].
#[derive(Clone, Debug)]
pub struct PublishPlan {
    /// New package files, in path order; some under another build id than the local one.
    pub uploads: Vec<Upload>,
    /// Local packages the binhost already has (local path → path on the binhost).
    pub already_there: Vec<Upload>,
    /// The binhost's index after the uploads: its valid entries and ours.
    pub index: PackageIndex,
    /// Whether the binhost's `Packages`/`Packages.gz` must be replaced (false when the binhost has
    /// both and the new index would say the same, `TIMESTAMP` aside: consumers then keep their copy).
    pub index_changed: bool,
    /// Things the user should know (stale entries dropped, unindexed files, skipped packages).
    pub warnings: Vec<String>,
}

impl PublishPlan {
    /// The new index's text.
    pub fn index_text(&self) -> String {
        self.index.render()
    }
}

/// A local package that can be published: its entry (inherited keys spelt out), path and size.
struct Candidate {
    entry: Block,
    path: String,
    size: u64,
}

/// Pairs (local path, binhost path) of same-size files whose sameness no index can tell: the caller
/// compares their bytes and passes the equal ones to [`plan`].
pub fn content_checks(local: &FolderState, remote: &FolderState) -> Vec<(String, String)> {
    let (candidates, _) = candidates(local);
    let (remote_entries, _) = valid_remote_entries(remote);
    let mut checks = Vec::new();
    for candidate in &candidates {
        for (path, size) in same_pf_files(&candidate.entry, &candidate.path, &remote.files) {
            if size != candidate.size {
                continue;
            }
            let known = remote_entries.get(path).and_then(|entry| same_by_index(&candidate.entry, entry));
            if known.is_none() {
                checks.push((candidate.path.clone(), path.to_owned()));
            }
        }
    }
    checks
}

/// Decides the uploads and the new index. `equal` holds the (local, binhost) pairs found equal by
/// content; `now` is the current Unix time (the new index's `TIMESTAMP` is later than both `now` and
/// the binhost's current one, so consumers that cached the old index fetch the new one).
pub fn plan(local: &FolderState, remote: &FolderState, equal: &BTreeSet<(String, String)>, now: u64) -> PublishPlan {
    let mut warnings = Vec::new();
    let (candidates, local_warnings) = candidates(local);
    warnings.extend(local_warnings);
    let (remote_entries, remote_warnings) = valid_remote_entries(remote);
    warnings.extend(remote_warnings);

    let unindexed: Vec<&String> = remote
        .files
        .keys()
        .filter(|path| is_package_file(path) && !remote_entries.contains_key(path.as_str()))
        .collect();

    // Pass 1: what the binhost has already (by content, under any build id).
    let mut already_there = Vec::new();
    let mut adopted: Vec<Block> = Vec::new();
    let mut pending: Vec<&Candidate> = Vec::new();
    for candidate in &candidates {
        let found = same_pf_files(&candidate.entry, &candidate.path, &remote.files).into_iter().find(|(path, size)| {
            *size == candidate.size
                && match remote_entries.get(*path).and_then(|entry| same_by_index(&candidate.entry, entry)) {
                    Some(same) => same,
                    None => equal.contains(&(candidate.path.clone(), (*path).to_owned())),
                }
        });
        match found {
            Some((path, _)) => {
                already_there.push(Upload { local: candidate.path.clone(), remote: path.to_owned() });
                if !remote_entries.contains_key(path) {
                    // On the binhost but in no index: our entry describes the very same bytes.
                    adopted.push(entry_at(&candidate.entry, path));
                }
            }
            None => pending.push(candidate),
        }
    }

    // Pass 2: new packages keep their name when it is free, the others take the next free build id.
    let mut taken: BTreeSet<String> = remote.files.keys().cloned().collect();
    let mut uploads = Vec::new();
    let mut new_entries = Vec::new();
    let mut collided = Vec::new();
    for candidate in pending {
        if taken.insert(candidate.path.clone()) {
            uploads.push(Upload { local: candidate.path.clone(), remote: candidate.path.clone() });
            new_entries.push(candidate.entry.clone());
        } else {
            collided.push(candidate);
        }
    }
    for candidate in collided {
        let Some(renamed) = next_free_name(&candidate.entry, &candidate.path, &taken) else {
            warnings.push(format!(
                "{}: the binhost has a different package under this name and the name has no build id to \
                 change (enable FEATURES=binpkg-multi-instance); not published",
                candidate.path
            ));
            continue;
        };
        taken.insert(renamed.clone());
        new_entries.push(entry_at(&candidate.entry, &renamed));
        uploads.push(Upload { local: candidate.path.clone(), remote: renamed });
    }
    uploads.sort();

    if !unindexed.is_empty() {
        let adopted_paths: BTreeSet<&str> = already_there.iter().map(|u| u.remote.as_str()).collect();
        let orphans: Vec<&str> =
            unindexed.iter().map(|path| path.as_str()).filter(|path| !adopted_paths.contains(path)).collect();
        if !orphans.is_empty() {
            warnings.push(format!(
                "{} package file(s) on the binhost are in no index and stay out of it (run `emaint binhost --fix` \
                 where the binhost is to index them): {}",
                orphans.len(),
                orphans.join(", ")
            ));
        }
    }

    let base_header = remote.index.as_ref().map(|index| &index.header);
    let empty = Block::new();
    let local_header = local.index.as_ref().map_or(&empty, |index| &index.header);
    let mut header = index::merge_headers(base_header, local_header);
    let mut packages: Vec<Block> = remote_entries.into_values().collect();
    packages.extend(adopted);
    packages.extend(new_entries);
    let previous = remote.index.as_ref().and_then(PackageIndex::timestamp).unwrap_or(0);
    header.insert("TIMESTAMP".into(), now.max(previous + 1).to_string());
    header.insert("PACKAGES".into(), packages.len().to_string());
    header.entry("VERSION".into()).or_insert_with(|| "0".into());
    let mut index = PackageIndex { header, packages };

    let mut index_changed = true;
    if let Some(old) = &remote.index {
        let mut same_time = index.clone();
        if let Some(time) = old.header.get("TIMESTAMP") {
            same_time.header.insert("TIMESTAMP".into(), time.clone());
        }
        if remote.files.contains_key("Packages.gz") && same_time.render() == old.render() {
            index_changed = false;
            index = same_time;
        }
    }

    PublishPlan { uploads, already_there, index, index_changed, warnings }
}

/// Local index entries whose file is there with the size the index says.
fn candidates(local: &FolderState) -> (Vec<Candidate>, Vec<String>) {
    let mut warnings = Vec::new();
    let Some(index) = &local.index else { return (Vec::new(), warnings) };
    let mut candidates = Vec::new();
    let mut indexed = BTreeSet::new();
    for entry in index.materialized() {
        let Some(path) = index::entry_path(&entry) else { continue };
        indexed.insert(path.clone());
        let cpv = entry.get("CPV").cloned().unwrap_or_default();
        match local.files.get(&path) {
            None => warnings.push(format!("{cpv}: the local index lists {path}, which is missing; not published")),
            Some(size) if entry.get("SIZE").is_some_and(|listed| listed.trim() != size.to_string()) => {
                warnings.push(format!(
                    "{cpv}: {path} has {size} bytes, the local index says {}; not published (run `emaint binhost \
                     --fix` on the local package folder)",
                    entry["SIZE"]
                ))
            }
            Some(size) => candidates.push(Candidate { entry, path, size: *size }),
        }
    }
    let unlisted: Vec<&str> = local
        .files
        .keys()
        .filter(|path| is_package_file(path) && !indexed.contains(*path))
        .map(String::as_str)
        .collect();
    if !unlisted.is_empty() {
        warnings.push(format!(
            "{} local package file(s) are in no local index and are not published: {}",
            unlisted.len(),
            unlisted.join(", ")
        ));
    }
    (candidates, warnings)
}

/// The binhost's index entries (inherited keys spelt out) whose file is there with the listed size,
/// by path.
fn valid_remote_entries(remote: &FolderState) -> (BTreeMap<String, Block>, Vec<String>) {
    let mut entries = BTreeMap::new();
    let mut warnings = Vec::new();
    let Some(index) = &remote.index else { return (entries, warnings) };
    for entry in index.materialized() {
        let Some(path) = index::entry_path(&entry) else { continue };
        let listed = entry.get("SIZE").map(|size| size.trim().to_owned());
        match remote.files.get(&path) {
            None => warnings.push(format!("the binhost's index lists {path}, which is missing there; entry dropped")),
            Some(size) if listed.as_ref().is_some_and(|listed| *listed != size.to_string()) => warnings.push(format!(
                "the binhost's index says {path} has {} bytes, it has {size}; entry dropped",
                listed.unwrap_or_default()
            )),
            Some(_) => {
                if entries.insert(path.clone(), entry).is_some() {
                    warnings.push(format!("the binhost's index lists {path} twice; kept one entry"));
                }
            }
        }
    }
    (entries, warnings)
}

/// Whether two entries describe the same bytes, as far as their indexes tell.
fn same_by_index(ours: &Block, theirs: &Block) -> Option<bool> {
    let size = |entry: &Block| entry.get("SIZE").map(|size| size.trim().to_owned());
    if let (Some(a), Some(b)) = (size(ours), size(theirs)) {
        if a != b {
            return Some(false);
        }
    }
    let mut compared = false;
    for key in DIGEST_KEYS {
        if let (Some(a), Some(b)) = (ours.get(key), theirs.get(key)) {
            if !a.trim().eq_ignore_ascii_case(b.trim()) {
                return Some(false);
            }
            compared = true;
        }
    }
    compared.then_some(true)
}

/// `(pf, extension)` of a multi-instance package path `cat/pn/<pf>-<N>.<ext>` for an entry's CPV.
fn split_name<'a>(entry: &Block, path: &'a str) -> Option<(&'a str, String, u64, &'static str)> {
    let cpv = entry.get("CPV")?;
    let pf = cpv.rsplit_once('/')?.1;
    let (dir, file) = path.rsplit_once('/')?;
    let (rest, ext) = [".gpkg.tar", ".xpak"].iter().find_map(|ext| file.strip_suffix(ext).map(|rest| (rest, *ext)))?;
    let id = rest.strip_prefix(pf)?.strip_prefix('-')?;
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((dir, pf.to_owned(), id.parse().ok()?, ext))
}

/// Files of `files` that are instances of the same `pf` as `path` (any build id), with their sizes.
fn same_pf_files<'a>(entry: &Block, path: &str, files: &'a BTreeMap<String, u64>) -> Vec<(&'a str, u64)> {
    let Some((dir, pf, _, _)) = split_name(entry, path) else {
        return files.get_key_value(path).map(|(p, s)| vec![(p.as_str(), *s)]).unwrap_or_default();
    };
    let prefix = format!("{dir}/{pf}-");
    files
        .range(prefix.clone()..)
        .take_while(|(p, _)| p.starts_with(&prefix))
        .filter(|(p, _)| split_name(entry, p).is_some_and(|(d, _, _, _)| d == dir))
        .map(|(p, s)| (p.as_str(), *s))
        .collect()
}

/// `cat/pn/<pf>-<M>.<ext>` with M one more than the highest build id of this pf in `taken`.
fn next_free_name(entry: &Block, path: &str, taken: &BTreeSet<String>) -> Option<String> {
    let (dir, pf, _, ext) = split_name(entry, path)?;
    let prefix = format!("{dir}/{pf}-");
    let highest = taken
        .range(prefix.clone()..)
        .take_while(|p| p.starts_with(&prefix))
        .filter_map(|p| split_name(entry, p).filter(|(d, _, _, _)| *d == dir).map(|(_, _, id, _)| id))
        .max()
        .unwrap_or(0);
    Some(format!("{dir}/{pf}-{}{ext}", highest + 1))
}

/// The entry describing the same package stored at `path` (whose build id may differ).
fn entry_at(entry: &Block, path: &str) -> Block {
    let mut entry = entry.clone();
    if let Some((_, _, id, _)) = split_name(&entry, path) {
        entry.insert("BUILD_ID".into(), id.to_string());
    }
    entry.insert("PATH".into(), path.to_owned());
    entry
}

/// Whether a path is a binary package (not an index, not a temporary file).
pub fn is_package_file(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    !path.split('/').any(|part| part.starts_with('.'))
        && path.contains('/')
        && [".gpkg.tar", ".xpak", ".tbz2"].iter().any(|ext| name.ends_with(ext))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str =
        "ARCH: amd64\nCHOST: x86_64-pc-linux-gnu\nIUSE_IMPLICIT: prefix\nPACKAGES: 1\nTIMESTAMP: 100\nVERSION: 0\n\n";

    fn entry(cpv: &str, id: u64, sha1: &str) -> String {
        let (cat, pf) = cpv.split_once('/').unwrap();
        let pn = pf.rsplit_once('-').unwrap().0;
        format!(
            "BUILD_ID: {id}\nCPV: {cpv}\nMD5: md5-{sha1}\nPATH: {cat}/{pn}/{pf}-{id}.gpkg.tar\nSHA1: {sha1}\nSIZE: 10240\n\
             MTIME: 1\nREPO: gentoo\n\n"
        )
    }

    fn folder(entries: &[String], extra_files: &[(&str, u64)]) -> FolderState {
        let text: String = std::iter::once(HEADER.to_owned()).chain(entries.iter().cloned()).collect();
        let index = PackageIndex::parse(&text);
        let mut files: BTreeMap<String, u64> =
            index.packages.iter().map(|e| (index::entry_path(e).unwrap(), 10240)).collect();
        files.extend(extra_files.iter().map(|(p, s)| (p.to_string(), *s)));
        FolderState { index: Some(index), files }
    }

    fn paths(index: &PackageIndex) -> Vec<(String, String)> {
        let mut paths: Vec<(String, String)> =
            index.packages.iter().map(|e| (e["PATH"].clone(), e["BUILD_ID"].clone())).collect();
        paths.sort();
        paths
    }

    #[test]
    fn empty_binhost_gets_everything_in_order() {
        let local = folder(&[entry("app-misc/hello-1", 1, "aa"), entry("dev-libs/libgreet-1", 1, "bb")], &[]);
        let plan = plan(&local, &FolderState::default(), &BTreeSet::new(), 1000);
        assert_eq!(plan.uploads.len(), 2);
        assert!(plan.uploads.iter().all(|u| !u.renamed()));
        assert_eq!(plan.index.header["PACKAGES"], "2");
        assert_eq!(plan.index.header["TIMESTAMP"], "1000");
        assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
        let text = plan.index_text();
        assert_eq!(text.matches("CHOST: ").count(), 1, "{text}");
    }

    #[test]
    fn same_package_is_not_uploaded_again() {
        let local = folder(&[entry("app-misc/hello-1", 1, "aa")], &[]);
        let remote = folder(&[entry("app-misc/hello-1", 1, "aa")], &[]);
        let plan = plan(&local, &remote, &BTreeSet::new(), 50);
        assert!(plan.uploads.is_empty());
        assert_eq!(plan.already_there.len(), 1);
        assert_eq!(plan.index.packages.len(), 1);
        // The binhost has no Packages.gz yet: both are written, and TIMESTAMP moves forward, even
        // with a clock behind the binhost's.
        assert!(plan.index_changed);
        assert_eq!(plan.index.header["TIMESTAMP"], "101");

        // With both files there and nothing new, the index stays as it is.
        let mut remote = remote;
        remote.files.insert("Packages.gz".into(), 1);
        let again = super::plan(&local, &remote, &BTreeSet::new(), 5000);
        assert!(!again.index_changed);
        assert_eq!(again.index.header["TIMESTAMP"], "100");
        assert_eq!(again.index_text(), remote.index.unwrap().render());
    }

    #[test]
    fn build_id_collision_takes_the_next_free_id() {
        let local = folder(&[entry("app-misc/hello-1", 1, "ours"), entry("app-misc/hello-1", 2, "ours2")], &[]);
        let remote = folder(&[entry("app-misc/hello-1", 1, "theirs")], &[("app-misc/hello/hello-1-7.gpkg.tar", 5)]);
        let plan = plan(&local, &remote, &BTreeSet::new(), 1000);
        // -2 is free and keeps its name; -1 collides and becomes max(1, 2, 7) + 1.
        assert_eq!(
            plan.uploads,
            vec![
                Upload {
                    local: "app-misc/hello/hello-1-1.gpkg.tar".into(),
                    remote: "app-misc/hello/hello-1-8.gpkg.tar".into()
                },
                Upload {
                    local: "app-misc/hello/hello-1-2.gpkg.tar".into(),
                    remote: "app-misc/hello/hello-1-2.gpkg.tar".into()
                },
            ]
        );
        let renamed = plan.index.packages.iter().find(|e| e["SHA1"] == "ours").unwrap();
        assert_eq!(renamed["BUILD_ID"], "8");
        assert_eq!(renamed["PATH"], "app-misc/hello/hello-1-8.gpkg.tar");
        let theirs = plan.index.packages.iter().find(|e| e["SHA1"] == "theirs").unwrap();
        assert_eq!(theirs["PATH"], "app-misc/hello/hello-1-1.gpkg.tar");
        assert_eq!(plan.index.header["PACKAGES"], "3");
        // The unindexed -7 is reported, not indexed.
        assert!(plan.warnings.iter().any(|w| w.contains("hello-1-7.gpkg.tar")), "{:?}", plan.warnings);
    }

    #[test]
    fn a_renamed_package_is_recognised_on_the_next_sync() {
        let local = folder(&[entry("app-misc/hello-1", 1, "ours")], &[]);
        let remote = folder(&[entry("app-misc/hello-1", 1, "theirs"), entry("app-misc/hello-1", 2, "ours")], &[]);
        let plan = plan(&local, &remote, &BTreeSet::new(), 1000);
        assert!(plan.uploads.is_empty(), "{:?}", plan.uploads);
        assert_eq!(plan.already_there[0].remote, "app-misc/hello/hello-1-2.gpkg.tar");
        assert_eq!(plan.index.packages.len(), 2);
    }

    #[test]
    fn unindexed_files_are_compared_by_content() {
        let local = folder(&[entry("app-misc/hello-1", 1, "ours")], &[]);
        let remote = FolderState {
            index: None,
            files: [
                ("app-misc/hello/hello-1-1.gpkg.tar".to_owned(), 10240),
                ("app-misc/hello/hello-1-3.gpkg.tar".to_owned(), 9),
            ]
            .into(),
        };
        let checks = content_checks(&local, &remote);
        assert_eq!(
            checks,
            vec![("app-misc/hello/hello-1-1.gpkg.tar".to_owned(), "app-misc/hello/hello-1-1.gpkg.tar".to_owned())]
        );

        // Equal: adopted into the index under its name, nothing uploaded.
        let equal: BTreeSet<(String, String)> = checks.into_iter().collect();
        let same = plan(&local, &remote, &equal, 1000);
        assert!(same.uploads.is_empty());
        assert_eq!(paths(&same.index), vec![("app-misc/hello/hello-1-1.gpkg.tar".into(), "1".into())]);

        // Different: ours goes to -4 (after the unindexed -3).
        let different = plan(&local, &remote, &BTreeSet::new(), 1000);
        assert_eq!(different.uploads[0].remote, "app-misc/hello/hello-1-4.gpkg.tar");
        assert_eq!(paths(&different.index), vec![("app-misc/hello/hello-1-4.gpkg.tar".into(), "4".into())]);
    }

    #[test]
    fn stale_entries_are_dropped_and_broken_local_ones_skipped() {
        let mut remote = folder(&[entry("app-misc/gone-1", 1, "x"), entry("app-misc/alpha-1", 1, "a")], &[]);
        remote.files.remove("app-misc/gone/gone-1-1.gpkg.tar");
        let mut local = folder(&[entry("app-misc/beta-1", 1, "b"), entry("app-misc/short-1", 1, "s")], &[]);
        local.files.insert("app-misc/short/short-1-1.gpkg.tar".into(), 3);
        local.files.insert("app-misc/lost/lost-1-1.gpkg.tar".into(), 3);
        let plan = plan(&local, &remote, &BTreeSet::new(), 1000);
        assert_eq!(
            paths(&plan.index),
            vec![
                ("app-misc/alpha/alpha-1-1.gpkg.tar".into(), "1".into()),
                ("app-misc/beta/beta-1-1.gpkg.tar".into(), "1".into())
            ]
        );
        let warnings = plan.warnings.join("\n");
        assert!(warnings.contains("gone-1-1.gpkg.tar, which is missing there"), "{warnings}");
        assert!(warnings.contains("short-1-1.gpkg.tar has 3 bytes"), "{warnings}");
        assert!(warnings.contains("lost-1-1.gpkg.tar"), "{warnings}");
    }

    #[test]
    fn entries_keep_their_chost_under_another_header() {
        let local = folder(&[entry("app-misc/hello-1", 1, "aa")], &[]);
        let mut remote = folder(&[entry("app-misc/alpha-1", 1, "a")], &[]);
        remote.index.as_mut().unwrap().header.insert("CHOST".into(), "aarch64-unknown-linux-gnu".into());
        let text = plan(&local, &remote, &BTreeSet::new(), 1000).index_text();
        let reread = PackageIndex::parse(&text);
        let chost = |cpv: &str| {
            let entry = reread.materialized().into_iter().find(|e| e["CPV"] == cpv).unwrap();
            entry["CHOST"].clone()
        };
        assert_eq!(chost("app-misc/alpha-1"), "aarch64-unknown-linux-gnu");
        assert_eq!(chost("app-misc/hello-1"), "x86_64-pc-linux-gnu");
    }

    #[test]
    fn names_without_a_build_id_are_not_renamed() {
        let local = FolderState {
            index: Some(PackageIndex::parse("VERSION: 0\n\nCPV: app-misc/old-1\nSHA1: a\nSIZE: 1\n\n")),
            files: [("app-misc/old-1.tbz2".to_owned(), 1)].into(),
        };
        let remote = FolderState {
            index: Some(PackageIndex::parse("VERSION: 0\n\nCPV: app-misc/old-1\nSHA1: b\nSIZE: 1\n\n")),
            files: [("app-misc/old-1.tbz2".to_owned(), 1)].into(),
        };
        let plan = plan(&local, &remote, &BTreeSet::new(), 1000);
        assert!(plan.uploads.is_empty());
        assert!(plan.warnings.iter().any(|w| w.contains("binpkg-multi-instance")), "{:?}", plan.warnings);
        assert_eq!(plan.index.packages.len(), 1);
    }

    #[test]
    fn package_files() {
        assert!(is_package_file("app-misc/hello/hello-1-1.gpkg.tar"));
        assert!(!is_package_file("app-misc/hello/.hello-1-1.gpkg.tar.Xy12"));
        assert!(!is_package_file("app-misc/hello/.~tmp~/hello-1-1.gpkg.tar"));
        assert!(!is_package_file("Packages"));
        assert!(!is_package_file("Packages.gz"));
    }
}
