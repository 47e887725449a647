//! `binhost sync`: publishes local package folders so that a consumer never sees a half-written
//! index, nor an index entry whose package is not there yet.
//!
//! For each root key (`<cache-dir>/binpkgs/<key>` → `<target>/<key>`):
//! 1. read the binhost's `Packages`, then list its files (in that order: a publisher uploads packages
//!    before the index, so every entry we read has its file in the listing);
//! 2. decide ([`super::plan::plan`]): new packages, packages already there, renamed ones (another
//!    package under the same build id), and the merged index, regenerated from the binhost's valid
//!    entries plus ours;
//! 3. upload the new packages, never replacing a file: each is written under a temporary name and
//!    moved into place only if the name is still free (folder: link(2) of a complete temporary file;
//!    rsync: `--ignore-existing`, and its receiver's temporary file + rename);
//! 4. only then swap in `Packages` and `Packages.gz` (portage fetches `Packages.gz` first and falls
//!    back to `Packages`, so both are written, from the same text), each written whole under a
//!    temporary name and renamed over the old one: rename(2) is atomic, a reader opens the old file
//!    or the new one.
//!
//! Folder targets are locked (flock(2) on the package folder) for the whole sync, so two publishers
//! on one machine or one shared mount take turns. rsync has no lock: there each publisher also
//! uploads its view of the index as a fragment of its own and rebuilds the index from all fragments
//! until a round finds no new one (see [`super::fragments`] for why no entry is lost). A package file
//! that appears on the binhost during our upload is never overwritten: the sync plans again (ours
//! takes the next build id), a few times at most.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::Write as _;
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;

use anyhow::{bail, Context, Result};
use camino::{Utf8Path, Utf8PathBuf};
use xshell::{cmd, Shell};

use super::fragments;
use super::index::PackageIndex;
use super::plan::{self, FolderState, PublishPlan, Upload};
use super::target::{self, Target};

/// What one root key's sync did (or, with `dry_run`, would do).
#[derive(Debug)]
pub struct KeyReport {
    pub key: String,
    pub target: String,
    pub uploads: Vec<Upload>,
    pub already_there: usize,
    pub indexed: usize,
    /// Whether the binhost's index was (or would be) replaced.
    pub index_changed: bool,
    pub warnings: Vec<String>,
    /// The rsync command lines that upload (dry run only; `STAGING` stands for the temporary folder).
    pub commands: Vec<Vec<String>>,
}

/// The root keys with a local package index: the folders of `<cache-dir>/binpkgs` holding `Packages`.
pub fn local_keys(cache_dir: &Utf8Path) -> Result<Vec<String>> {
    let binpkgs = cache_dir.join("binpkgs");
    let mut keys = Vec::new();
    let entries = match std::fs::read_dir(&binpkgs) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(keys),
        Err(error) => return Err(error).with_context(|| format!("reading {binpkgs}")),
    };
    for entry in entries {
        let entry = entry.with_context(|| format!("reading {binpkgs}"))?;
        let Ok(name) = entry.file_name().into_string() else { continue };
        if !name.starts_with('.') && entry.path().join("Packages").is_file() {
            keys.push(name);
        }
    }
    keys.sort();
    Ok(keys)
}

/// Publishes `<cache-dir>/binpkgs/<key>` to `<target>/<key>`.
pub fn sync_key(sh: &Shell, cache_dir: &Utf8Path, key: &str, target: &Target, dry_run: bool) -> Result<KeyReport> {
    sync_folder(sh, &cache_dir.join("binpkgs").join(key), key, target, dry_run)
}

/// Publishes the package folder `pkgdir` (a `Packages` index and its packages, such as a catalyst
/// package cache) to `<target>/<key>`.
pub fn sync_folder(sh: &Shell, pkgdir: &Utf8Path, key: &str, target: &Target, dry_run: bool) -> Result<KeyReport> {
    let pkgdir = pkgdir.to_owned();
    let index_path = pkgdir.join("Packages");
    let text = std::fs::read_to_string(&index_path)
        .with_context(|| format!("reading {index_path} (no packages were built for root `{key}`?)"))?;
    let local = FolderState { index: Some(PackageIndex::parse(&text)), files: walk(&pkgdir)? };

    let remote_target = target.join(key);
    let transport = Transport::open(sh, &remote_target, dry_run)?;
    // A package that appears on the binhost while ours uploads (another publisher, same name) stops
    // the upload before the index; planning again gives ours the next free build id.
    let mut attempt = 1;
    loop {
        match sync_once(&transport, &pkgdir, &local, key, &remote_target, dry_run) {
            Err(error) if attempt < MAX_ATTEMPTS && error.downcast_ref::<AppearedMeanwhile>().is_some() => {
                eprintln!("{error:#}; planning again");
                attempt += 1;
            }
            result => return result,
        }
    }
}

