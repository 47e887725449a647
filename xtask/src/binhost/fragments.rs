//! The index of an rsync binhost that several publishers update at once, without a lock.
//!
//! rsync gives no lock and no compare-and-swap: two publishers that each read `Packages`, add their
//! entries and write it back lose one's entries (the last writer read before the other wrote). So
//! each publisher, after its packages are uploaded, also uploads its view of the index as a
//! *fragment* under a name no other publisher uses (`Packages.d/<time>-<host>-<pid>-<n>.Packages`,
//! never replaced, never removed by a sync), and the index is rebuilt from all fragments:
//!
//! 1. list the fragments and read them; merge their entries (by path; a later fragment wins) whose
//!    file is on the binhost with the listed size;
//! 2. replace `Packages` and `Packages.gz` with the merge (whole files, renamed into place);
//! 3. list the fragments again: when one appeared that step 1 did not read, go back to 1.
//!
//! Why no entry is lost: let W be the last index write of all, by publisher P, and F any fragment,
//! uploaded by Q before Q's step 1. If F was uploaded before P's step 3, P saw it there: either P
//! merged it in step 1, or P went back and wrote again (then W was not P's last write). If F was
//! uploaded after P's step 3, Q's step 1 and its write both come after P's step 3, hence after W,
//! and W was not the last write. So the last write merges every fragment; every publisher returns
//! only after a step 3 that finds nothing new.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{bail, Result};

use super::index::{self, Block, PackageIndex};

/// The folder of the fragments, below the package folder.
pub const FOLDER: &str = "Packages.d";

/// How many merge rounds a publisher tries before it gives up (each round means another publisher
/// wrote a fragment meanwhile).
const MAX_ROUNDS: usize = 50;

/// The binhost's fragments, files and index, as one publisher sees them.
pub trait FragmentStore {
    /// The fragment names (sorted by the caller).
    fn fragment_names(&self) -> Result<Vec<String>>;
    /// The fragments, by name.
    fn read_fragments(&self) -> Result<BTreeMap<String, PackageIndex>>;
    /// The package files (path → size).
    fn files(&self) -> Result<BTreeMap<String, u64>>;
    /// Replaces the index (`Packages` and `Packages.gz`) with `index`.
    fn write_index(&self, index: &PackageIndex) -> Result<()>;
}

/// A fragment name no other publisher uses: Unix time (sortable), host, process, a counter.
pub fn fragment_name(now: u64) -> String {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let host: String = host.trim().chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{now:012}-{host}-{}-{n}.Packages", std::process::id())
}

/// Steps 1 to 3 until a round finds no new fragment; returns the index written last.
pub fn publish_index(store: &dyn FragmentStore, now: u64, previous: Option<&PackageIndex>) -> Result<PackageIndex> {
    let mut previous_timestamp = previous.and_then(PackageIndex::timestamp).unwrap_or(0);
    for _ in 0..MAX_ROUNDS {
        let fragments = store.read_fragments()?;
        let files = store.files()?;
        let merged = merge(&fragments, &files, now.max(previous_timestamp + 1));
        store.write_index(&merged)?;
        previous_timestamp = merged.timestamp().unwrap_or(previous_timestamp);
        let read: BTreeSet<&String> = fragments.keys().collect();
        if store.fragment_names()?.iter().all(|name| read.contains(name)) {
            return Ok(merged);
        }
    }
    bail!("the binhost's fragments kept changing for {MAX_ROUNDS} rounds; the index may lack some; sync again")
}

