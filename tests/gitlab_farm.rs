//! The generated GitLab pipeline, run for real by gitlab-ci-local (its shell executor, jobs isolated
//! in their own copy of the checkout, two at a time), as a CI farm would run it: every job has its
//! own containers-storage (`CONTAINERS_STORAGE_CONF`, graph root under the job's folder) and its own
//! binary package cache, so nothing passes between jobs but the registry (TLS, with a password, on
//! loopback) and the binhost (nginx serving the folder the jobs publish to). The pipeline's images:
//! rig/base → rig/hello → rig/greeter, and rig/alpha beside rig/hello.
//!
//! Scenarios: a cold pipeline builds and pushes every image, children from parents pulled from the
//! registry; a second run finds every image up to date in the registry and moves nothing; a changed
//! leaf rebuilds alone, compiling nothing (its packages come from the binhost); a changed parent
//! rebuilds with its descendants; a failing job stops its descendants and only them.
//!
//! The cold and no-op runs print bench figure 6 (see BENCHMARKS.md).
//!
//! Run with `BUILDAH_ISOLATION=chroot cargo xtask test -- --test gitlab_farm`.

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use buildah_gentoo_tests::e2e::*;
use buildah_gentoo_tests::servers::{auth_json, Certificates, Nginx, Registry, RegistryOptions};
use buildah_gentoo_tests::workspace_root;
use camino::{Utf8Path, Utf8PathBuf};
use serde_json::Value;

const HELLO_RS: &str = "image-defs/src/images/rig/hello.rs";
const GREETER_RS: &str = "image-defs/src/images/rig/greeter.rs";
/// The image jobs of the pipeline, by job name, and their parents' jobs.
const IMAGE_JOBS: [(&str, &str); 4] =
    [("rig-base", "root-rig"), ("rig-hello", "rig-base"), ("rig-greeter", "rig-hello"), ("rig-alpha", "rig-base")];
/// The registry's password, which must show nowhere.
const PASSWORD: &str = "farm-secret-7c1d";

/// What a runner adds to every job (GitLab: the runner's `pre_build_script`): its own storage and
/// package cache, in the run's folder.
const RUNNER_SETUP: &str = r#"job="$FARM/$CI_JOB_NAME"
mkdir -p "$job/cache"
printf '[storage]\ndriver = "overlay"\ngraphroot = "%s"\nrunroot = "%s"\n' "$job/graph" "$job/run" > "$job/storage.conf"
export CONTAINERS_STORAGE_CONF="$job/storage.conf" BUILDAH_GENTOO_CACHE_DIR="$job/cache"
"#;

/// The file gitlab-ci-local runs: the generated pipeline, and the runner's set-up before each job.
const FARM_FILE: &str = "farm.gitlab-ci.yml";
const FARM_YAML: &str =
    "include:\n  - local: .gitlab-ci.yml\ndefault:\n  before_script:\n    - . \"$FARM/runner-setup.sh\"\n";

struct Farm {
    session: Session,
    ws: Workspace,
    registry: Registry,
    nginx: Nginx,
    certs_d: Utf8PathBuf,
    authfile: Utf8PathBuf,
    binhost: Utf8PathBuf,
    dir: Utf8PathBuf,
    gitlab_ci_local: String,
    runs: Cell<u32>,
    _temp: tempfile::TempDir,
}

/// One run of the pipeline.
struct Run {
    succeeded: bool,
    /// gitlab-ci-local's output.
    output: String,
    /// Each job's `logs/ci/<job>.json`, from its artifacts, by job name.
    reports: BTreeMap<String, Value>,
    /// Each job's own folder (storage, cache), by job name.
    jobs_dir: Utf8PathBuf,
    artifacts: Utf8PathBuf,
}

impl Run {
    #[track_caller]
    fn report(&self, job: &str) -> &Value {
        self.reports.get(job).unwrap_or_else(|| panic!("no report of job {job}:\n{}", self.output))
    }

    #[track_caller]
    fn status(&self, job: &str) -> &str {
        self.report(job)["status"].as_str().unwrap()
    }

