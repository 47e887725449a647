//! One end-to-end test: the machine-wide lock, the rig root, a namespace and caches of its own,
//! and the clean-up.

#[allow(unused_imports)]
use super::*;

static SERIAL: Mutex<()> = Mutex::new(());
static RIG_ROOT: OnceLock<String> = OnceLock::new();

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