/// How many times a sync plans again after another publisher took a name it was uploading.
const MAX_ATTEMPTS: usize = 5;

/// Packages that appeared on the binhost while we uploaded them (left as they are).
#[derive(Debug)]
struct AppearedMeanwhile(Vec<String>);

impl std::fmt::Display for AppearedMeanwhile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "these packages appeared on the binhost while we published (another builder syncing at the same time?) \
             and were left as they are: {}",
            self.0.join(", ")
        )
    }
}

impl std::error::Error for AppearedMeanwhile {}

/// One round: read the binhost, plan, upload, index.
fn sync_once(
    transport: &Transport,
    pkgdir: &Utf8Path,
    local: &FolderState,
    key: &str,
    remote_target: &Target,
    dry_run: bool,
) -> Result<KeyReport> {
    let remote = transport.state().with_context(|| format!("reading the binhost {remote_target}"))?;

    let mut equal = BTreeSet::new();
    for (local_path, remote_path) in plan::content_checks(local, &remote) {
        if transport.same_content(&pkgdir.join(&local_path), &remote_path)? {
            equal.insert((local_path, remote_path));
        }
    }
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let plan = plan::plan(local, &remote, &equal, now);

    let mut report = KeyReport {
        key: key.to_owned(),
        target: remote_target.to_string(),
        uploads: plan.uploads.clone(),
        already_there: plan.already_there.len(),
        indexed: plan.index.packages.len(),
        index_changed: plan.index_changed,
        warnings: plan.warnings.clone(),
        commands: Vec::new(),
    };
    if dry_run {
        report.commands = transport.commands();
        return Ok(report);
    }
    if plan.uploads.is_empty() && !plan.index_changed {
        return Ok(report);
    }
    transport.publish(pkgdir, &plan).with_context(|| format!("publishing {pkgdir} to {remote_target}"))?;
    Ok(report)
}

/// Files below `root` (relative paths → sizes), hidden names (temporary files) left out.
fn walk(root: &Utf8Path) -> Result<BTreeMap<String, u64>> {
    fn visit(root: &Utf8Path, dir: &Utf8Path, files: &mut BTreeMap<String, u64>) -> Result<()> {
        for entry in dir.read_dir_utf8().with_context(|| format!("reading {dir}"))? {
            let entry = entry.with_context(|| format!("reading {dir}"))?;
            if entry.file_name().starts_with('.') {
                continue;
            }
            let kind = entry.file_type()?;
            if kind.is_dir() {
                visit(root, entry.path(), files)?;
            } else if kind.is_file() {
                let relative = entry.path().strip_prefix(root).expect("below root").as_str().to_owned();
                files.insert(relative, entry.metadata()?.len());
            }
        }
        Ok(())
    }
    let mut files = BTreeMap::new();
    if root.is_dir() {
        visit(root, root, &mut files)?;
    }
    Ok(files)
}

fn same_bytes(a: &Utf8Path, b: &Utf8Path) -> Result<bool> {
    let a = std::fs::read(a).with_context(|| format!("reading {a}"))?;
    let b = std::fs::read(b).with_context(|| format!("reading {b}"))?;
    Ok(a == b)
}

enum Transport<'a> {
    Folder {
        sh: &'a Shell,
        root: Utf8PathBuf,
        /// The package folder, flock(2)ed for the whole sync (None in a dry run).
        _lock: Option<File>,
    },
    Rsync {
        sh: &'a Shell,
        url: String,
    },
}

