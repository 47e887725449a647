//! The end-to-end harness: real buildah, real emerge, the real `cargo xtask` CLI on the offline rig.
//!
//! Every test starts a [`Session`]: it holds a global lock (buildah on a small machine should not run
//! ten builds at once), has its own image namespace (`localhost/e2e-<name>-<pid>`) and its own binary
//! package cache (a temporary folder), and removes every image of its namespace when it ends, even
//! when the test panics. The rig root (`localhost/buildah-gentoo/rig-root:*`) is shared and never
//! removed; it is built once, before the first test, with a cache under `target/e2e/shared-cache`.
//!
//! Tests run the CLI in a [`Workspace`] copy (the files git knows, symlinks kept), so logs and build
//! contexts are their own and definitions can be edited; the nested cargo builds into
//! `target/e2e-target` (the outer `cargo test` holds the lock on `target/`).

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use camino::{Utf8Path, Utf8PathBuf};
use serde_json::Value;
use tempfile::TempDir;

use crate::workspace_root;

/// The rig's full images (`image-defs/src/images/rig/`).
pub const RIG_IMAGES: [&str; 5] = ["rig/base", "rig/hello", "rig/greeter", "rig/alpha", "rig/beta"];

/// The rig's minimal images, built in `rig/base`: scratch → busybox → greeter-min → hello-min.
pub const MINIMAL_RIG_IMAGES: [&str; 3] = ["rig/busybox", "rig/greeter-min", "rig/hello-min"];

/// The isolation every buildah call of the suite uses.
pub const ISOLATION: &str = "chroot";

static SERIAL: Mutex<()> = Mutex::new(());

/// The machine-wide lock of the suites that use container storage: a `flock` on a file under
/// `target/e2e`, so two test binaries (or two checkouts' runs) never build at once.
struct StorageLock(#[allow(dead_code)] std::fs::File);

impl StorageLock {
    fn acquire() -> StorageLock {
        use std::os::fd::AsRawFd;
        let path = std::env::temp_dir().join("buildah-gentoo-e2e.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .unwrap_or_else(|error| panic!("opening the e2e lock {}: {error}", path.display()));
        // SAFETY: flock(2) on a descriptor we own; released when the file is closed.
        let result = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
        assert_eq!(result, 0, "flock {}: {}", path.display(), std::io::Error::last_os_error());
        StorageLock(file)
    }
}
static RIG_ROOT: OnceLock<String> = OnceLock::new();

/// Where the nested cargo builds the tool, for every suite: test binaries run one after another, and
/// the tool finds its workspace at run time (`cargo run` sets `CARGO_MANIFEST_DIR`), so workspace
/// copies can share one build folder.
pub fn cargo_target_dir() -> Utf8PathBuf {
    workspace_root().join("target/e2e-target")
}

/// The folder of the suite's shared state (the rig root's debootstrap cache).
pub fn e2e_dir() -> Utf8PathBuf {
    workspace_root().join("target/e2e")
}

// ---------------------------------------------------------------------------------------------
// Commands

/// A finished command: its argv, exit code and output.
#[derive(Debug, Clone)]
pub struct Finished {
    pub argv: Vec<String>,
    /// `None` when killed by a signal.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
    /// The build's machine-readable summary (`target/buildah-gentoo/logs/summary.json` of the
    /// workspace), when the command was a build that wrote one.
    pub summary_json: Option<Value>,
}

impl Finished {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// Everything the command said, for messages.
    pub fn describe(&self) -> String {
        format!(
            "$ {}\nexit code {:?} after {:.1}s\n--- stdout ---\n{}\n--- stderr ---\n{}\n--------------",
            self.argv.join(" "),
            self.code,
            self.elapsed.as_secs_f64(),
            self.stdout.trim_end(),
            self.stderr.trim_end()
        )
    }

    /// Panics (with the whole output) unless the command exited 0.
    #[track_caller]
    pub fn expect_success(&self) -> &Finished {
        assert!(self.success(), "command failed:\n{}", self.describe());
        self
    }

    /// Panics (with the whole output) if the command exited 0.
    #[track_caller]
    pub fn expect_failure(&self) -> &Finished {
        assert!(!self.success(), "command unexpectedly succeeded:\n{}", self.describe());
        self
    }

    /// stdout then stderr.
    pub fn output(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// The executor's progress lines (`==> [i/n] NAME: text`), in order.
    pub fn progress(&self) -> Vec<Progress> {
        self.stdout.lines().filter_map(Progress::parse).collect()
    }

    /// The progress texts of one image.
    pub fn progress_of(&self, image: &str) -> Vec<String> {
        self.progress().into_iter().filter(|p| p.image == image).map(|p| p.text).collect()
    }

    /// The images of the JSON summary, in build order.
    fn summary_images(&self) -> Vec<Value> {
        self.summary_json.as_ref().and_then(|json| json["images"].as_array().cloned()).unwrap_or_default()
    }

    /// The JSON summary's entry of `image`.
    pub fn summary_entry(&self, image: &str) -> Option<Value> {
        self.summary_images().into_iter().find(|entry| entry["name"] == image)
    }

    /// The result of `image` in the JSON summary, with the table's words: `built`, `up to date`,
    /// `FAILED` or `skipped`.
    pub fn result_of(&self, image: &str) -> Option<&'static str> {
        self.summary_entry(image).and_then(|entry| result_word(&entry))
    }

    /// The summary's rows (image, result word), in order.
    pub fn summary(&self) -> Vec<(String, String)> {
        self.summary_images()
            .iter()
            .filter_map(|entry| Some((entry["name"].as_str()?.to_owned(), result_word(entry)?.to_owned())))
            .collect()
    }

    /// The counts of the summary: `2 built, 1 up to date, 0 failed, 0 skipped`.
    pub fn totals(&self) -> Option<String> {
        self.summary_json.as_ref()?;
        let rows = self.summary();
        let count = |word: &str| rows.iter().filter(|(_, result)| result == word).count();
        Some(format!(
            "{} built, {} up to date, {} failed, {} skipped",
            count("built"),
            count("up to date"),
            count("FAILED"),
            count("skipped")
        ))
    }

    /// The log path printed in the image's `building (log PATH)` line.
    pub fn printed_log_path(&self, image: &str) -> Option<Utf8PathBuf> {
        self.progress_of(image).iter().find_map(|text| {
            text.strip_prefix("building (log ").and_then(|rest| rest.strip_suffix(')')).map(Utf8PathBuf::from)
        })
    }
}

/// The summary's `result` as the table's word.
fn result_word(entry: &Value) -> Option<&'static str> {
    match entry["result"].as_str()? {
        "built" => Some("built"),
        "up_to_date" => Some("up to date"),
        "failed" => Some("FAILED"),
        "skipped" => Some("skipped"),
        _ => None,
    }
}

/// One progress line of the executor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    pub number: usize,
    pub total: usize,
    pub image: String,
    pub text: String,
}

