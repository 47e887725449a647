//! `cargo xtask push` and `build --push` against a real distribution registry on loopback, with TLS
//! that requires client certificates and (where said) htpasswd credentials: tags and digests in the
//! registry, the failures a person must fix, a registry restart during the push, and no certificate,
//! key or credential in any layer, the output or the logs.
//!
//! Real buildah, skopeo and `docker-registry`; every test holds the end-to-end lock (its `Session`),
//! has its own image namespace, registry and certificates, and removes them when it ends.

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use buildah_gentoo_tests::e2e::{self, BuildahRecorder, Finished, Session, Workspace};
use buildah_gentoo_tests::servers::{auth_json, base64, Certificates, Registry, RegistryOptions};
use camino::{Utf8Path, Utf8PathBuf};
use serde_json::Value;
use tempfile::TempDir;

const USER: &str = "e2e-pusher";
const IMAGE: &str = "rig/base";

/// A password no file of the project contains, to look for afterwards.
fn secret_token() -> String {
    format!("e2e-SECRET-TOKEN-{}-q7Zx9w", std::process::id())
}

fn utf8(dir: &TempDir) -> Utf8PathBuf {
    Utf8PathBuf::from_path_buf(dir.path().to_owned()).expect("a UTF-8 temporary folder")
}

fn skopeo(args: &[&str]) -> Finished {
    let mut command = Command::new("skopeo");
    command.args(args);
    e2e::run(command)
}

/// `cargo xtask --namespace NS --cache-dir CACHE ARGS` in the workspace copy.
fn xtask_command(session: &Session, workspace: &Workspace, args: &[&str]) -> Command {
    let cache = session.cache_dir();
    let mut all = vec!["--namespace", session.namespace.as_str(), "--cache-dir", cache.as_str()];
    all.extend_from_slice(args);
    let mut command = workspace.xtask_command(&all);
    command.env("CARGO_TARGET_DIR", e2e::cargo_target_dir()).env_remove("REGISTRY_AUTH_FILE");
    command
}

/// Runs `cargo xtask ARGS` to completion; every log path it prints must be in the workspace copy.
#[track_caller]
fn xtask(session: &Session, workspace: &Workspace, args: &[&str]) -> Finished {
    let finished = e2e::run(xtask_command(session, workspace, args));
    session.remember_ids();
    eprintln!(
        "e2e {}: `xtask {}` exited {:?} in {:.1}s",
        session.name,
        args.join(" "),
        finished.code,
        finished.elapsed.as_secs_f64()
    );
    check_log_paths(workspace, &finished);
    finished
}

#[track_caller]
fn check_log_paths(workspace: &Workspace, finished: &Finished) {
    for (_, path) in finished.stdout.lines().filter_map(|line| line.split_once("(log ")) {
        assert!(
            path.starts_with(workspace.root().as_str()),
            "a log outside the workspace copy:\n{}",
            finished.describe()
        );
    }
}

/// A `cargo xtask` running in the background, its stdout lines collected as they come; killed (with
/// its process group) when dropped.
struct Background {
    child: Option<std::process::Child>,
    argv: String,
    started: Instant,
    lines: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    stdout: Option<std::thread::JoinHandle<()>>,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl Background {
    fn start(mut command: Command) -> Background {
        use std::io::{BufRead, Read};
        use std::os::unix::process::CommandExt;
        let argv = format!("{command:?}");
        command.process_group(0).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = command.spawn().unwrap_or_else(|error| panic!("cannot start {argv}: {error}"));
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
        let sink = lines.clone();
        let stdout = std::thread::spawn(move || {
            for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                eprintln!("  | {line}");
                sink.lock().unwrap().push(line);
            }
        });
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = err.read_to_string(&mut text);
            text
        });
        Background {
            child: Some(child),
            argv,
            started: Instant::now(),
            lines,
            stdout: Some(stdout),
            stderr: Some(stderr),
        }
    }

    fn has_line(&self, matches: impl Fn(&str) -> bool) -> bool {
        self.lines.lock().unwrap().iter().any(|line| matches(line))
    }

    /// Sends `signal` to the process group.
    fn signal_group(&self, signal: libc::c_int) {
        let pid = self.child.as_ref().unwrap().id() as i32;
        // SAFETY: kill(2) on our own child's process group.
        assert_eq!(unsafe { libc::kill(-pid, signal) }, 0, "{}", std::io::Error::last_os_error());
    }

    /// Whether the process has ended.
    fn exited(&mut self) -> bool {
        self.child.as_mut().is_some_and(|child| child.try_wait().ok().flatten().is_some())
    }

    /// Waits for the exit; panics after `timeout`.
    fn finish(mut self, timeout: Duration) -> Finished {
        let mut child = self.child.take().unwrap();
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                kill_group(&mut child);
                panic!("{} did not exit within {timeout:?}", self.argv);
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        self.stdout.take().unwrap().join().unwrap();
        let stderr = self.stderr.take().unwrap().join().unwrap();
        let stdout = self.lines.lock().unwrap().iter().map(|line| format!("{line}\n")).collect();
        Finished {
            argv: vec![self.argv.clone()],
            code: status.code(),
            stdout,
            stderr,
            elapsed: self.started.elapsed(),
            summary_json: None,
        }
    }
}

