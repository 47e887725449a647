//! What local containers-storage holds: images, their names, labels and files, containers.

#[allow(unused_imports)]
use super::*;

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
/// always removed). Returns the `buildah run` result. When buildah 1.28 fails before the command
/// starts (`sealing memfd copy: Device or resource busy`, under load), it runs once more, as the
/// executor's step runner does: the command never ran.
#[track_caller]
pub fn run_in_image(reference: &str, argv: &[&str]) -> Finished {
    let container = ContainerGuard(buildah_ok(&["from", "--pull=never", "--quiet", reference]));
    let mut args = vec!["run", "--isolation", ISOLATION, &container.0, "--"];
    args.extend_from_slice(argv);
    let finished = buildah(&args);
    if !finished.success() && finished.stderr.contains(BUILDAH_RUN_FLAKE) {
        eprintln!("buildah run failed before the command started ({BUILDAH_RUN_FLAKE}); once more");
        return buildah(&args);
    }
    finished
}

/// What buildah 1.28 prints when a `run` fails before its command starts.
const BUILDAH_RUN_FLAKE: &str = "sealing memfd copy";

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