impl Progress {
    /// Parses `==> [i/n] NAME: text`.
    pub fn parse(line: &str) -> Option<Progress> {
        let rest = line.strip_prefix("==> [")?;
        let (counts, rest) = rest.split_once("] ")?;
        let (number, total) = counts.split_once('/')?;
        let (image, text) = rest.split_once(": ")?;
        Some(Progress {
            number: number.parse().ok()?,
            total: total.parse().ok()?,
            image: image.to_owned(),
            text: text.to_owned(),
        })
    }
}

/// Runs a command to completion, capturing its output. Panics only if it cannot start.
pub fn run(mut command: Command) -> Finished {
    let argv = argv_of(&command);
    let clock = Instant::now();
    let output = command
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|error| panic!("cannot start `{}`: {error}", argv.join(" ")));
    Finished {
        argv,
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        elapsed: clock.elapsed(),
        summary_json: None,
    }
}

fn argv_of(command: &Command) -> Vec<String> {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|arg| arg.to_string_lossy().into_owned())
        .collect()
}

/// `buildah ARGS`, with the suite's isolation.
pub fn buildah(args: &[&str]) -> Finished {
    let mut command = Command::new("buildah");
    command.args(args).env("BUILDAH_ISOLATION", ISOLATION);
    run(command)
}

/// `buildah ARGS`; panics unless it succeeds; returns the trimmed stdout.
#[track_caller]
pub fn buildah_ok(args: &[&str]) -> String {
    let finished = buildah(args);
    finished.expect_success();
    finished.stdout.trim().to_owned()
}

// ---------------------------------------------------------------------------------------------
// Local storage

/// An image in local storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredImage {
    /// Without `sha256:`.
    pub id: String,
    pub names: Vec<String>,
}

/// Every image in local storage (`buildah images --all --json --no-trunc`).
pub fn stored_images() -> Vec<StoredImage> {
    let json = buildah_ok(&["images", "--all", "--json", "--no-trunc"]);
    let listed: Value = if json.is_empty() { Value::Null } else { serde_json::from_str(&json).unwrap() };
    listed
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default() // buildah prints `null` or nothing when there is nothing
        .iter()
        .map(|image| StoredImage {
            id: image["id"].as_str().expect("an image id").trim_start_matches("sha256:").to_owned(),
            names: image["names"]
                .as_array()
                .map(|names| names.iter().filter_map(|name| name.as_str().map(str::to_owned)).collect())
                .unwrap_or_default(),
        })
        .collect()
}

/// The id of a reference (`name:tag`), if local storage has it.
pub fn image_id(reference: &str) -> Option<String> {
    stored_images().into_iter().find(|image| image.names.iter().any(|name| name == reference)).map(|image| image.id)
}

/// Whether an image with this id is in local storage.
pub fn image_exists(id: &str) -> bool {
    stored_images().iter().any(|image| image.id == id)
}

/// The names (`name:tag`) local storage has for an image id.
pub fn names_of(id: &str) -> Vec<String> {
    stored_images().into_iter().find(|image| image.id == id).map(|image| image.names).unwrap_or_default()
}

/// `buildah inspect --type image` of a reference or id.
#[track_caller]
pub fn inspect_image(reference: &str) -> Value {
    serde_json::from_str(&buildah_ok(&["inspect", "--type", "image", reference])).unwrap()
}