fn kill_group(child: &mut std::process::Child) {
    // SAFETY: kill(2) on our own child's process group.
    unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
    let _ = child.wait();
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            kill_group(&mut child);
        }
    }
}

/// The test's own view of the registry: full certificates and valid credentials.
struct Remote {
    host: String,
    cert_dir: Utf8PathBuf,
    authfile: Option<Utf8PathBuf>,
}

impl Remote {
    fn args<'a>(&'a self, command: &'a str, source_flags: bool) -> Vec<&'a str> {
        let (cert, auth) =
            if source_flags { ("--src-cert-dir", "--src-authfile") } else { ("--cert-dir", "--authfile") };
        let mut args = vec![command, cert, self.cert_dir.as_str()];
        if let Some(file) = &self.authfile {
            args.extend([auth, file.as_str()]);
        }
        args
    }

    /// The repository's tags; `None` when the registry does not know the repository.
    #[track_caller]
    fn tags(&self, repository: &str) -> Option<BTreeSet<String>> {
        let reference = format!("docker://{}/{repository}", self.host);
        let mut args = self.args("list-tags", false);
        args.push(&reference);
        let listed = skopeo(&args);
        if !listed.success() {
            assert!(
                listed.stderr.contains("404") || listed.stderr.contains("name unknown"),
                "skopeo list-tags failed for another reason than an unknown repository:\n{}",
                listed.describe()
            );
            return None;
        }
        let json: Value = serde_json::from_str(&listed.stdout).unwrap();
        Some(json["Tags"].as_array().unwrap().iter().map(|tag| tag.as_str().unwrap().to_owned()).collect())
    }

    /// `skopeo inspect` of `repository:tag`.
    #[track_caller]
    fn inspect(&self, repository: &str, tag: &str) -> Value {
        let reference = format!("docker://{}/{repository}:{tag}", self.host);
        let mut args = self.args("inspect", false);
        args.push(&reference);
        let inspected = skopeo(&args);
        inspected.expect_success();
        serde_json::from_str(&inspected.stdout).unwrap()
    }

    /// The digest of every tag of the repository.
    #[track_caller]
    fn digests(&self, repository: &str) -> Vec<(String, String)> {
        let tags = self.tags(repository).unwrap_or_default();
        tags.into_iter()
            .map(|tag| {
                let digest = self.inspect(repository, &tag)["Digest"].as_str().unwrap().to_owned();
                (tag, digest)
            })
            .collect()
    }
}

/// The repository an image is pushed to: the namespace without its host, then the name.
fn remote_repository(session: &Session, image: &str) -> String {
    format!("{}/{image}", xtask::plan::push::namespace_path(&session.namespace))
}

/// The image's tags in local storage.
fn local_tags(session: &Session, image: &str) -> BTreeSet<String> {
    let prefix = format!("{}/{image}:", session.namespace);
    session.references().keys().filter_map(|name| name.strip_prefix(&prefix)).map(str::to_owned).collect()
}

/// The digest in the `REGISTRY/REPOSITORY@DIGEST` line the push printed for the repository.
#[track_caller]
fn printed_digest(finished: &Finished, host: &str, repository: &str) -> String {
    let prefix = format!("{host}/{repository}@");
    let digest = finished
        .stdout
        .lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no `{prefix}DIGEST` line in:\n{}", finished.describe()));
    assert!(digest.starts_with("sha256:") && digest.len() == 71, "not a digest: {digest}");
    digest.to_owned()
}