/// The index of all fragments' entries whose file is there with the listed size (by path, a later
/// fragment's entry winning), their headers merged, `TIMESTAMP` = `timestamp`.
pub fn merge(
    fragments: &BTreeMap<String, PackageIndex>,
    files: &BTreeMap<String, u64>,
    timestamp: u64,
) -> PackageIndex {
    let mut header = Block::new();
    let mut entries: BTreeMap<String, Block> = BTreeMap::new();
    for fragment in fragments.values() {
        header = index::merge_headers(Some(&header), &fragment.header);
        for entry in fragment.materialized() {
            let Some(path) = index::entry_path(&entry) else { continue };
            let listed = entry.get("SIZE").map(|size| size.trim().to_owned());
            match files.get(&path) {
                Some(size) if listed.as_ref().is_none_or(|listed| *listed == size.to_string()) => {
                    entries.insert(path, entry);
                }
                _ => {}
            }
        }
    }
    let packages: Vec<Block> = entries.into_values().collect();
    header.insert("TIMESTAMP".into(), timestamp.to_string());
    header.insert("PACKAGES".into(), packages.len().to_string());
    header.entry("VERSION".into()).or_insert_with(|| "0".into());
    PackageIndex { header, packages }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;

    /// One binhost, in memory.
    #[derive(Default)]
    struct Binhost {
        fragments: BTreeMap<String, PackageIndex>,
        files: BTreeMap<String, u64>,
        index: Option<PackageIndex>,
        /// Every index written, in order.
        written: Vec<Vec<String>>,
    }

    /// A publisher's view of a shared binhost; `before_write` runs once, just before its first index
    /// write lands (to let another publisher run in between).
    struct View<'a> {
        binhost: &'a RefCell<Binhost>,
        before_write: RefCell<Option<Box<dyn FnOnce() + 'a>>>,
    }

    impl FragmentStore for View<'_> {
        fn fragment_names(&self) -> Result<Vec<String>> {
            Ok(self.binhost.borrow().fragments.keys().cloned().collect())
        }
        fn read_fragments(&self) -> Result<BTreeMap<String, PackageIndex>> {
            Ok(self.binhost.borrow().fragments.clone())
        }
        fn files(&self) -> Result<BTreeMap<String, u64>> {
            Ok(self.binhost.borrow().files.clone())
        }
        fn write_index(&self, index: &PackageIndex) -> Result<()> {
            if let Some(hook) = self.before_write.borrow_mut().take() {
                hook();
            }
            let mut binhost = self.binhost.borrow_mut();
            binhost.written.push(paths(index));
            binhost.index = Some(index.clone());
            Ok(())
        }
    }

    fn paths(index: &PackageIndex) -> Vec<String> {
        index.packages.iter().filter_map(index::entry_path).collect()
    }

    fn fragment(paths: &[&str]) -> PackageIndex {
        let mut text = String::from("ARCH: amd64\nVERSION: 0\n\n");
        for path in paths {
            let cpv = path.trim_end_matches(".gpkg.tar");
            text.push_str(&format!("CPV: {cpv}\nPATH: {path}\nSIZE: 10\n\n"));
        }
        PackageIndex::parse(&text)
    }

    /// A publisher: uploads its packages and its fragment, then rebuilds the index.
    fn publish(
        binhost: &RefCell<Binhost>,
        name: &str,
        packages: &[&str],
        before_write: Option<Box<dyn FnOnce() + '_>>,
    ) {
        {
            let mut state = binhost.borrow_mut();
            for path in packages {
                state.files.insert((*path).to_owned(), 10);
            }
            state.fragments.insert(name.to_owned(), fragment(packages));
        }
        let view = View { binhost, before_write: RefCell::new(before_write) };
        publish_index(&view, 1_000, None).unwrap();
    }

    #[test]
    fn a_publisher_that_wrote_a_stale_index_writes_again() {
        let binhost = RefCell::new(Binhost::default());
        // A reads the fragments (only its own), then, before its write lands, B publishes completely.
        let b = || publish(&binhost, "2-b", &["b/b-1.gpkg.tar"], None);
        publish(&binhost, "1-a", &["a/a-1.gpkg.tar"], Some(Box::new(b)));
        let state = binhost.borrow();
        let all = vec!["a/a-1.gpkg.tar".to_owned(), "b/b-1.gpkg.tar".to_owned()];
        // The race happened: B wrote both, then A's stale write dropped B's package...
        assert_eq!(state.written[0], all, "{:?}", state.written);
        assert_eq!(state.written[1], vec!["a/a-1.gpkg.tar".to_owned()], "{:?}", state.written);
        // ...and A's check found B's fragment and wrote both again.
        assert_eq!(state.written.last().unwrap(), &all, "{:?}", state.written);
        assert_eq!(paths(state.index.as_ref().unwrap()), all);
    }

    #[test]
    fn entries_without_their_file_stay_out_and_later_fragments_win() {
        let mut fragments = BTreeMap::new();
        fragments.insert("1".to_owned(), fragment(&["a/a-1.gpkg.tar", "gone/gone-1.gpkg.tar"]));
        let mut newer = fragment(&["a/a-1.gpkg.tar"]);
        newer.packages[0].insert("SIZE".into(), "12".into());
        fragments.insert("2".to_owned(), newer);
        let files = BTreeMap::from([("a/a-1.gpkg.tar".to_owned(), 12)]);
        let merged = merge(&fragments, &files, 7);
        assert_eq!(paths(&merged), vec!["a/a-1.gpkg.tar".to_owned()]);
        assert_eq!(merged.packages[0]["SIZE"], "12");
        assert_eq!(merged.header["PACKAGES"], "1");
        assert_eq!(merged.timestamp(), Some(7));
    }

    #[test]
    fn fragment_names_sort_by_time_and_never_repeat() {
        let (a, b) = (fragment_name(5), fragment_name(5));
        assert_ne!(a, b);
        assert!(fragment_name(4) < fragment_name(10), "zero-padded times sort");
        assert!(a.ends_with(".Packages") && !a.contains('/'));
    }
}