/// The image config's `Env` (`KEY=value` strings).
#[track_caller]
pub fn image_env(reference: &str) -> Vec<String> {
    let inspect = inspect_image(reference);
    inspect["OCIv1"]["config"]["Env"]
        .as_array()
        .map(|env| env.iter().map(|entry| entry.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

/// The value of one environment variable of the image config.
#[track_caller]
pub fn image_env_var(reference: &str, key: &str) -> Option<String> {
    image_env(reference).iter().find_map(|entry| entry.strip_prefix(&format!("{key}=")).map(str::to_owned))
}

/// The image config's labels.
#[track_caller]
pub fn image_labels(reference: &str) -> BTreeMap<String, String> {
    let inspect = inspect_image(reference);
    inspect["OCIv1"]["config"]["Labels"]
        .as_object()
        .map(|labels| labels.iter().map(|(key, value)| (key.clone(), value.as_str().unwrap().to_owned())).collect())
        .unwrap_or_default()
}

/// The image's layer digests (`rootfs.diff_ids`), bottom first.
#[track_caller]
pub fn diff_ids(reference: &str) -> Vec<String> {
    let inspect = inspect_image(reference);
    inspect["OCIv1"]["rootfs"]["diff_ids"]
        .as_array()
        .expect("an image has diff_ids")
        .iter()
        .map(|id| id.as_str().unwrap().to_owned())
        .collect()
}

/// A working container.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ContainerInfo {
    pub id: String,
    pub name: String,
    pub image_id: String,
    pub image_name: String,
}

/// Every container buildah knows (`buildah containers --all --json`).
pub fn containers() -> Vec<ContainerInfo> {
    let json = buildah_ok(&["containers", "--all", "--json"]);
    let listed: Value = if json.is_empty() { Value::Array(vec![]) } else { serde_json::from_str(&json).unwrap() };
    let text = |value: &Value| value.as_str().unwrap_or_default().to_owned();
    listed
        .as_array()
        .map(|list| {
            list.iter()
                .map(|container| ContainerInfo {
                    id: text(&container["id"]),
                    name: text(&container["containername"]),
                    image_id: text(&container["imageid"]).trim_start_matches("sha256:").to_owned(),
                    image_name: text(&container["imagename"]),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A working container removed when dropped.
struct ContainerGuard(String);

impl Drop for ContainerGuard {
    fn drop(&mut self) {
        let removed = buildah(&["rm", &self.0]);
        if !removed.success() {
            eprintln!("warning: could not remove container {}:\n{}", self.0, removed.describe());
        }
    }
}

/// A working container of an image, mounted on the host; unmounted and removed when dropped.
pub struct MountedImage {
    pub path: Utf8PathBuf,
    container: ContainerGuard,
}

impl MountedImage {
    #[track_caller]
    pub fn new(reference: &str) -> MountedImage {
        let container = ContainerGuard(buildah_ok(&["from", "--pull=never", "--quiet", reference]));
        let path = Utf8PathBuf::from(buildah_ok(&["mount", &container.0]));
        MountedImage { path, container }
    }
}

impl Drop for MountedImage {
    fn drop(&mut self) {
        let _ = buildah(&["umount", &self.container.0]);
    }
}

/// Runs `argv` in a fresh container of `reference` (`buildah from` + `run` + `rm`, the container is
/// always removed). Returns the `buildah run` result.
#[track_caller]
pub fn run_in_image(reference: &str, argv: &[&str]) -> Finished {
    let container = ContainerGuard(buildah_ok(&["from", "--pull=never", "--quiet", reference]));
    let mut args = vec!["run", "--isolation", ISOLATION, &container.0, "--"];
    args.extend_from_slice(argv);
    buildah(&args)
}

/// Like [`run_in_image`], but panics unless the command succeeds; returns its stdout.
#[track_caller]
pub fn run_in_image_ok(reference: &str, argv: &[&str]) -> String {
    let finished = run_in_image(reference, argv);
    finished.expect_success();
    finished.stdout
}

/// Whether `path` exists in the image (`test -e` in a container).
#[track_caller]
pub fn exists_in_image(reference: &str, path: &str) -> bool {
    let finished = run_in_image(reference, &["test", "-e", path]);
    match finished.code {
        Some(0) => true,
        Some(1) => false,
        _ => panic!("`test -e {path}` in {reference} did not run:\n{}", finished.describe()),
    }
}

/// Sorted paths under the folders, as `find` prints them in the image.
#[track_caller]
pub fn files_in_image(reference: &str, folders: &[&str]) -> Vec<String> {
    let mut argv = vec!["find"];
    argv.extend_from_slice(folders);
    let mut files: Vec<String> = run_in_image_ok(reference, &argv).lines().map(str::to_owned).collect();
    files.sort();
    files
}

/// The packages installed in the image (`CAT/PF`, from `/var/db/pkg`).
#[track_caller]
pub fn packages_in_image(reference: &str) -> Vec<String> {
    let mut packages: Vec<String> =
        run_in_image_ok(reference, &["find", "/var/db/pkg", "-mindepth", "2", "-maxdepth", "2"])
            .lines()
            .map(|line| line.trim_start_matches("/var/db/pkg/").to_owned())
            .collect();
    packages.sort();
    packages
}

/// Every path in the image's filesystem (`/usr/bin/greeter`, ...; directories too) with its size in
/// bytes (a file's length, a symlink's target length, 0 for anything else), read on the host from a
/// mounted working container: nothing of a running container (`/proc`, `/etc/hosts`) is in it.
#[track_caller]
pub fn image_tree(reference: &str) -> BTreeMap<String, u64> {
    let container = ContainerGuard(buildah_ok(&["from", "--pull=never", "--quiet", reference]));
    let mount = Utf8PathBuf::from(buildah_ok(&["mount", &container.0]));
    let mut tree = BTreeMap::new();
    let mut folders = vec![mount.clone()];
    while let Some(folder) = folders.pop() {
        for entry in folder.read_dir_utf8().unwrap_or_else(|error| panic!("reading {folder}: {error}")) {
            let entry = entry.unwrap();
            let metadata = entry.path().symlink_metadata().unwrap();
            let path = format!("/{}", entry.path().strip_prefix(&mount).unwrap());
            let size = if metadata.is_file() || metadata.is_symlink() { metadata.len() } else { 0 };
            if metadata.is_dir() {
                folders.push(entry.path().to_owned());
            }
            tree.insert(path, size);
        }
    }
    buildah_ok(&["umount", &container.0]);
    tree
}

/// The bytes of every file in the image (as `du -sb` counts them, without folders).
#[track_caller]
pub fn image_bytes(reference: &str) -> u64 {
    image_tree(reference).values().sum()
}

/// The paths in the image's top layer (its last `diff_id`), as its tar lists them (`usr/bin/hello`,
/// whiteouts as `.wh.NAME`), copied out of local storage with skopeo.
#[track_caller]
pub fn top_layer_paths(reference: &str) -> Vec<String> {
    let dir = tempfile::Builder::new().prefix("buildah-gentoo-e2e-layout-").tempdir().unwrap();
    let layout = Utf8Path::from_path(dir.path()).unwrap().to_owned();
    let mut copy = Command::new("skopeo");
    copy.args(["copy", "--quiet", &format!("containers-storage:{reference}"), &format!("oci:{layout}:image")]);
    run(copy).expect_success();
    let read_json = |path: Utf8PathBuf| -> Value {
        serde_json::from_slice(&std::fs::read(&path).unwrap_or_else(|error| panic!("reading {path}: {error}"))).unwrap()
    };
    let blob =
        |digest: &Value| layout.join("blobs/sha256").join(digest.as_str().unwrap().trim_start_matches("sha256:"));
    let index = read_json(layout.join("index.json"));
    let manifest = read_json(blob(&index["manifests"][0]["digest"]));
    let layers = manifest["layers"].as_array().expect("a manifest lists layers");
    let top = blob(&layers.last().expect("at least one layer")["digest"]);
    let mut list = Command::new("tar");
    list.arg("-tf").arg(top.as_str());
    let listed = run(list);
    listed.expect_success();
    let mut paths: Vec<String> = listed
        .stdout
        .lines()
        .map(|line| line.trim_start_matches("./").trim_end_matches('/').to_owned())
        .filter(|line| !line.is_empty() && line != ".")
        .collect();
    paths.sort();
    paths
}

// ---------------------------------------------------------------------------------------------
// Logs

/// The lines of an emerge log that say how a package was merged: `>>> Emerging (1 of 2) CPV::repo`
/// (built from source) and `>>> Emerging binary (1 of 2) CPV::repo` (from a binary package).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Emerged {
    /// CPVs built from source, in order.
    pub source: Vec<String>,
    /// CPVs merged from binary packages, in order.
    pub binary: Vec<String>,
}

impl Emerged {
    pub fn parse(log: &str) -> Emerged {
        let cpv = |rest: &str| -> String {
            // `(1 of 2) dev-libs/libgreet-1::gentoo` → `dev-libs/libgreet-1`
            let after = rest.split_once(") ").map(|(_, after)| after).unwrap_or(rest);
            let word = after.split_whitespace().next().unwrap_or_default();
            word.split("::").next().unwrap_or_default().to_owned()
        };
        let mut emerged = Emerged::default();
        for line in log.lines() {
            if let Some(rest) = line.strip_prefix(">>> Emerging binary (") {
                emerged.binary.push(cpv(rest));
            } else if let Some(rest) = line.strip_prefix(">>> Emerging (") {
                emerged.source.push(cpv(rest));
            }
        }
        emerged
    }
}

// ---------------------------------------------------------------------------------------------
// Workspaces

/// A copy of the workspace in a temporary folder: the files git knows (tracked and untracked, not
/// ignored), symlinks copied as symlinks.
pub struct Workspace {
    root: Utf8PathBuf,
    _dir: TempDir,
}

impl Workspace {
    #[track_caller]
    pub fn copy() -> Workspace {
        let source = workspace_root();
        let dir = tempfile::Builder::new().prefix("buildah-gentoo-e2e-ws-").tempdir().unwrap();
        let root = Utf8PathBuf::from_path_buf(dir.path().to_owned()).expect("a UTF-8 temporary folder");
        let listing = Command::new("git")
            .args(["ls-files", "-z", "--cached", "--others", "--exclude-standard"])
            .current_dir(&source)
            .output()
            .expect("running git ls-files");
        assert!(listing.status.success(), "git ls-files failed: {}", String::from_utf8_lossy(&listing.stderr));
        let mut copied = 0;
        for relative in listing.stdout.split(|byte| *byte == 0).filter(|path| !path.is_empty()) {
            let relative = std::str::from_utf8(relative).expect("UTF-8 paths");
            if relative == xtask::settings::SETTINGS_FILE {
                continue; // a developer's own settings file: the suite runs on the defaults and its flags
            }
            let from = source.join(relative);
            let to = root.join(relative);
            let Ok(metadata) = std::fs::symlink_metadata(&from) else {
                continue; // deleted in the work tree but still in the index
            };
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            if metadata.file_type().is_symlink() {
                std::os::unix::fs::symlink(std::fs::read_link(&from).unwrap(), &to).unwrap();
            } else if metadata.is_file() {
                std::fs::copy(&from, &to).unwrap_or_else(|error| panic!("copying {from}: {error}"));
            } else {
                continue;
            }
            copied += 1;
        }
        assert!(copied > 10, "git ls-files listed only {copied} files in {source}");
        assert!(root.join("Cargo.toml").is_file() && root.join("tests/rig/repo").is_dir());
        Workspace { root, _dir: dir }
    }

    pub fn root(&self) -> &Utf8Path {
        &self.root
    }

    /// Replaces the one occurrence of `from` with `to` in a file of the copy; panics unless `from`
    /// occurs exactly once.
    #[track_caller]
    pub fn edit(&self, relative: &str, from: &str, to: &str) {
        let path = self.root.join(relative);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("reading {path}: {error}"));
        let count = text.matches(from).count();
        assert!(count == 1, "{relative}: expected exactly one occurrence of {from:?}, found {count} in:\n{text}");
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    }

    /// Where the executor logs an image: `target/buildah-gentoo/logs/<name with / as +>.log`.
    pub fn log_path(&self, image: &str) -> Utf8PathBuf {
        self.root.join("target/buildah-gentoo/logs").join(format!("{}.log", image.replace('/', "+")))
    }

    /// The image's log.
    #[track_caller]
    pub fn log(&self, image: &str) -> String {
        let path = self.log_path(image);
        std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("reading the log {path}: {error}"))
    }

    /// The image's log, parsed for emerge's merge lines.
    #[track_caller]
    pub fn emerged(&self, image: &str) -> Emerged {
        Emerged::parse(&self.log(image))
    }

    /// Where a build writes its JSON summary.
    pub fn summary_path(&self) -> Utf8PathBuf {
        self.root.join("target/buildah-gentoo/logs/summary.json")
    }

    /// `cargo xtask ARGS` in this workspace (no namespace or cache flags of its own).
    pub fn xtask_command(&self, args: &[&str]) -> Command {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let mut command = Command::new(cargo);
        command
            .arg("xtask")
            .args(args)
            .current_dir(&self.root)
            .env("BUILDAH_ISOLATION", ISOLATION)
            .env("CARGO_TARGET_DIR", cargo_target_dir())
            .env("CARGO_TERM_COLOR", "never");
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("BUILDAH_GENTOO_") {
                command.env_remove(key);
            }
        }
        command
    }
}

impl Drop for Workspace {
    /// When a test fails, its logs are kept in `target/e2e/failed/` (the copy itself is removed).
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        let logs = self.root.join("target/buildah-gentoo/logs");
        let keep = e2e_dir().join("failed").join(self.root.file_name().unwrap_or("workspace"));
        let Ok(entries) = std::fs::read_dir(&logs) else { return };
        if std::fs::create_dir_all(&keep).is_err() {
            return;
        }
        for entry in entries.flatten() {
            let _ = std::fs::copy(entry.path(), keep.as_std_path().join(entry.file_name()));
        }
        eprintln!("e2e: the failed test's logs are in {keep}");
    }
}

// ---------------------------------------------------------------------------------------------
// Sessions

/// The rig root's reference; builds it once (with the shared cache) if local storage lacks it.
fn ensure_rig_root() -> &'static str {
    RIG_ROOT.get_or_init(|| {
        let reference = xtask::execute::rig_root::reference(&workspace_root()).expect("the rig root reference");
        if image_id(&reference).is_some() {
            eprintln!("e2e: rig root {reference} is in local storage");
            return reference;
        }
        eprintln!("e2e: building the rig root {reference} once (shared cache {})", e2e_dir().join("shared-cache"));
        let workspace = Workspace::copy();
        let namespace = format!("localhost/e2e-seed-{}", std::process::id());
        let cache = e2e_dir().join("shared-cache");
        std::fs::create_dir_all(&cache).unwrap();
        let seeded = run(workspace.xtask_command(&[
            "--namespace",
            &namespace,
            "--cache-dir",
            cache.as_str(),
            "build",
            "--no-deps",
            "rig/base",
        ]));
        remove_namespace(&namespace, &BTreeSet::new());
        seeded.expect_success();
        assert!(image_id(&reference).is_some(), "the seed build did not leave {reference}:\n{}", seeded.describe());
        reference
    })
}

/// Removes every image of a namespace, and the images with the `known` ids (untagged leftovers),
/// with any container that uses them. Never panics (it runs in `Drop`).
fn remove_namespace(namespace: &str, known: &BTreeSet<String>) -> Vec<String> {
    let prefix = format!("{namespace}/");
    let mine = |image: &StoredImage| known.contains(&image.id) || image.names.iter().any(|n| n.starts_with(&prefix));
    let mut problems = Vec::new();
    let images: Vec<StoredImage> = match std::panic::catch_unwind(stored_images) {
        Ok(images) => images.into_iter().filter(mine).collect(),
        Err(_) => return vec!["cannot list images".into()],
    };
    let ids: BTreeSet<&str> = images.iter().map(|image| image.id.as_str()).collect();
    if let Ok(all) = std::panic::catch_unwind(containers) {
        for container in all {
            if container.image_name.starts_with(&prefix) || ids.contains(container.image_id.as_str()) {
                problems.push(format!("left-over container {} ({})", container.name, container.image_name));
                buildah(&["rm", &container.id]);
            }
        }
    }
    // Names first (removing the last name removes the image), then what is left, by id; a few
    // rounds, in case an image is still some other image's parent.
    for image in &images {
        for name in image.names.iter().filter(|name| name.starts_with(&prefix)) {
            buildah(&["rmi", name]);
        }
    }
    for _ in 0..3 {
        let left: Vec<String> = match std::panic::catch_unwind(stored_images) {
            Ok(now) => now.into_iter().filter(mine).map(|image| image.id).collect(),
            Err(_) => break,
        };
        if left.is_empty() {
            break;
        }
        for id in &left {
            buildah(&["rmi", "--force", id]);
        }
    }
    if let Ok(now) = std::panic::catch_unwind(stored_images) {
        for image in now.into_iter().filter(mine) {
            problems.push(format!("could not remove image {} {:?}", image.id, image.names));
        }
    }
    problems
}

/// One end-to-end test: a namespace, a binary package cache, the global lock, and clean-up.
pub struct Session {
    pub name: String,
    pub namespace: String,
    rig_root: &'static str,
    caches: RefCell<Vec<TempDir>>,
    known_ids: RefCell<BTreeSet<String>>,
    started: Instant,
    // Last: released after the clean-up in `Drop` and the caches (the file lock after the mutex).
    _serial: MutexGuard<'static, ()>,
    _storage: StorageLock,
}

impl Session {
    /// Starts a test: waits for the lock, makes sure the rig root exists.
    pub fn start(name: &str) -> Session {
        let storage = StorageLock::acquire();
        let serial = SERIAL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let rig_root = ensure_rig_root();
        let namespace = format!("localhost/e2e-{name}-{}", std::process::id());
        // A namespace left by an earlier run with a recycled pid.
        remove_namespace(&namespace, &BTreeSet::new());
        eprintln!("e2e {name}: start (namespace {namespace})");
        let session = Session {
            name: name.to_owned(),
            namespace,
            rig_root,
            caches: RefCell::new(Vec::new()),
            known_ids: RefCell::new(BTreeSet::new()),
            started: Instant::now(),
            _serial: serial,
            _storage: storage,
        };
        session.new_cache_dir();
        session
    }

    /// The rig root's reference.
    pub fn rig_root(&self) -> &str {
        self.rig_root
    }

    /// The session's binary package cache (`--cache-dir`).
    pub fn cache_dir(&self) -> Utf8PathBuf {
        Utf8PathBuf::from_path_buf(self.caches.borrow()[0].path().to_owned()).unwrap()
    }

    /// Another, empty, cache folder (removed at the end of the session).
    pub fn new_cache_dir(&self) -> Utf8PathBuf {
        let dir =
            tempfile::Builder::new().prefix(&format!("buildah-gentoo-e2e-{}-cache-", self.name)).tempdir().unwrap();
        let path = Utf8PathBuf::from_path_buf(dir.path().to_owned()).unwrap();
        self.caches.borrow_mut().push(dir);
        path
    }

    /// `<namespace>/<image>:<tag>`.
    pub fn reference(&self, image: &str, tag: &str) -> String {
        format!("{}/{image}:{tag}", self.namespace)
    }

    /// `<namespace>/<image>:latest`.
    pub fn latest(&self, image: &str) -> String {
        self.reference(image, "latest")
    }

    /// The id `:latest` of the image points at.
    pub fn id(&self, image: &str) -> Option<String> {
        image_id(&self.latest(image))
    }

    /// The ids of several images' `:latest`, by name (`None` for a missing one).
    pub fn ids(&self, images: &[&str]) -> BTreeMap<String, Option<String>> {
        let stored = stored_images();
        images
            .iter()
            .map(|image| {
                let latest = self.latest(image);
                let id = stored.iter().find(|s| s.names.contains(&latest)).map(|s| s.id.clone());
                (image.to_string(), id)
            })
            .collect()
    }

    /// Every name (`name:tag`) in the namespace, with its id.
    pub fn references(&self) -> BTreeMap<String, String> {
        let prefix = format!("{}/", self.namespace);
        stored_images()
            .into_iter()
            .flat_map(|image| {
                let id = image.id;
                image.names.into_iter().filter(|n| n.starts_with(&prefix)).map(move |n| (n, id.clone()))
            })
            .collect()
    }

    /// Remembers the ids of the namespace's images, so that images that lose all their tags later
    /// (rebuilt with `--force`) are removed too.
    pub fn remember_ids(&self) {
        let ids: Vec<String> = self.references().into_values().collect();
        self.known_ids.borrow_mut().extend(ids);
    }

    /// `cargo xtask --namespace NS --cache-dir CACHE ARGS` in `workspace`.
    pub fn xtask(&self, workspace: &Workspace, args: &[&str]) -> Finished {
        self.xtask_with_cache(workspace, &self.cache_dir(), args)
    }

    /// Like [`Session::xtask`], with another cache folder.
    pub fn xtask_with_cache(&self, workspace: &Workspace, cache: &Utf8Path, args: &[&str]) -> Finished {
        let summary = workspace.summary_path();
        let _ = std::fs::remove_file(&summary);
        let mut finished = run(self.command(workspace, cache, args));
        finished.summary_json = std::fs::read_to_string(&summary).ok().map(|text| {
            serde_json::from_str(&text).unwrap_or_else(|error| panic!("{summary} is not JSON: {error}\n{text}"))
        });
        self.remember_ids();
        check_log_paths(workspace, &finished.stdout);
        eprintln!(
            "e2e {}: `xtask {}` exited {:?} in {:.1}s",
            self.name,
            args.join(" "),
            finished.code,
            finished.elapsed.as_secs_f64()
        );
        finished
    }

    /// Like [`Session::xtask`], with extra environment variables.
    pub fn xtask_with_env(&self, workspace: &Workspace, args: &[&str], env: &[(&str, &str)]) -> Finished {
        let summary = workspace.summary_path();
        let _ = std::fs::remove_file(&summary);
        let mut command = self.command(workspace, &self.cache_dir(), args);
        command.envs(env.iter().copied());
        let mut finished = run(command);
        finished.summary_json =
            std::fs::read_to_string(&summary).ok().and_then(|text| serde_json::from_str(&text).ok());
        self.remember_ids();
        finished
    }

    /// Starts `cargo xtask ...` in its own process group, its stdout read line by line as it comes.
    pub fn spawn_xtask(&self, workspace: &Workspace, cache: &Utf8Path, args: &[&str]) -> Streaming {
        self.spawn_xtask_with_env(workspace, cache, args, &[])
    }

    /// Like [`Session::spawn_xtask`], with extra environment variables.
    pub fn spawn_xtask_with_env(
        &self,
        workspace: &Workspace,
        cache: &Utf8Path,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Streaming {
        let mut command = self.command(workspace, cache, args);
        command.envs(env.iter().copied());
        command.process_group(0).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        Streaming::start(command, Some(workspace.summary_path()))
    }

    fn command(&self, workspace: &Workspace, cache: &Utf8Path, args: &[&str]) -> Command {
        let mut all = vec!["--namespace", &self.namespace, "--cache-dir", cache.as_str()];
        all.extend_from_slice(args);
        workspace.xtask_command(&all)
    }

    /// Removes every tag of these images (`buildah rmi` of each reference), children first as given.
    #[track_caller]
    pub fn remove_images(&self, images: &[&str]) {
        self.remember_ids();
        let references = self.references();
        for image in images {
            let prefix = format!("{}/{image}:", self.namespace);
            let names: Vec<&str> =
                references.keys().filter(|name| name.starts_with(&prefix)).map(String::as_str).collect();
            assert!(!names.is_empty(), "no tags of {image} to remove");
            let mut args = vec!["rmi"];
            args.extend(names);
            buildah_ok(&args);
            assert!(self.id(image).is_none(), "{image} is still there after buildah rmi");
        }
    }

    /// Containers in `now` that are not in `before` and belong to this session: made from one of
    /// its images (by name or id). Containers made from the shared rig root are not counted: other
    /// processes on the machine make those too, and no check here runs while a build of this
    /// session starts from the root (rig/base is built first, and checked by its log).
    pub fn new_containers(&self, before: &[ContainerInfo], now: &[ContainerInfo]) -> Vec<ContainerInfo> {
        self.remember_ids();
        let known = self.known_ids.borrow();
        let prefix = format!("{}/", self.namespace);
        now.iter()
            .filter(|container| !before.iter().any(|old| old.id == container.id))
            .filter(|container| container.image_name.starts_with(&prefix) || known.contains(&container.image_id))
            .cloned()
            .collect()
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let known = self.known_ids.borrow().clone();
        let problems = remove_namespace(&self.namespace, &known);
        let panicking = std::thread::panicking();
        eprintln!(
            "e2e {}: {} in {:.1}s{}",
            self.name,
            if panicking { "FAILED" } else { "passed" },
            self.started.elapsed().as_secs_f64(),
            if problems.is_empty() { String::new() } else { format!("; clean-up: {problems:?}") }
        );
    }
}

/// Every `(log PATH)` the tool printed must be under the workspace it ran in: the binary was built
/// from this copy, not from another one sharing the target folder.
#[track_caller]
fn check_log_paths(workspace: &Workspace, stdout: &str) {
    for line in stdout.lines() {
        if let Some((_, rest)) = line.split_once("(log /") {
            let path = format!("/{}", rest.trim_end_matches(')'));
            assert!(
                path.starts_with(workspace.root().as_str()),
                "the tool logged to {path}, outside the workspace it ran in ({}):\n{stdout}",
                workspace.root()
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Streaming

/// A running `cargo xtask` whose stdout lines arrive with the time they were read.
pub struct Streaming {
    child: Option<Child>,
    argv: Vec<String>,
    started: Instant,
    lines: Receiver<(Instant, String)>,
    /// Every stdout line read so far, with when it was read.
    pub seen: Vec<(Instant, String)>,
    stderr: Option<JoinHandle<String>>,
    /// Where the command writes its JSON summary (removed before it starts).
    summary: Option<Utf8PathBuf>,
}

impl Streaming {
    fn start(mut command: Command, summary: Option<Utf8PathBuf>) -> Streaming {
        if let Some(path) = &summary {
            let _ = std::fs::remove_file(path);
        }
        let argv = argv_of(&command);
        let mut child = command.spawn().unwrap_or_else(|error| panic!("cannot start `{}`: {error}", argv.join(" ")));
        let stdout = child.stdout.take().unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send((Instant::now(), line)).is_err() {
                    break;
                }
            }
        });
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        Streaming {
            child: Some(child),
            argv,
            started: Instant::now(),
            lines,
            seen: Vec::new(),
            stderr: Some(stderr),
            summary,
        }
    }

    /// The process (and process group) id.
    pub fn pid(&self) -> i32 {
        self.child.as_ref().unwrap().id() as i32
    }

    /// Reads lines until one satisfies `matches` (returned), the output ends or `timeout` passes.
    pub fn wait_for_line(&mut self, timeout: Duration, matches: impl Fn(&str) -> bool) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok((at, line)) => {
                    eprintln!("  | {line}");
                    self.seen.push((at, line.clone()));
                    if matches(&line) {
                        return Some(line);
                    }
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return None,
            }
        }
    }

    /// Sends `signal` to the whole process group.
    pub fn signal_group(&self, signal: libc::c_int) {
        // SAFETY: kill(2) on our own child's process group.
        let result = unsafe { libc::kill(-self.pid(), signal) };
        assert_eq!(result, 0, "kill(-{}, {signal}) failed: {}", self.pid(), std::io::Error::last_os_error());
    }

    /// Waits for the exit (killing the group after `timeout`), reading the rest of the output.
    /// Returns the result and every stdout line with when it was read.
    pub fn finish(mut self, timeout: Duration) -> (Finished, Vec<(Instant, String)>) {
        let deadline = Instant::now() + timeout;
        let mut child = self.child.take().unwrap();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                // SAFETY: kill(2) on our own child's process group.
                unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
                let _ = child.wait();
                panic!("`{}` did not exit within {timeout:?}; output so far:\n{:#?}", self.argv.join(" "), self.seen);
            }
            while let Ok((at, line)) = self.lines.try_recv() {
                eprintln!("  | {line}");
                self.seen.push((at, line));
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        while let Ok((at, line)) = self.lines.recv_timeout(Duration::from_secs(5)) {
            eprintln!("  | {line}");
            self.seen.push((at, line));
        }
        let stderr = self.stderr.take().unwrap().join().unwrap_or_default();
        let summary_json = self.summary.as_ref().and_then(|path| std::fs::read_to_string(path).ok()).map(|text| {
            serde_json::from_str(&text).unwrap_or_else(|error| panic!("the summary is not JSON: {error}\n{text}"))
        });
        let finished = Finished {
            argv: self.argv.clone(),
            code: status.code(),
            stdout: self.seen.iter().map(|(_, line)| format!("{line}\n")).collect(),
            stderr,
            elapsed: self.started.elapsed(),
            summary_json,
        };
        (finished, std::mem::take(&mut self.seen))
    }

    /// Whether the process still runs.
    pub fn running(&mut self) -> bool {
        self.child.as_mut().is_some_and(|child| child.try_wait().ok().flatten().is_none())
    }

    /// When the first line satisfying `matches` was read.
    pub fn when(&self, matches: impl Fn(&str) -> bool) -> Option<Instant> {
        self.seen.iter().find(|(_, line)| matches(line)).map(|(at, _)| *at)
    }
}

impl Drop for Streaming {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            if child.try_wait().ok().flatten().is_none() {
                // SAFETY: kill(2) on our own child's process group.
                unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
                let _ = child.wait();
            }
        }
    }
}