    /// What emerge merged in `job`'s build of `image`, from the log its artifacts kept.
    fn emerged(&self, job: &str, image: &str) -> Emerged {
        let log = self
            .artifacts
            .join(job)
            .join("target/buildah-gentoo/logs")
            .join(format!("{}.log", image.replace('/', "+")));
        Emerged::parse(&std::fs::read_to_string(&log).unwrap_or_else(|error| panic!("reading {log}: {error}")))
    }

    /// The images and containers in `job`'s storage.
    fn storage_of(&self, job: &str) -> (Vec<Value>, Vec<Value>) {
        let conf = self.jobs_dir.join(job).join("storage.conf");
        let list = |args: &[&str]| -> Vec<Value> {
            let output = Command::new("buildah").args(args).env("CONTAINERS_STORAGE_CONF", &conf).output().unwrap();
            assert!(output.status.success(), "buildah {args:?}: {}", String::from_utf8_lossy(&output.stderr));
            let text = String::from_utf8_lossy(&output.stdout);
            if text.trim().is_empty() || text.trim() == "null" {
                return Vec::new();
            }
            serde_json::from_str(&text).unwrap()
        };
        (list(&["images", "--json"]), list(&["containers", "--json"]))
    }
}

impl Farm {
    fn start() -> Farm {
        let gitlab_ci_local = std::env::var("GITLAB_CI_LOCAL")
            .expect("GITLAB_CI_LOCAL is unset: run the suite with `cargo xtask test`, which installs gitlab-ci-local");
        let session = Session::start("gitlab-farm");
        let ws = Workspace::copy();
        let temp = tempfile::Builder::new().prefix("e2e-gitlab-farm-").tempdir().unwrap();
        let dir = Utf8PathBuf::from_path_buf(temp.path().to_owned()).unwrap();
        let certificates = Certificates::make(&dir.join("pki"));
        let credentials = Some(("farm".to_owned(), PASSWORD.to_owned()));
        let registry = Registry::start(
            &dir.join("registry"),
            &certificates,
            &RegistryOptions { credentials, ..Default::default() },
        );
        let certs_d = dir.join("certs.d");
        certificates.certs_d(&certs_d, &registry.host, true, false);
        let authfile = dir.join("auth.json");
        std::fs::write(&authfile, auth_json(&registry.host, "farm", PASSWORD)).unwrap();
        let binhost = dir.join("binhost");
        std::fs::create_dir_all(&binhost).unwrap();
        let nginx = Nginx::start_http(&dir.join("nginx"), &binhost);
        // Every job fetches from the binhost the jobs publish to, as the checkout's settings say.
        std::fs::write(
            ws.root().join(xtask::settings::SETTINGS_FILE),
            format!(
                "[[binhost]]\nname = \"farm\"\nuri = \"http://127.0.0.1:{}\"\nverify-signature = false\n",
                nginx.port
            ),
        )
        .unwrap();
        Farm {
            session,
            ws,
            registry,
            nginx,
            certs_d,
            authfile,
            binhost,
            dir,
            gitlab_ci_local,
            runs: Cell::new(0),
            _temp: temp,
        }
    }

    /// The tool's flags for the farm's registry.
    fn registry_flags(&self) -> Vec<String> {
        ["--registry", &self.registry.host, "--certs-dir", self.certs_d.as_str(), "--authfile", self.authfile.as_str()]
            .map(str::to_owned)
            .to_vec()
    }

