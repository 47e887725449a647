//! `cargo xtask binhost sync` end to end: real binary packages built by the rig's portage, published
//! to a folder and to an rsync daemon on loopback while readers check the binhost the way a consumer
//! sees it, build-id collisions between two builders, and a real consumer (a rig build with an empty
//! package cache) installing from nginx serving the published folder.
//!
//! Every server is started by the test on a free 127.0.0.1 port and stopped when it ends. Builds run
//! the real CLI (`cargo xtask`, built into `target/e2e-target` because the outer `cargo test`
//! holds `target/`) with their own settings file: namespace `localhost/e2e-binhost-<pid>/<builder>`, a
//! temporary package cache, and a work folder of their own (build contexts and logs) so that other
//! tests building the same rig images at the same time do not share files with them.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use buildah_gentoo_tests::e2e::{rig_binpkgs, rig_key};
use buildah_gentoo_tests::workspace_root;
use camino::{Utf8Path, Utf8PathBuf};
use tempfile::TempDir;
use xtask::binhost::index::PackageIndex;

// ---------------------------------------------------------------------------------------------
// Builders: the CLI with a settings file of their own.

/// A builder: its own namespace, package cache and work folder; removes its images when dropped.
struct Builder {
    name: String,
    namespace: String,
    cache: Utf8PathBuf,
    settings: Utf8PathBuf,
    work_dir: Utf8PathBuf,
}

impl Builder {
    fn new(temp: &Utf8Path, name: &str, extra_settings: &str) -> Builder {
        let pid = std::process::id();
        let namespace = format!("localhost/e2e-binhost-{pid}/{name}");
        let cache = temp.join(format!("{name}-cache"));
        let work_dir = Utf8PathBuf::from(format!("target/e2e-binhost-{pid}/{name}"));
        let settings = temp.join(format!("{name}.toml"));
        std::fs::write(
            &settings,
            format!(
                "namespace = \"{namespace}\"\ncache-dir = \"{cache}\"\nwork-dir = \"{work_dir}\"\nisolation = \"chroot\"\n{extra_settings}"
            ),
        )
        .unwrap();
        Builder { name: name.to_owned(), namespace, cache, settings, work_dir }
    }

    /// `cargo xtask --settings FILE ARGS...`.
    fn xtask(&self, args: &[&str]) -> Output {
        let cargo = option_env!("CARGO").unwrap_or("cargo");
        let started = Instant::now();
        let output = Command::new(cargo)
            .args(["xtask", "--settings", self.settings.as_str()])
            .args(args)
            .current_dir(workspace_root())
            .env("CARGO_TARGET_DIR", buildah_gentoo_tests::e2e::cargo_target_dir())
            .env("BUILDAH_ISOLATION", "chroot")
            .stdin(Stdio::null())
            .output()
            .expect("cargo runs");
        eprintln!(
            "[{}] cargo xtask {} → {:?} in {:.1}s",
            self.name,
            args.join(" "),
            output.status.code(),
            started.elapsed().as_secs_f64()
        );
        output
    }

    #[track_caller]
    fn xtask_ok(&self, args: &[&str]) -> String {
        let output = self.xtask(args);
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "cargo xtask {} failed ({:?})\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
            args.join(" "),
            output.status.code()
        );
        format!("{stdout}{stderr}")
    }

    fn build(&self, images: &[&str]) {
        self.xtask_ok(&[&["build"], images].concat());
    }

    fn sync(&self, target: &str) -> String {
        self.xtask_ok(&["binhost", "sync", "--to", target])
    }

    fn pkgdir(&self) -> Utf8PathBuf {
        rig_binpkgs(&self.cache)
    }

    fn local_index(&self) -> PackageIndex {
        PackageIndex::parse(&std::fs::read_to_string(self.pkgdir().join("Packages")).unwrap())
    }

    fn log(&self, image: &str) -> String {
        let path = workspace_root().join(&self.work_dir).join("logs").join(format!("{}.log", image.replace('/', "+")));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
    }
}

impl Drop for Builder {
    fn drop(&mut self) {
        let listed = Command::new("buildah").args(["images", "--format", "{{.Name}}:{{.Tag}}"]).output();
        if let Ok(listed) = listed {
            let prefix = format!("{}/", self.namespace);
            let references: Vec<String> = String::from_utf8_lossy(&listed.stdout)
                .lines()
                .filter(|line| line.starts_with(&prefix))
                .map(str::to_owned)
                .collect();
            for reference in references {
                let _ = Command::new("buildah").args(["rmi", "--force", &reference]).output();
            }
        }
        let work_dir = workspace_root().join(&self.work_dir);
        let _ = std::fs::remove_dir_all(&work_dir);
        let _ = std::fs::remove_dir(work_dir.parent().unwrap()); // when the last builder is gone
    }
}