/// When the first line satisfying `matches` was read.
pub fn line_time(seen: &[(Instant, String)], matches: impl Fn(&str) -> bool) -> Option<Instant> {
    seen.iter().find(|(_, line)| matches(line)).map(|(at, _)| *at)
}

/// Scans every blob of an OCI layout (manifest, config, compressed layers) for any line of
/// `needles_file`, after checking that zgrep does see into the layers (a path every rig image has).
/// Returns zgrep's result: exit status 1 means no needle was found.
#[track_caller]
pub fn scan_oci_layout(layout: &Utf8Path, needles_file: &Utf8Path, what: &str) -> Finished {
    let blobs: Vec<String> = std::fs::read_dir(layout.join("blobs/sha256"))
        .unwrap()
        .map(|entry| entry.unwrap().path().to_string_lossy().into_owned())
        .collect();
    assert!(blobs.len() >= 3, "a manifest, a config and layers: {blobs:?}");
    let mut control = Command::new("zgrep");
    control.args(["-l", "-a", "-F", "usr/share/libgreet/greeting"]).args(&blobs);
    assert_eq!(run(control).code, Some(0), "zgrep does not see into the layers of {what}");
    let mut zgrep = Command::new("zgrep");
    zgrep.args(["-l", "-a", "-F", "-f", needles_file.as_str()]).args(&blobs);
    run(zgrep)
}