    /// Runs the pipeline in gitlab-ci-local, in fresh job folders (fresh runners).
    fn run(&self) -> Run {
        let number = self.runs.get() + 1;
        self.runs.set(number);
        let jobs_dir = self.dir.join(format!("run-{number}"));
        std::fs::create_dir_all(&jobs_dir).unwrap();
        std::fs::write(jobs_dir.join("runner-setup.sh"), RUNNER_SETUP).unwrap();
        let state = self.ws.root().join(".gitlab-ci-local");
        let artifacts = state.join("artifacts");
        let _ = std::fs::remove_dir_all(&artifacts);
        let variables = [
            ("FARM", jobs_dir.to_string()),
            ("BUILDAH_GENTOO_REGISTRY", self.registry.host.clone()),
            ("BUILDAH_GENTOO_NAMESPACE", self.session.namespace.clone()),
            ("BUILDAH_GENTOO_CERTS_DIR", self.certs_d.to_string()),
            ("BUILDAH_GENTOO_BINHOST_PUBLISH", self.binhost.to_string()),
            ("REGISTRY_AUTH_FILE", self.authfile.to_string()),
            // The driver job's build folder, kept between runs as a runner's cache would keep it, and
            // the release build unoptimised: the test is of the jobs, not of the compiler (a clean
            // build takes about a minute instead of three on two cores).
            ("CARGO_TARGET_DIR", workspace_root().join("target/e2e-farm-driver").to_string()),
            ("CARGO_PROFILE_RELEASE_OPT_LEVEL", "0".to_owned()),
        ];
        let mut command = Command::new(&self.gitlab_ci_local);
        command
            .args(["--file", FARM_FILE, "--shell-isolation", "--concurrency", "2", "--no-color"])
            .current_dir(self.ws.root())
            .env("BUILDAH_ISOLATION", ISOLATION)
            .env("CARGO_TERM_COLOR", "never");
        for (name, value) in &variables {
            command.arg("--variable").arg(format!("{name}={value}"));
        }
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("BUILDAH_GENTOO_") {
                command.env_remove(key);
            }
        }
        let started = std::time::Instant::now();
        let output = command.output().unwrap_or_else(|error| panic!("starting {}: {error}", self.gitlab_ci_local));
        let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        let log = self.dir.join(format!("run-{number}.log"));
        std::fs::write(&log, &text).unwrap();
        eprintln!(
            "e2e gitlab-farm: pipeline run {number} {} in {:.1}s (output {log})",
            if output.status.success() { "passed" } else { "failed" },
            started.elapsed().as_secs_f64()
        );
        let mut reports = BTreeMap::new();
        for job in artifacts.read_dir_utf8().into_iter().flatten().flatten() {
            let name = job.file_name().to_owned();
            let path = job.path().join(format!("target/buildah-gentoo/logs/ci/{name}.json"));
            if let Ok(text) = std::fs::read_to_string(&path) {
                let report: Value =
                    serde_json::from_str(&text).unwrap_or_else(|error| panic!("{path} is not JSON ({error}):\n{text}"));
                reports.insert(name, report);
            }
        }
        Run { succeeded: output.status.success(), output: text, reports, jobs_dir, artifacts }
    }

    /// The binhost's index of the rig's packages: each CPV it lists, with how often.
    fn binhost_index(&self) -> BTreeMap<String, usize> {
        let keys: Vec<Utf8PathBuf> = self
            .binhost
            .read_dir_utf8()
            .unwrap()
            .flatten()
            .filter(|entry| entry.file_name().starts_with("rig-"))
            .map(|entry| entry.path().to_owned())
            .collect();
        assert_eq!(keys.len(), 1, "one package folder for the rig's flags: {keys:?}");
        let index = std::fs::read_to_string(keys[0].join("Packages")).unwrap();
        let mut counts = BTreeMap::new();
        for line in index.lines() {
            if let Some(cpv) = line.strip_prefix("CPV: ") {
                *counts.entry(cpv.to_owned()).or_insert(0) += 1;
            }
        }
        counts
    }
}