// ---------------------------------------------------------------------------------------------
// Servers on loopback.

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn wait_for_port(port: u16, child: &mut Child, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited with {status} before listening on port {port}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what} did not listen on port {port} within 10 s");
}

/// A server process we started; killed and reaped on drop.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `rsync --daemon` with one writable module `bin` at `module_dir`; returns the server and the URL.
fn rsync_daemon(dir: &Utf8Path, module_dir: &Utf8Path) -> (Server, String) {
    let port = free_port();
    let config = dir.join("rsyncd.conf");
    std::fs::create_dir_all(module_dir).unwrap();
    std::fs::write(
        &config,
        format!(
            "use chroot = no\nuid = 0\ngid = 0\npid file = {dir}/rsyncd.pid\nlog file = {dir}/rsyncd.log\n\n\
             [bin]\npath = {module_dir}\nread only = no\n"
        ),
    )
    .unwrap();
    let mut child = Command::new("rsync")
        .args([
            "--daemon",
            "--no-detach",
            &format!("--config={config}"),
            &format!("--port={port}"),
            "--address=127.0.0.1",
        ])
        .stdin(Stdio::null())
        .spawn()
        .expect("rsync is installed (Debian package rsync)");
    wait_for_port(port, &mut child, "rsync --daemon");
    (Server(child), format!("rsync://127.0.0.1:{port}/bin"))
}

/// nginx serving `root` on 127.0.0.1; returns the server, its port and its access log.
fn nginx(dir: &Utf8Path, root: &Utf8Path) -> (Server, u16, Utf8PathBuf) {
    let port = free_port();
    let prefix = dir.join("nginx");
    std::fs::create_dir_all(prefix.join("logs")).unwrap();
    let access_log = prefix.join("logs/access.log");
    let config = prefix.join("nginx.conf");
    std::fs::write(
        &config,
        format!(
            "daemon off;\nmaster_process off;\nuser root root;\npid {prefix}/nginx.pid;\nerror_log {prefix}/logs/error.log;\n\
             events {{ worker_connections 64; }}\n\
             http {{\n  access_log {access_log};\n  client_body_temp_path {prefix}/body;\n  proxy_temp_path {prefix}/proxy;\n  \
             server {{\n    listen 127.0.0.1:{port};\n    root {root};\n  }}\n}}\n"
        ),
    )
    .unwrap();
    let mut child = Command::new("nginx")
        .args(["-c", config.as_str(), "-p", prefix.as_str()])
        .stdin(Stdio::null())
        .spawn()
        .expect("nginx is installed (Debian package nginx-light)");
    wait_for_port(port, &mut child, "nginx");
    (Server(child), port, access_log)
}

// ---------------------------------------------------------------------------------------------
// A consumer's view of a package folder.

/// What a reader saw.
#[derive(Debug, Default)]
struct Seen {
    reads: usize,
    gz_reads: usize,
    /// `PACKAGES:` values of the complete indexes read.
    versions: BTreeSet<usize>,
    problems: Vec<String>,
}

/// Checks one index text against the folder: complete (`PACKAGES:` = number of entries), every
/// entry's file there with its `SIZE`. Parsed here by hand, not with the code under test.
fn check_index(dir: &Utf8Path, text: &str) -> Result<(usize, u64), String> {
    if !text.ends_with("\n\n") {
        return Err(format!("index does not end with a blank line ({} bytes)", text.len()));
    }
    let mut blocks = text.split("\n\n").filter(|block| !block.is_empty());
    let header = blocks.next().ok_or("empty index")?;
    let field = |block: &str, key: &str| {
        block
            .lines()
            .find_map(|line| line.strip_prefix(key).and_then(|rest| rest.strip_prefix(": ")).map(str::to_owned))
    };
    let count: usize = field(header, "PACKAGES").ok_or("no PACKAGES")?.parse().map_err(|_| "bad PACKAGES")?;
    let timestamp: u64 = field(header, "TIMESTAMP").ok_or("no TIMESTAMP")?.parse().map_err(|_| "bad TIMESTAMP")?;
    let mut entries = 0;
    for block in blocks {
        entries += 1;
        let path = field(block, "PATH").ok_or_else(|| format!("entry without PATH: {block}"))?;
        let size: u64 = field(block, "SIZE").ok_or("entry without SIZE")?.parse().map_err(|_| "bad SIZE")?;
        match std::fs::metadata(dir.join(&path)) {
            Ok(meta) if meta.len() == size => {}
            Ok(meta) => return Err(format!("{path}: {} bytes, the index says {size}", meta.len())),
            Err(e) => return Err(format!("{path} is listed but not readable: {e}")),
        }
    }
    if entries != count {
        return Err(format!("PACKAGES: {count} but {entries} entries"));
    }
    Ok((count, timestamp))
}