/// Registry flags of the CLI.
fn registry_flags<'a>(host: &'a str, certs_dir: &'a Utf8Path, authfile: Option<&'a Utf8Path>) -> Vec<&'a str> {
    let mut flags = vec!["--registry", host, "--certs-dir", certs_dir.as_str()];
    if let Some(file) = authfile {
        flags.extend(["--authfile", file.as_str()]);
    }
    flags
}

#[track_caller]
fn assert_contains(finished: &Finished, text: &str) {
    assert!(finished.output().contains(text), "expected {text:?} in the output:\n{}", finished.describe());
}

/// The registry checked against what a successful push of `image` must leave: the local tags, each
/// pointing at the printed digest, which the digest file holds too; the inputs label matches the tag.
#[track_caller]
fn assert_pushed(session: &Session, workspace: &Workspace, remote: &Remote, image: &str, digest: &str) {
    let repository = remote_repository(session, image);
    let local = local_tags(session, image);
    assert_eq!(local.len(), 3, "latest, the date and the input hash: {local:?}");
    assert_eq!(remote.tags(&repository), Some(local.clone()), "the registry's tags of {repository}");
    for (tag, remote_digest) in remote.digests(&repository) {
        assert_eq!(remote_digest, digest, "{repository}:{tag} points at another digest");
    }
    let inspected = remote.inspect(&repository, "latest");
    let labels = &inspected["Labels"];
    assert_eq!(labels["io.buildah-gentoo.image"], image);
    let hash = labels[xtask::plan::INPUTS_LABEL].as_str().expect("the inputs label");
    assert!(local.contains(&format!("inputs-{hash}")), "the label {hash} matches no tag of {local:?}");
    assert_eq!(e2e::image_labels(&session.latest(image))[xtask::plan::INPUTS_LABEL], hash);
    let digests = workspace.root().join("target/buildah-gentoo/digests");
    let stem = image.replace('/', "+");
    let written = std::fs::read_to_string(digests.join(format!("{stem}.digest"))).expect("the digest file");
    assert_eq!(written.trim(), digest);
    assert!(!digests.join(format!("{stem}.digest.pushing")).exists(), "a pending digest file is left");
}

// ---------------------------------------------------------------------------------------------