impl<'a> Transport<'a> {
    fn open(sh: &'a Shell, target: &Target, dry_run: bool) -> Result<Transport<'a>> {
        match target {
            Target::Folder(root) => {
                let lock = if dry_run {
                    None
                } else {
                    std::fs::create_dir_all(root).with_context(|| format!("creating {root}"))?;
                    Some(lock_folder(root)?)
                };
                Ok(Transport::Folder { sh, root: root.clone(), _lock: lock })
            }
            Target::Rsync(url) => {
                crate::prerequisites::ensure(sh, RSYNC)?;
                if !dry_run {
                    let empty = tempfile::tempdir().context("creating a temporary folder")?;
                    let empty = Utf8Path::from_path(empty.path()).context("temporary folder is not UTF-8")?;
                    // Two publishers making the folders at once: rsync's `--mkpath` fails with
                    // "File exists" for the one that lost the race. The folders are there then, so
                    // a second try succeeds; a real failure fails twice.
                    let mkpath = target::rsync_mkpath(empty, url);
                    run(sh, &mkpath, true)
                        .or_else(|_| run(sh, &mkpath, true))
                        .with_context(|| format!("creating {url} (is the rsync module writable?)"))?;
                }
                Ok(Transport::Rsync { sh, url: url.clone() })
            }
        }
    }

    /// The binhost's index, then its files.
    fn state(&self) -> Result<FolderState> {
        match self {
            Transport::Folder { root, .. } => {
                let index = match std::fs::read_to_string(root.join("Packages")) {
                    Ok(text) => Some(PackageIndex::parse(&text)),
                    Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
                    Err(error) => return Err(error).with_context(|| format!("reading {root}/Packages")),
                };
                Ok(FolderState { index, files: walk(root)? })
            }
            Transport::Rsync { sh, url } => {
                let temp = tempfile::tempdir().context("creating a temporary folder")?;
                let temp = Utf8Path::from_path(temp.path()).context("temporary folder is not UTF-8")?;
                let has_index = self.list()?.iter().any(|(path, _)| path == "Packages");
                let index = if has_index {
                    run(sh, &target::rsync_fetch(url, "Packages", temp), true)?;
                    let path = temp.join("Packages");
                    Some(PackageIndex::parse(
                        &std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?,
                    ))
                } else {
                    None
                };
                // Hidden names are rsync's temporary files (and `.~tmp~` folders) of transfers under way.
                let files =
                    self.list()?.into_iter().filter(|(path, _)| !path.split('/').any(|part| part.starts_with('.')));
                Ok(FolderState { index, files: files.collect() })
            }
        }
    }

    fn list(&self) -> Result<Vec<(String, u64)>> {
        let Transport::Rsync { sh, url } = self else { unreachable!("only rsync lists") };
        let argv = target::rsync_list(url);
        let (program, args) = argv.split_first().expect("argv");
        let text = cmd!(sh, "{program} {args...}").quiet().read().with_context(|| format!("listing {url}"))?;
        target::parse_listing(&text)
    }

    fn same_content(&self, local: &Utf8Path, remote: &str) -> Result<bool> {
        match self {
            Transport::Folder { root, .. } => same_bytes(local, &root.join(remote)),
            Transport::Rsync { sh, url } => {
                let temp = tempfile::tempdir().context("creating a temporary folder")?;
                let temp = Utf8Path::from_path(temp.path()).context("temporary folder is not UTF-8")?;
                run(sh, &target::rsync_fetch(url, remote, temp), true)?;
                let name = remote.rsplit('/').next().unwrap_or(remote);
                same_bytes(local, &temp.join(name))
            }
        }
    }

    /// The upload command lines, for a dry run.
    fn commands(&self) -> Vec<Vec<String>> {
        match self {
            Transport::Folder { .. } => Vec::new(),
            Transport::Rsync { url, .. } => vec![
                target::rsync_packages("STAGING/packages".into(), url),
                target::rsync_index(&["STAGING/index/Packages".into(), "STAGING/index/Packages.gz".into()], url),
            ],
        }
    }

    /// Packages first, then the index.
    fn publish(&self, pkgdir: &Utf8Path, plan: &PublishPlan) -> Result<()> {
        let staging = tempfile::tempdir().context("creating a temporary folder")?;
        let staging = Utf8Path::from_path(staging.path()).context("temporary folder is not UTF-8")?;
        let index_dir = staging.join("index");
        std::fs::create_dir(&index_dir)?;
        match self {
            Transport::Folder { root, .. } => {
                let index_files = write_index(self.shell(), &index_dir, &plan.index_text())?;
                let mut dirs = BTreeSet::new();
                for upload in &plan.uploads {
                    let dest = root.join(&upload.remote);
                    install_new(&pkgdir.join(&upload.local), &dest)?;
                    dirs.insert(dest.parent().expect("a package has a folder").to_owned());
                }
                for dir in &dirs {
                    File::open(dir).and_then(|dir| dir.sync_all()).with_context(|| format!("syncing {dir}"))?;
                }
                for file in &index_files {
                    install_replacing(file, &root.join(file.file_name().expect("a file name")))?;
                }
                File::open(root).and_then(|dir| dir.sync_all()).with_context(|| format!("syncing {root}"))?;
            }
            Transport::Rsync { sh, url } => {
                if !plan.uploads.is_empty() {
                    let packages = staging.join("packages");
                    for upload in &plan.uploads {
                        let link = packages.join(&upload.remote);
                        std::fs::create_dir_all(link.parent().expect("a package has a folder"))?;
                        std::os::unix::fs::symlink(pkgdir.join(&upload.local), &link)
                            .with_context(|| format!("staging {link}"))?;
                    }
                    let sent = run(sh, &target::rsync_packages(&packages, url), false)?;
                    let sent: BTreeSet<&str> = sent.lines().filter(|line| !line.ends_with('/')).collect();
                    let skipped: Vec<&str> = plan
                        .uploads
                        .iter()
                        .map(|upload| upload.remote.as_str())
                        .filter(|path| !sent.contains(path))
                        .collect();
                    if !skipped.is_empty() {
                        return Err(AppearedMeanwhile(skipped.into_iter().map(str::to_owned).collect()).into());
                    }
                }
                // Our view of the index as a fragment of our own, then the index rebuilt from every
                // publisher's fragments (see `fragments`: concurrent publishers lose no entry).
                let fragment = staging.join(fragments::fragment_name(plan.index.timestamp().unwrap_or(0)));
                std::fs::write(&fragment, plan.index_text()).with_context(|| format!("writing {fragment}"))?;
                run(sh, &target::rsync_fragment(&fragment, url), false)?;
                let store = RsyncStore { sh, url, staging: staging.to_owned() };
                fragments::publish_index(&store, plan.index.timestamp().unwrap_or(0), Some(&plan.index))?;
            }
        }
        Ok(())
    }

    fn shell(&self) -> &'a Shell {
        match self {
            Transport::Folder { sh, .. } | Transport::Rsync { sh, .. } => sh,
        }
    }
}