/// A thread reading `dir/Packages` (and every few rounds `dir/Packages.gz`, which portage fetches
/// first) as fast as it can until stopped, checking each index it reads.
struct Reader {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<Seen>,
}

impl Reader {
    fn start(dir: Utf8PathBuf) -> Reader {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            let mut seen = Seen::default();
            let mut last_timestamp = 0;
            let mut round = 0usize;
            while !flag.load(Ordering::Relaxed) {
                round += 1;
                let gz = round.is_multiple_of(4);
                let text = if gz {
                    let path = dir.join("Packages.gz");
                    if !path.exists() {
                        continue;
                    }
                    let out = Command::new("gzip").args(["-dc", path.as_str()]).output().unwrap();
                    if !out.status.success() {
                        seen.problems.push(format!("Packages.gz unreadable: {}", String::from_utf8_lossy(&out.stderr)));
                        continue;
                    }
                    seen.gz_reads += 1;
                    String::from_utf8(out.stdout).unwrap()
                } else {
                    match std::fs::read_to_string(dir.join("Packages")) {
                        Ok(text) => text,
                        Err(_) => continue, // not published yet
                    }
                };
                seen.reads += 1;
                match check_index(&dir, &text) {
                    Ok((count, timestamp)) => {
                        seen.versions.insert(count);
                        if !gz && timestamp < last_timestamp {
                            seen.problems.push(format!("TIMESTAMP went back from {last_timestamp} to {timestamp}"));
                        }
                        if !gz {
                            last_timestamp = timestamp;
                        }
                    }
                    Err(problem) => {
                        // Each distinct problem once (a file caught while it is created reads empty many
                        // times), at most 20 of them.
                        let problem = format!("{}: {problem}", if gz { "Packages.gz" } else { "Packages" });
                        if seen.problems.len() < 20 && !seen.problems.contains(&problem) {
                            seen.problems.push(problem);
                        }
                    }
                }
            }
            seen
        });
        Reader { stop, handle }
    }

    fn finish(self) -> Seen {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().expect("reader thread")
    }
}

// ---------------------------------------------------------------------------------------------
// Checks of a published folder.