#[test]
fn push_to_a_tls_registry_requiring_client_certificates_and_credentials() {
    let session = Session::start("push");
    let workspace = Workspace::copy();
    let dir = tempfile::tempdir().unwrap();
    let root = utf8(&dir);
    let certificates = Certificates::make(&root.join("pki"));
    let password = secret_token();
    let options = RegistryOptions { client_certificates: true, credentials: Some((USER.into(), password.clone())) };
    let registry = Registry::start(&root.join("registry"), &certificates, &options);
    let host = registry.host.as_str();

    let full = root.join("certs");
    let ca_only = root.join("certs-ca-only");
    let client_only = root.join("certs-client-only");
    certificates.certs_d(&full, host, true, true);
    certificates.certs_d(&ca_only, host, true, false);
    certificates.certs_d(&client_only, host, false, true);
    let auth = root.join("auth.json");
    std::fs::write(&auth, auth_json(host, USER, &password)).unwrap();
    let wrong_auth = root.join("wrong-auth.json");
    std::fs::write(&wrong_auth, auth_json(host, USER, "not-the-password")).unwrap();
    let remote = Remote { host: host.to_owned(), cert_dir: full.join(host), authfile: Some(auth.clone()) };
    let repository = remote_repository(&session, IMAGE);

    xtask(&session, &workspace, &["build", IMAGE]).expect_success();
    let push = |certs: &Utf8Path, authfile: &Utf8Path| {
        let mut args = vec!["push", IMAGE];
        args.extend(registry_flags(host, certs, Some(authfile)));
        xtask(&session, &workspace, &args)
    };

    // Failures a person must fix say what to do, and leave the registry as it was.
    let no_ca = push(&client_only, &auth);
    no_ca.expect_failure();
    assert_contains(
        &no_ca,
        &format!(
            "certificate signed by unknown authority: put the registry's CA certificate at {client_only}/{host}/ca.crt"
        ),
    );
    assert_contains(&no_ca, "no tag in the registry was changed");
    assert_eq!(remote.tags(&repository), None, "a failed push created the repository");

    let no_client_certificate = push(&ca_only, &auth);
    no_client_certificate.expect_failure();
    assert_contains(&no_client_certificate, "remote error: tls: ");
    assert_contains(
        &no_client_certificate,
        &format!("put one (*.cert with its *.key, signed by a CA the registry accepts) in {ca_only}/{host}/"),
    );
    assert_contains(&no_client_certificate, "no tag in the registry was changed");
    assert_eq!(remote.tags(&repository), None, "a failed push created the repository");

    let unauthorized = push(&full, &wrong_auth);
    unauthorized.expect_failure();
    assert_contains(&unauthorized, &format!("unauthorized: check the auth file {wrong_auth}"));
    assert_eq!(remote.tags(&repository), None, "a failed push created the repository");

    // With the client certificate and the right credentials: content, then every tag, one digest.
    let pushed = push(&full, &auth);
    pushed.expect_success();
    let digest = printed_digest(&pushed, host, &repository);
    assert_pushed(&session, &workspace, &remote, IMAGE, &digest);
    let before = remote.digests(&repository);

    // A failing push later changes nothing; pushing again uploads nothing and changes nothing.
    push(&ca_only, &auth).expect_failure();
    assert_eq!(remote.digests(&repository), before, "a failed push changed the registry");
    let again = push(&full, &auth);
    again.expect_success();
    assert_eq!(printed_digest(&again, host, &repository), digest, "the same image pushed again changed digest");
    assert_eq!(remote.digests(&repository), before);
    assert!(!registry.log().is_empty());

    // Ctrl-C while a changed image's content goes up (`buildah push`), and while the moving tags
    // follow (`skopeo copy`), each held there by the recorder: exit 130, and every moving tag still
    // on the old digest.
    workspace.edit("image-defs/src/images/rig/base.rs", "test rig base\"", "test rig base, interrupted\"");
    xtask(&session, &workspace, &["build", IMAGE]).expect_success();
    let recorder = BuildahRecorder::new();
    let path = recorder.path();
    let latest_before = remote.inspect(&repository, "latest")["Digest"].clone();
    for subcommand in ["push", "copy"] {
        let pause = recorder.pause_dir(subcommand);
        let mut command = xtask_command(&session, &workspace, &{
            let mut args = vec!["push", IMAGE];
            args.extend(registry_flags(host, &full, Some(&auth)));
            args
        });
        command.env("PATH", &path).env("BUILDAH_PAUSE_ON", subcommand).env("BUILDAH_PAUSE_DIR", pause.as_str());
        let interrupted = Background::start(command);
        BuildahRecorder::wait_paused(&pause);
        interrupted.signal_group(libc::SIGINT);
        let finished = interrupted.finish(Duration::from_secs(120));
        assert_eq!(finished.code, Some(130), "at `{subcommand}`: {}", finished.describe());
        assert_eq!(remote.inspect(&repository, "latest")["Digest"], latest_before, "at `{subcommand}`: latest moved");
    }
    let resumed = push(&full, &auth);
    resumed.expect_success();
    assert_ne!(printed_digest(&resumed, host, &repository), digest, "the changed image went up");
}