/// Files under `paths` containing any line of `needles` (grep -r, fixed strings, binary as text,
/// devices skipped). Panics when grep fails.
#[track_caller]
pub fn grep_files(needles: &Utf8Path, paths: &[&str]) -> Vec<String> {
    let mut command = Command::new("grep");
    command.args(["-r", "-l", "-a", "-F", "-D", "skip", "-f", needles.as_str()]).args(paths);
    let finished = run(command);
    match finished.code {
        Some(0) => finished.stdout.lines().map(str::to_owned).collect(),
        Some(1) => Vec::new(),
        _ => panic!("grep failed:\n{}", finished.describe()),
    }
}

/// Waits until `path` exists (an event a process signals by creating the file).
#[track_caller]
pub fn wait_for_file(path: &Utf8Path, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while !path.exists() {
        assert!(Instant::now() < deadline, "{path} did not appear within {timeout:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

// ---------------------------------------------------------------------------------------------
// Watching buildah

/// A folder with a `buildah` that records every call's argv (NUL-separated, one record a call) in a
/// log, then runs the real buildah: put it first on `PATH` to see exactly what a process ran.
pub struct BuildahRecorder {
    dir: TempDir,
}

impl BuildahRecorder {
    pub fn new() -> BuildahRecorder {
        let real = std::env::var_os("PATH")
            .and_then(|path| std::env::split_paths(&path).map(|dir| dir.join("buildah")).find(|path| path.is_file()))
            .expect("buildah on PATH");
        let dir = tempfile::Builder::new().prefix("buildah-recorder-").tempdir().unwrap();
        // With BUILDAH_PAUSE_ON=<subcommand>, the first such call marks `$BUILDAH_PAUSE_DIR/paused`
        // and waits for a writer on the fifo `$BUILDAH_PAUSE_DIR/go` before it runs: a test stops a
        // build at a known step.
        let script = format!(
            "#!/bin/sh\n\
             log=\"${{BUILDAH_ARGV_LOG:-/dev/null}}\"\n\
             printf '%s\\0' \"$@\" >> \"$log\"\n\
             printf 'END\\0' >> \"$log\"\n\
             if [ -n \"${{BUILDAH_PAUSE_ON:-}}\" ] && [ \"$1\" = \"$BUILDAH_PAUSE_ON\" ] && [ ! -e \"$BUILDAH_PAUSE_DIR/paused\" ]; then\n\
             \x20 : > \"$BUILDAH_PAUSE_DIR/paused\"\n\
             \x20 read -r _ < \"$BUILDAH_PAUSE_DIR/go\"\n\
             fi\n\
             exec '{}' \"$@\"\n",
            real.display()
        );
        let shim = dir.path().join("buildah");
        std::fs::write(&shim, script).unwrap();
        std::fs::set_permissions(&shim, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        BuildahRecorder { dir }
    }

    /// `PATH` with the recorder first.
    pub fn path(&self) -> String {
        format!("{}:{}", self.dir.path().display(), std::env::var("PATH").unwrap_or_default())
    }

    /// A new log file for one process's calls.
    pub fn log(&self, name: &str) -> Utf8PathBuf {
        Utf8PathBuf::from_path_buf(self.dir.path().join(format!("{name}.argv"))).unwrap()
    }

    /// A folder for one pause: `paused` appears when the paused call starts waiting; writing a line
    /// to the fifo `go` lets it run.
    pub fn pause_dir(&self, name: &str) -> Utf8PathBuf {
        let dir = Utf8PathBuf::from_path_buf(self.dir.path().join(format!("pause-{name}"))).unwrap();
        std::fs::create_dir_all(&dir).unwrap();
        let fifo = std::ffi::CString::new(dir.join("go").as_str()).unwrap();
        // SAFETY: mkfifo(3) with a valid C string.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0, "mkfifo: {}", std::io::Error::last_os_error());
        dir
    }

    /// The calls recorded in `log`, each its argv after `buildah`.
    pub fn calls(log: &Utf8Path) -> Vec<Vec<String>> {
        let bytes = std::fs::read(log).unwrap_or_default();
        let mut calls = vec![Vec::new()];
        for field in bytes.split(|&b| b == 0) {
            let field = String::from_utf8_lossy(field).into_owned();
            if field == "END" {
                calls.push(Vec::new());
            } else {
                calls.last_mut().unwrap().push(field);
            }
        }
        calls.pop();
        calls
    }
}

impl Default for BuildahRecorder {
    fn default() -> Self {
        BuildahRecorder::new()
    }
}