/// An rsync binhost's fragments, files and index (see [`fragments`]).
struct RsyncStore<'a> {
    sh: &'a Shell,
    url: &'a str,
    /// Where downloaded fragments and written indexes are staged.
    staging: Utf8PathBuf,
}

impl RsyncStore<'_> {
    fn listing(&self) -> Result<Vec<(String, u64)>> {
        let argv = target::rsync_list(self.url);
        let (program, args) = argv.split_first().expect("argv");
        let text =
            cmd!(self.sh, "{program} {args...}").quiet().read().with_context(|| format!("listing {}", self.url))?;
        target::parse_listing(&text)
    }
}

impl fragments::FragmentStore for RsyncStore<'_> {
    fn fragment_names(&self) -> Result<Vec<String>> {
        let prefix = format!("{}/", fragments::FOLDER);
        let mut names: Vec<String> = self
            .listing()?
            .into_iter()
            .filter_map(|(path, _)| path.strip_prefix(&prefix).map(str::to_owned))
            .filter(|name| !name.contains('/') && !name.starts_with('.'))
            .collect();
        names.sort();
        Ok(names)
    }

    fn read_fragments(&self) -> Result<BTreeMap<String, PackageIndex>> {
        let dir = tempfile::tempdir_in(&self.staging).context("creating a temporary folder")?;
        let dir = Utf8Path::from_path(dir.path()).context("temporary folder is not UTF-8")?;
        run(self.sh, &target::rsync_fetch_fragments(self.url, dir), true)?;
        let mut fragments = BTreeMap::new();
        for entry in dir.read_dir_utf8().with_context(|| format!("reading {dir}"))? {
            let entry = entry.with_context(|| format!("reading {dir}"))?;
            if entry.file_name().starts_with('.') || !entry.file_type()?.is_file() {
                continue;
            }
            let text = std::fs::read_to_string(entry.path()).with_context(|| format!("reading {}", entry.path()))?;
            fragments.insert(entry.file_name().to_owned(), PackageIndex::parse(&text));
        }
        Ok(fragments)
    }

    fn files(&self) -> Result<BTreeMap<String, u64>> {
        Ok(self.listing()?.into_iter().filter(|(path, _)| plan::is_package_file(path)).collect())
    }

    fn write_index(&self, index: &PackageIndex) -> Result<()> {
        let dir = tempfile::tempdir_in(&self.staging).context("creating a temporary folder")?;
        let dir = Utf8Path::from_path(dir.path()).context("temporary folder is not UTF-8")?;
        let files = write_index(self.sh, dir, &index.render())?;
        run(self.sh, &target::rsync_index(&files, self.url), false)?;
        Ok(())
    }
}