#[test]
fn a_registry_restart_during_the_push_is_retried_or_fails_with_tags_untouched() {
    let session = Session::start("push-restart");
    let workspace = Workspace::copy();
    let dir = tempfile::tempdir().unwrap();
    let root = utf8(&dir);
    let certificates = Certificates::make(&root.join("pki"));
    let options = RegistryOptions { client_certificates: true, credentials: None };
    let mut registry = Registry::start(&root.join("registry"), &certificates, &options);
    let host = registry.host.clone();
    let certs = root.join("certs");
    certificates.certs_d(&certs, &host, true, true);
    let remote = Remote { host: host.clone(), cert_dir: certs.join(&host), authfile: None };
    let repository = remote_repository(&session, IMAGE);
    xtask(&session, &workspace, &["build", IMAGE]).expect_success();

    let mut args = vec!["push", IMAGE];
    args.extend(registry_flags(&host, &certs, None));
    let mut push = Background::start(xtask_command(&session, &workspace, &args));
    // Kill the registry while a blob upload streams in (the image is ~270 MB: seconds of upload), so
    // that a request is cut off for sure.
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut received = registry.upload_bytes();
    loop {
        assert!(Instant::now() < deadline, "no upload streamed in within 5 minutes:\n{}", registry.log());
        std::thread::sleep(Duration::from_millis(20));
        let now = registry.upload_bytes();
        if received > 0 && now > received {
            break;
        }
        received = now;
    }
    registry.kill();
    assert!(push.has_line(|line| line.contains("pushing to")), "the push had not started");
    assert!(
        !push.has_line(|line| line.contains("content pushed as")),
        "the content was up before the registry was killed; the test proves nothing"
    );
    // The registry comes back once the tool has noticed it is gone and waits to try again (an event in
    // its output), not after a guessed time.
    let deadline = Instant::now() + Duration::from_secs(300);
    while !push.has_line(|line| line.contains("retrying in")) && !push.exited() {
        assert!(Instant::now() < deadline, "the push neither retried nor ended within 5 minutes");
        std::thread::sleep(Duration::from_millis(20));
    }
    registry.restart();
    let finished = push.finish(Duration::from_secs(300));
    assert_eq!(registry.log().matches("listening on").count(), 2, "the registry ran twice:\n{}", registry.log());

    if finished.success() {
        // Completed by retrying (ours, or buildah's own quick ones, which 1.28 always makes): every
        // tag on the printed digest.
        let log =
            std::fs::read_to_string(workspace.root().join("target/buildah-gentoo/logs/rig+base.push.log")).unwrap();
        let retried = ["try 2 of 4", "Failed, retrying in"].iter().find(|mark| log.contains(*mark));
        assert!(retried.is_some(), "the push succeeded without a retry after the registry was killed:\n{log}");
        let digest = printed_digest(&finished, &host, &repository);
        assert_pushed(&session, &workspace, &remote, IMAGE, &digest);
        eprintln!("outcome: the push completed after the restart, by retrying ({:?} in the log)", retried.unwrap());
    } else {
        // Failed cleanly: said so after its tries, and no moving tag points anywhere.
        assert_contains(&finished, "failed after 4 tries");
        let tags = remote.tags(&repository).unwrap_or_default();
        let moving: Vec<&String> = tags.iter().filter(|tag| !tag.starts_with("inputs-")).collect();
        assert!(moving.is_empty(), "a failed push moved tags {moving:?}:\n{}", finished.describe());
        eprintln!("outcome: the push failed cleanly after the restart; tags: {tags:?}");
    }

    // A registry that stays down: a changed image (new inputs, new digest) is tried 4 times, fails
    // saying what to do, and once the registry is back every tag still points where it did.
    let before = remote.digests(&repository);
    workspace.edit("image-defs/src/images/rig/base.rs", "test rig base\"", "test rig base, changed\"");
    xtask(&session, &workspace, &["build", IMAGE]).expect_success();
    registry.kill();
    let failed = xtask(&session, &workspace, &args);
    failed.expect_failure();
    // The backoff: 4 tries, 1, 2 and 4 s apart, as the tool reported them.
    for (wait, attempt) in [(1, 2), (2, 3), (4, 4)] {
        assert_contains(&failed, &format!("retrying in {wait}s (try {attempt} of 4)"));
    }
    assert_contains(&failed, "step push failed after 4 tries");
    assert_contains(&failed, &format!("check that {host} is up and reachable, then push again"));
    assert_contains(&failed, "no tag in the registry was changed");
    registry.restart();
    assert_eq!(remote.digests(&repository), before, "a failed push changed the registry");
}