#[test]
fn the_pipeline_runs_on_gitlab_ci_local_with_the_registry_and_binhost_as_the_only_shared_state() {
    let farm = Farm::start();
    let ws = &farm.ws;

    // The rig root stands in for a stage3 on the registry: `ci rig-root` puts it there from this
    // machine's storage (a pipeline's root job then finds it up to date).
    let mut args: Vec<String> = farm.registry_flags();
    args.extend(["ci", "rig-root"].map(str::to_owned));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let pushed = farm.session.xtask(ws, &args);
    pushed.expect_success();
    let root_report: Value = serde_json::from_str(
        &std::fs::read_to_string(ws.root().join("target/buildah-gentoo/logs/ci/root-rig.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(root_report["status"], "pushed", "{root_report:#}");

    let generated = farm.session.xtask(ws, &["ci", "gitlab", "rig/greeter", "rig/alpha", "--output", ".gitlab-ci.yml"]);
    generated.expect_success();
    std::fs::write(ws.root().join(FARM_FILE), FARM_YAML).unwrap();
    git(ws.root(), &["init", "-q"]);
    git(ws.root(), &["add", "-A"]);
    git(ws.root(), &["-c", "user.name=e2e", "-c", "user.email=e2e@example.invalid", "commit", "-q", "-m", "farm"]);

    // Cold: every image builds and goes up; each child starts from its parent pulled by its tag.
    let cold = farm.run();
    assert!(cold.succeeded, "{}", cold.output);
    assert_eq!(cold.status("root-rig"), "up to date (registry)");
    for (job, parent) in IMAGE_JOBS {
        let report = cold.report(job);
        assert_eq!(report["status"], "built", "{job}: {report:#}");
        let pulled = strings(&report["pulled"]);
        assert_eq!(pulled.len(), 1, "{job} pulls what it starts from, once: {report:#}");
        let expected = match parent {
            "root-rig" => "/rig-root:".to_owned(),
            parent => {
                let image = parent.replacen('-', "/", 1);
                format!("/{image}:inputs-{}", cold.report(parent)["input_hash"].as_str().unwrap())
            }
        };
        assert!(pulled[0].contains(&expected), "{job} pulls {expected}: {report:#}");
        assert!(strings(&report["pushed"]).iter().any(|r| r.contains("@sha256:")), "{job}: {report:#}");
    }
    // rig/hello and rig/alpha ran at once and published at once: the index lists every package once.
    let index = farm.binhost_index();
    for cpv in ["app-misc/hello-1", "app-misc/greeter-1", "app-misc/alpha-1", "dev-libs/libgreet-1"] {
        assert_eq!(index.get(cpv), Some(&1), "{cpv} once in the binhost's index: {index:?}");
    }
    assert!(index.values().all(|count| *count == 1), "{index:?}");

    // Nothing changed: every job is up to date after asking the registry; no layer moves, no
    // container is made (each job's storage stays empty).
    let noop = farm.run();
    assert!(noop.succeeded, "{}", noop.output);
    let mut queries = 0;
    for (job, _) in IMAGE_JOBS {
        let report = noop.report(job);
        assert_eq!(report["status"], "up to date (registry)", "{job}: {report:#}");
        assert_eq!(report["input_hash"], cold.report(job)["input_hash"], "{job}");
        assert!(strings(&report["pulled"]).is_empty(), "{job}: {report:#}");
        let (images, containers) = noop.storage_of(job);
        assert!(images.is_empty() && containers.is_empty(), "{job}'s storage: {images:?} {containers:?}");
        queries += report["registry_queries"].as_u64().unwrap();
    }
    figure_6(&cold, &noop, queries);

    // A changed leaf: only its job builds, on a runner with an empty cache: nothing compiles.
    ws.edit(GREETER_RS, "        test: Some(", "        env: &[(\"FARM\", \"changed\")],\n        test: Some(");
    let leaf = farm.run();
    assert!(leaf.succeeded, "{}", leaf.output);
    assert_eq!(built(&leaf), ["rig-greeter"]);
    let emerged = leaf.emerged("rig-greeter", "rig/greeter");
    assert!(emerged.source.is_empty(), "a job with a warm binhost compiles nothing: {emerged:?}");
    assert!(emerged.binary.contains(&"app-misc/greeter-1".to_owned()), "{emerged:?}");
    assert!(farm.nginx.access_log().contains("/app-misc/greeter/greeter-1-"), "fetched from the binhost");

    // A changed parent: it and its descendant rebuild; the others are up to date.
    ws.edit(HELLO_RS, "hello from the rig\")", "hello from the rig, changed\")");
    let parent = farm.run();
    assert!(parent.succeeded, "{}", parent.output);
    assert_eq!(built(&parent), ["rig-greeter", "rig-hello"]);
    assert_ne!(parent.report("rig-greeter")["input_hash"], leaf.report("rig-greeter")["input_hash"]);

    // A failing job: rig/hello's build fails (a package that dies in src_compile); rig/greeter,
    // built on it, does not run; rig/base and rig/alpha do.
    ws.edit(
        HELLO_RS,
        "packages: &[atom!(\"app-misc/hello\")]",
        "packages: &[atom!(\"app-misc/hello\"), atom!(\"app-misc/broken\")]",
    );
    ws.edit(
        HELLO_RS,
        "package_use: &[package_use!(\"app-misc/hello\" => \"extra\")]",
        "package_use: &[package_use!(\"app-misc/hello\" => \"extra\"), package_use!(\"app-misc/broken\" => \"fail\")]",
    );
    let failing = farm.run();
    assert!(!failing.succeeded, "{}", failing.output);
    assert_eq!(failing.status("rig-hello"), "failed");
    let error = failing.report("rig-hello")["error"].as_str().unwrap();
    assert!(error.contains("did not build"), "{error}");
    assert!(!failing.reports.contains_key("rig-greeter"), "the failed job's descendant did not run");
    for job in ["root-rig", "rig-base", "rig-alpha"] {
        assert_eq!(failing.status(job), "up to date (registry)", "{job}");
    }

    // The registry's password shows nowhere: not in any job's output, not in any log kept.
    for run in [&cold, &noop, &leaf, &parent, &failing] {
        assert!(!run.output.contains(PASSWORD), "the password in the pipeline's output");
        assert!(!contains_in_files(&run.artifacts, PASSWORD), "the password in a job's artifacts");
    }
}

/// Bench figure 6 (printed, not asserted: the machine is shared): the cold pipeline's span at
/// concurrency 2 against its critical path (the longest chain of job times, measured in the same
/// run), and the no-op pipeline's registry queries per image job.
fn figure_6(cold: &Run, noop: &Run, noop_queries: u64) {
    let timing = |job: &str| {
        let report = cold.report(job);
        let start = report["started_unix_ms"].as_u64().unwrap();
        (start, start + report["elapsed_ms"].as_u64().unwrap())
    };
    let jobs: Vec<&str> = std::iter::once("root-rig").chain(IMAGE_JOBS.iter().map(|(job, _)| *job)).collect();
    let first_start = jobs.iter().map(|job| timing(job).0).min().unwrap();
    let last_end = jobs.iter().map(|job| timing(job).1).max().unwrap();
    let parent_of: BTreeMap<&str, &str> = IMAGE_JOBS.iter().copied().collect();
    let chain_time = |leaf: &str| {
        let mut total = 0;
        let mut job = Some(leaf);
        while let Some(current) = job {
            let (start, end) = timing(current);
            total += end - start;
            job = parent_of.get(current).copied();
        }
        total
    };
    let critical = jobs.iter().map(|job| chain_time(job)).max().unwrap();
    let span = last_end - first_start;
    eprintln!(
        "figure 6: cold pipeline (root and image jobs) {:.1}s at concurrency 2, critical path {:.1}s: {:.2}x (target <= 1.3x); \
         no-op pipeline: {} registry queries for {} image jobs ({:.2} per image, target 1)",
        span as f64 / 1000.0,
        critical as f64 / 1000.0,
        span as f64 / critical as f64,
        noop_queries,
        IMAGE_JOBS.len(),
        noop_queries as f64 / IMAGE_JOBS.len() as f64
    );
    let _ = noop;
}

/// The image jobs that built, sorted.
fn built(run: &Run) -> Vec<&str> {
    let mut jobs: Vec<&str> = IMAGE_JOBS
        .iter()
        .map(|(job, _)| *job)
        .filter(|job| {
            let status = run.status(job);
            assert!(status == "built" || status == "up to date (registry)", "{job}: {status}");
            status == "built"
        })
        .collect();
    jobs.sort();
    jobs
}

fn strings(value: &Value) -> Vec<&str> {
    value.as_array().unwrap_or_else(|| panic!("a list: {value}")).iter().map(|item| item.as_str().unwrap()).collect()
}

fn git(dir: &Utf8Path, args: &[&str]) {
    let status = Command::new("git").args(args).current_dir(dir).status().unwrap();
    assert!(status.success(), "git {args:?}");
}

/// Whether any file under `dir` holds `needle`.
fn contains_in_files(dir: &Utf8Path, needle: &str) -> bool {
    let mut pending = vec![dir.to_owned()];
    let mut seen = BTreeSet::new();
    while let Some(folder) = pending.pop() {
        for entry in folder.read_dir_utf8().into_iter().flatten().flatten() {
            let path = entry.path().to_owned();
            if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
                if seen.insert(path.clone()) {
                    pending.push(path);
                }
            } else if std::fs::read(&path)
                .is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle.as_bytes()))
            {
                return true;
            }
        }
    }
    false
}