/// What an rsync target needs on this machine.
const RSYNC: &[crate::prerequisites::Tool] = &[crate::prerequisites::Tool {
    command: "rsync",
    debian_package: "rsync",
    why: "publishes binary packages to rsync binhosts",
}];

/// Runs an argv (never through a shell), printing it first unless `quiet`; returns its standard
/// output.
fn run(sh: &Shell, argv: &[String], quiet: bool) -> Result<String> {
    let line = shlex::try_join(argv.iter().map(String::as_str)).unwrap_or_default();
    if !quiet {
        eprintln!("$ {line}");
    }
    let (program, args) = argv.split_first().expect("argv");
    cmd!(sh, "{program} {args...}").quiet().read().with_context(|| format!("running {line}"))
}

/// `Packages` and `Packages.gz` (same text) in `dir`. gzip runs with `--no-name`, so the same
/// index gives the same bytes.
fn write_index(sh: &Shell, dir: &Utf8Path, text: &str) -> Result<Vec<Utf8PathBuf>> {
    let plain = dir.join("Packages");
    std::fs::write(&plain, text).with_context(|| format!("writing {plain}"))?;
    let compressed = cmd!(sh, "gzip --no-name --best --stdout {plain}").quiet().output().context("running gzip")?;
    let gz = dir.join("Packages.gz");
    std::fs::write(&gz, &compressed.stdout).with_context(|| format!("writing {gz}"))?;
    Ok(vec![plain, gz])
}

/// Copies `local` to `dest` unless `dest` exists: written whole under a hidden temporary name in
/// the same folder, synced, then linked to its name (link(2) fails rather than replace a file). A
/// file that appeared meanwhile with the very same bytes is fine; a different one stops the sync.
fn install_new(local: &Utf8Path, dest: &Utf8Path) -> Result<()> {
    let dir = dest.parent().expect("a package has a folder");
    std::fs::create_dir_all(dir).with_context(|| format!("creating {dir}"))?;
    let temp = copy_to_temp(local, dir)?;
    match temp.persist_noclobber(dest) {
        Ok(_) => Ok(()),
        Err(error) if error.error.kind() == std::io::ErrorKind::AlreadyExists => {
            if same_bytes(local, dest)? {
                Ok(())
            } else {
                bail!("{dest} appeared on the binhost while we published (another builder?); it was left as it is")
            }
        }
        Err(error) => Err(error.error).with_context(|| format!("moving {local} to {dest}")),
    }
}

/// Replaces `dest` with a copy of `source` in one rename(2).
fn install_replacing(source: &Utf8Path, dest: &Utf8Path) -> Result<()> {
    let dir = dest.parent().expect("a file has a folder");
    let temp = copy_to_temp(source, dir)?;
    temp.persist(dest).with_context(|| format!("replacing {dest}"))?;
    Ok(())
}

/// A complete, synced copy of `source` under a hidden temporary name in `dir` (removed on drop),
/// readable by everyone (a web server serves it), with `source`'s modification time.
fn copy_to_temp(source: &Utf8Path, dir: &Utf8Path) -> Result<tempfile::NamedTempFile> {
    let name = source.file_name().unwrap_or("file");
    let mut temp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .tempfile_in(dir)
        .with_context(|| format!("creating a temporary file in {dir}"))?;
    let mut input = File::open(source).with_context(|| format!("reading {source}"))?;
    std::io::copy(&mut input, temp.as_file_mut()).with_context(|| format!("copying {source}"))?;
    temp.as_file_mut().flush()?;
    let file = temp.as_file();
    file.set_permissions(std::fs::Permissions::from_mode(0o644))?;
    file.set_modified(input.metadata()?.modified()?)?;
    file.sync_all().with_context(|| format!("syncing the copy of {source}"))?;
    Ok(temp)
}

/// An exclusive flock(2) on a folder, waited for when another sync holds it.
fn lock_folder(dir: &Utf8Path) -> Result<File> {
    let file = File::open(dir).with_context(|| format!("opening {dir}"))?;
    // SAFETY: flock on a file descriptor we own.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        eprintln!("waiting for another binhost sync of {dir} to finish");
        // SAFETY: as above.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(std::io::Error::last_os_error()).with_context(|| format!("locking {dir}"));
        }
    }
    Ok(file)
}