#[test]
fn no_certificate_key_or_credential_reaches_a_layer_the_output_or_the_logs() {
    let session = Session::start("push-secrets");
    let workspace = Workspace::copy();
    let dir = tempfile::tempdir().unwrap();
    let root = utf8(&dir);
    let certificates = Certificates::make(&root.join("pki"));
    let password = secret_token();
    let options = RegistryOptions { client_certificates: true, credentials: Some((USER.into(), password.clone())) };
    let registry = Registry::start(&root.join("registry"), &certificates, &options);
    let host = registry.host.as_str();
    let certs = root.join("certs");
    let certs_here = certificates.certs_d(&certs, host, true, true);
    let auth = root.join("auth.json");
    std::fs::write(&auth, auth_json(host, USER, &password)).unwrap();
    let remote = Remote { host: host.to_owned(), cert_dir: certs_here.clone(), authfile: Some(auth.clone()) };
    let images = ["rig/base", "rig/hello"];

    // Build and push with the certificates and the auth file configured; then the dry run.
    let mut args = vec!["build", "rig/(base|hello)", "--push"];
    args.extend(registry_flags(host, &certs, Some(&auth)));
    let built = xtask(&session, &workspace, &args);
    built.expect_success();
    for image in images {
        let digest = printed_digest(&built, host, &remote_repository(&session, image));
        assert_pushed(&session, &workspace, &remote, image, &digest);
    }
    let mut args = vec!["push", "--dry-run", "rig/(base|hello)"];
    args.extend(registry_flags(host, &certs, Some(&auth)));
    let dry_run = xtask(&session, &workspace, &args);
    dry_run.expect_success();
    assert_contains(&dry_run, &format!("--authfile {auth}"));
    assert_contains(&dry_run, &format!("--cert-dir {certs_here}"));

    // What to look for: lines of every file of the certificates folder, the password, and the
    // auth file's encoded credentials. grep must find them where they are.
    let mut needles = BTreeSet::new();
    for entry in std::fs::read_dir(&certs_here).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let body: Vec<&str> = text.lines().filter(|line| line.len() >= 60 && !line.starts_with("-----")).collect();
        assert!(body.len() > 3, "a PEM file with a body");
        needles.extend([body[0], body[body.len() / 2], body[body.len() - 2]].map(str::to_owned));
    }
    needles.insert(password.clone());
    needles.insert(base64(format!("{USER}:{password}").as_bytes()));
    let needles_file = root.join("needles");
    std::fs::write(&needles_file, needles.iter().map(|n| format!("{n}\n")).collect::<String>()).unwrap();
    let found = e2e::grep_files(&needles_file, &[certs.as_str(), auth.as_str()]);
    assert_eq!(found.len(), 4, "grep finds the needles in ca.crt, client.cert, client.key and auth.json: {found:?}");

    // The output and every file the tool wrote (logs, digests, build contexts).
    for finished in [&built, &dry_run] {
        let output = finished.output();
        for needle in &needles {
            assert!(!output.contains(needle.as_str()), "a secret is in the output of {:?}", finished.argv);
        }
    }
    let work = workspace.root().join("target/buildah-gentoo");
    assert!(work.join("logs/rig+base.push.log").is_file());
    assert_eq!(e2e::grep_files(&needles_file, &[work.as_str()]), Vec::<String>::new(), "secrets in the tool's files");

    // Every image of the namespace, mounted.
    let prefix = format!("{}/", session.namespace);
    let stored: Vec<e2e::StoredImage> =
        e2e::stored_images().into_iter().filter(|image| image.names.iter().any(|n| n.starts_with(&prefix))).collect();
    assert_eq!(stored.len(), images.len(), "the namespace's images: {stored:?}");
    for image in &stored {
        let container = e2e::buildah_ok(&["from", "--pull=never", "--quiet", &image.id]);
        let mounted = e2e::buildah(&["mount", &container]);
        let found = mounted.success().then(|| e2e::grep_files(&needles_file, &[mounted.stdout.trim()]));
        e2e::buildah(&["umount", &container]);
        e2e::buildah_ok(&["rm", &container]);
        mounted.expect_success();
        assert_eq!(found, Some(Vec::new()), "secrets in the files of {:?}", image.names);
    }

    // Every layer (and the config) of every pushed image, decompressed.
    for image in images {
        let layout = root.join(format!("oci-{}", image.replace('/', "+")));
        let source = format!("docker://{host}/{}:latest", remote_repository(&session, image));
        let destination = format!("oci:{layout}");
        let mut args = remote.args("copy", true);
        args.extend([source.as_str(), destination.as_str()]);
        skopeo(&args).expect_success();
        let scanned = e2e::scan_oci_layout(&layout, &needles_file, image);
        assert_eq!(scanned.code, Some(1), "secrets in blobs of {image} (or zgrep failed):\n{}", scanned.describe());
    }
}