/// Reads an index with portage itself (`portage.getbinpkg.PackageIndex`, what consumers use) and
/// returns (PACKAGES header, number of entries, paths).
fn portage_reads(path: &Utf8Path) -> (String, usize, Vec<String>) {
    let python = std::env::var("PORTAGE_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let script = "import sys\nfrom portage.getbinpkg import PackageIndex\n\
                  index = PackageIndex(translated_keys=(('DESCRIPTION', 'DESC'), ('_mtime_', 'MTIME'), ('repository', 'REPO')))\n\
                  index.read(open(sys.argv[1], encoding='utf-8'))\n\
                  print(index.header.get('PACKAGES'))\nprint(len(index.packages))\n\
                  [print(p['PATH']) for p in index.packages]\n";
    let out = Command::new(&python).args(["-c", script, path.as_str()]).output().expect("python runs");
    assert!(out.status.success(), "portage could not read {path}: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines().map(str::to_owned);
    let header = lines.next().unwrap();
    let count = lines.next().unwrap().parse().unwrap();
    (header, count, lines.collect())
}

fn gunzip(path: &Utf8Path) -> String {
    let out = Command::new("gzip").args(["-dc", path.as_str()]).output().unwrap();
    assert!(out.status.success(), "gzip -dc {path}");
    String::from_utf8(out.stdout).unwrap()
}

/// The published folder holds exactly `expected` (binhost path → bytes), and its index (both files,
/// same text) lists exactly them, as portage reads it.
#[track_caller]
fn assert_published(dir: &Utf8Path, expected: &BTreeMap<String, Vec<u8>>) {
    let text = std::fs::read_to_string(dir.join("Packages")).unwrap();
    assert_eq!(gunzip(&dir.join("Packages.gz")), text, "Packages.gz says the same as Packages");
    check_index(dir, &text).unwrap_or_else(|problem| panic!("{dir}/Packages: {problem}\n{text}"));
    let (header, count, mut paths) = portage_reads(&dir.join("Packages"));
    paths.sort();
    assert_eq!(header, expected.len().to_string());
    assert_eq!(count, expected.len());
    assert_eq!(paths, expected.keys().cloned().collect::<Vec<_>>(), "{text}");
    for (path, bytes) in expected {
        let published = std::fs::read(dir.join(path)).unwrap();
        assert!(published == *bytes, "{dir}/{path} is not the expected package");
    }
}

/// A builder's packages: local path → bytes.
fn local_packages(builder: &Builder) -> BTreeMap<String, Vec<u8>> {
    builder
        .local_index()
        .packages
        .iter()
        .map(|entry| {
            let path = entry["PATH"].clone();
            let bytes = std::fs::read(builder.pkgdir().join(&path)).unwrap();
            (path, bytes)
        })
        .collect()
}

fn temp_dir() -> (TempDir, Utf8PathBuf) {
    let temp = tempfile::Builder::new().prefix("e2e-binhost-").tempdir().unwrap();
    let path = Utf8PathBuf::from_path_buf(temp.path().to_owned()).unwrap();
    (temp, path)
}

// ---------------------------------------------------------------------------------------------
// The tests.

/// Two rounds of packages from one builder, each synced to a folder and to an rsync daemon while a
/// reader on each binhost checks every index it reads: never a listed package missing, never a
/// partial index, TIMESTAMP never going back.
#[test]
fn sync_never_shows_a_package_before_it_is_there() {
    let started = Instant::now();
    let (_temp, temp) = temp_dir();
    let builder = Builder::new(&temp, "publisher", "");
    let folder = temp.join("binhost-folder");
    let module = temp.join("rsync-module");
    let (_rsyncd, rsync_url) = rsync_daemon(&temp, &module);
    let folder_target = folder.as_str().to_owned();
    let rsync_target = format!("{rsync_url}/pub");

    builder.build(&["rig/alpha", "rig/hello"]);
    let key = rig_key(&builder.cache);
    let first_round = local_packages(&builder);
    assert_eq!(first_round.len(), 3, "libgreet, alpha, hello: {:?}", first_round.keys());

    // Readers run while the syncs do (not during the builds: they spin).
    let readers = [Reader::start(folder.join(&key)), Reader::start(module.join("pub").join(&key))];
    let out = builder.sync(&folder_target);
    assert!(out.contains("3 new, 0 already there, 3 in the new index"), "{out}");
    let out = builder.sync(&rsync_target);
    assert!(out.contains("3 new, 0 already there, 3 in the new index"), "{out}");
    assert!(out.contains("--ignore-existing") && out.contains("--delay-updates"), "rsync commands are printed: {out}");
    let first_seen = readers.map(Reader::finish);
    assert_published(&folder.join(&key), &first_round);
    assert_published(&module.join("pub").join(&key), &first_round);
    let first_index = std::fs::read_to_string(folder.join(&key).join("Packages")).unwrap();

    // Nothing new: nothing uploaded and the index left alone (consumers keep their cached copy).
    let out = builder.sync(&folder_target);
    assert!(out.contains("0 new, 3 already there, 3 in the unchanged index"), "{out}");
    assert_eq!(std::fs::read_to_string(folder.join(&key).join("Packages")).unwrap(), first_index);

    builder.build(&["rig/greeter", "rig/beta"]);
    let second_round = local_packages(&builder);
    assert_eq!(second_round.len(), 6, "+ buildtool, greeter, beta: {:?}", second_round.keys());

    let readers = [Reader::start(folder.join(&key)), Reader::start(module.join("pub").join(&key))];
    std::thread::sleep(Duration::from_millis(50));
    let out = builder.sync(&folder_target);
    assert!(out.contains("3 new, 3 already there, 6 in the new index"), "{out}");
    let out = builder.sync(&rsync_target);
    assert!(out.contains("3 new, 3 already there, 6 in the new index"), "{out}");
    std::thread::sleep(Duration::from_millis(50));
    let second_seen = readers.map(Reader::finish);

    for (what, first, second) in
        [("folder", &first_seen[0], &second_seen[0]), ("rsync", &first_seen[1], &second_seen[1])]
    {
        eprintln!("{what} reader: during the first syncs {first:?}, during the second {second:?}");
        let problems: Vec<&String> = first.problems.iter().chain(&second.problems).collect();
        assert!(problems.is_empty(), "the {what} binhost showed an inconsistent index: {problems:#?}");
        assert!(
            first.reads + second.reads >= 200 && first.gz_reads + second.gz_reads >= 50,
            "the {what} reader read too little"
        );
        assert_eq!(first.versions, BTreeSet::from([3]), "{what}: the first index, once published");
        assert_eq!(second.versions, BTreeSet::from([3, 6]), "{what}: the old index, then the new one");
    }
    assert_published(&folder.join(&key), &second_round);
    assert_published(&module.join("pub").join(&key), &second_round);
    let second = PackageIndex::parse(&std::fs::read_to_string(folder.join(&key).join("Packages")).unwrap());
    let first = PackageIndex::parse(&first_index);
    assert!(second.timestamp() > first.timestamp(), "TIMESTAMP moves forward so consumers refetch");

    // The reader does catch the failure this design avoids: the old rsync.sh order (index first).
    let naive = temp.join("naive");
    std::fs::create_dir_all(&naive).unwrap();
    let naive_reader = Reader::start(naive.clone());
    std::fs::copy(builder.pkgdir().join("Packages"), naive.join("Packages")).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    for path in second_round.keys() {
        std::fs::create_dir_all(naive.join(path).parent().unwrap()).unwrap();
        std::fs::copy(builder.pkgdir().join(path), naive.join(path)).unwrap();
    }
    let naive_seen = naive_reader.finish();
    assert!(
        naive_seen.problems.iter().any(|problem| problem.contains("is listed but not readable")),
        "an index published before its packages is caught: {naive_seen:?}"
    );
    eprintln!("sync_never_shows_a_package_before_it_is_there: {:.1}s", started.elapsed().as_secs_f64());
}

/// Two builders with different packages under the same names (`hello-1-1`, `libgreet-1-1`) publish
/// to one binhost: nothing is overwritten, the second builder's packages get build id 2, the index
/// lists all four; then a build with an empty package cache installs from nginx serving the folder;
/// then both publish to another rsync folder at the same time, and the index lists all six.
#[test]
fn colliding_build_ids_are_renamed_not_overwritten() {
    let started = Instant::now();
    let (_temp, temp) = temp_dir();
    let one = Builder::new(&temp, "builder-one", "");
    let two = Builder::new(&temp, "builder-two", "");
    let folder = temp.join("binhost");
    let module = temp.join("rsync-module");
    let (_rsyncd, rsync_url) = rsync_daemon(&temp, &module);
    one.build(&["rig/hello"]);
    two.build(&["rig/hello"]);
    let key = rig_key(&one.cache);
    assert_eq!(rig_key(&two.cache), key, "the same flags, the same folder name");
    let targets = [(folder.as_str().to_owned(), folder.join(&key)), (rsync_url.clone(), module.join(&key))];
    let ones = local_packages(&one);
    let twos = local_packages(&two);
    let names: Vec<&String> = ones.keys().collect();
    assert_eq!(names, vec!["app-misc/hello/hello-1-1.gpkg.tar", "dev-libs/libgreet/libgreet-1-1.gpkg.tar"]);
    assert_eq!(twos.keys().collect::<Vec<_>>(), names, "the same names on both builders");
    for name in &names {
        assert!(ones[*name] != twos[*name], "{name}: the two builds differ (build time)");
    }

    for (target, _) in &targets {
        let out = one.sync(target);
        assert!(out.contains("2 new, 0 already there, 2 in the new index"), "{out}");
        let out = two.sync(target);
        assert!(out.contains("2 new, 0 already there, 4 in the new index"), "{out}");
        assert!(
            out.contains("uploaded app-misc/hello/hello-1-1.gpkg.tar as app-misc/hello/hello-1-2.gpkg.tar"),
            "{out}"
        );
    }

    let mut expected: BTreeMap<String, Vec<u8>> = ones.clone();
    for (path, bytes) in &twos {
        expected.insert(path.replace("-1-1.gpkg.tar", "-1-2.gpkg.tar"), bytes.clone());
    }
    let two_index = two.local_index();
    for (_, dir) in &targets {
        assert_published(dir, &expected);
        let index = PackageIndex::parse(&std::fs::read_to_string(dir.join("Packages")).unwrap());
        for theirs in &two_index.packages {
            let renamed = theirs["PATH"].replace("-1-1.gpkg.tar", "-1-2.gpkg.tar");
            let entry = index.packages.iter().find(|entry| entry["PATH"] == renamed).expect("renamed entry");
            assert_eq!(entry["BUILD_ID"], "2");
            assert_eq!(entry["CPV"], theirs["CPV"]);
            for key in ["SHA1", "MD5", "SIZE", "BUILD_TIME"] {
                assert_eq!(entry[key], theirs[key], "{renamed}: {key} is builder two's");
            }
        }
        for ours in &one.local_index().packages {
            let entry = index.packages.iter().find(|entry| entry["PATH"] == ours["PATH"]).expect("kept entry");
            assert_eq!(entry["BUILD_ID"], "1");
            assert_eq!(entry["SHA1"], ours["SHA1"]);
        }
    }

    // Syncing again finds everything, renamed packages included.
    for (target, _) in &targets {
        for builder in [&one, &two] {
            let out = builder.sync(target);
            assert!(out.contains("0 new, 2 already there, 4 in the unchanged index"), "{out}");
        }
    }
    for (_, dir) in &targets {
        assert_published(dir, &expected);
    }

    // A consumer: nginx serves the folder, a build with an empty cache gets its packages from it.
    let (_nginx, port, access_log) = nginx(&temp, &folder);
    let consumer = Builder::new(
        &temp,
        "consumer",
        &format!("\n[[binhost]]\nname = \"e2e\"\nuri = \"http://127.0.0.1:{port}\"\nverify-signature = false\n"),
    );
    consumer.build(&["rig/hello"]);
    let log = format!("{}\n{}", consumer.log("rig/base"), consumer.log("rig/hello"));
    for cpv in ["dev-libs/libgreet-1", "app-misc/hello-1"] {
        assert!(log.contains(&format!(">>> Emerging binary (1 of 1) {cpv}::gentoo")), "{cpv} from the binhost:\n{log}");
    }
    for line in log.lines().filter(|line| line.contains("mismatch") || line.contains("Emerging binary")) {
        eprintln!("consumer: {line}");
    }
    let access = std::fs::read_to_string(&access_log).unwrap();
    eprintln!("nginx access log:\n{access}");
    assert!(access.contains(&format!("\"GET /{key}/Packages.gz HTTP/1.1\" 200")), "{access}");
    let fetched: Vec<&str> = access
        .lines()
        .filter(|line| line.contains(".gpkg.tar HTTP/1.1\" 200"))
        .filter_map(|line| line.split(&format!("GET /{key}/")).nth(1)?.split(' ').next())
        .collect();
    assert_eq!(fetched.len(), 2, "two packages fetched: {access}");
    for path in &fetched {
        assert!(expected.contains_key(*path), "{path} is a published package");
    }
    assert!(
        fetched.iter().any(|path| path.ends_with("-1-2.gpkg.tar")),
        "the newest instances, published under a new build id, install: {fetched:?}"
    );

    // Two publishers at once on one rsync binhost (each with a package of its own and the two
    // colliding names): no lock, and still no package lost, every entry listed exactly once.
    one.build(&["rig/alpha"]);
    two.build(&["rig/beta"]);
    let concurrent = format!("{rsync_url}/concurrent");
    let outputs: Vec<String> = std::thread::scope(|scope| {
        let handles = [&one, &two].map(|builder| scope.spawn(|| builder.sync(&concurrent)));
        handles.map(|handle| handle.join().expect("a sync thread")).to_vec()
    });
    let dir = module.join("concurrent").join(&key);
    let text = std::fs::read_to_string(dir.join("Packages")).unwrap();
    check_index(&dir, &text).unwrap_or_else(|problem| panic!("{problem}\n{text}\n{outputs:#?}"));
    let (header, count, paths) = portage_reads(&dir.join("Packages"));
    let unique: BTreeSet<&String> = paths.iter().collect();
    assert_eq!(unique.len(), paths.len(), "an entry listed twice:\n{text}");
    assert_eq!((header, count), ("6".to_owned(), 6), "hello and libgreet twice, alpha, beta:\n{text}\n{outputs:#?}");
    let mut published: Vec<Vec<u8>> = paths.iter().map(|path| std::fs::read(dir.join(path)).unwrap()).collect();
    published.sort();
    let mut built: Vec<Vec<u8>> =
        local_packages(&one).into_values().chain(local_packages(&two).into_values()).collect();
    built.sort();
    assert!(published == built, "every package of both builders is published once, under some name");
    eprintln!("colliding_build_ids_are_renamed_not_overwritten: {:.1}s", started.elapsed().as_secs_f64());
}
