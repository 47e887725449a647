//! Pushing images to a registry: runs a [`PushPlan`] step by step, logged like a build (one log per
//! image), retries registry commands that fail for transient reasons (a bounded number of tries with
//! backoff) and turns the failures a person can fix (certificates, credentials) into what to do.
//!
//! The plan pushes the content under the input-hash tag first and moves `latest` and the date only
//! after, so a failure leaves every moving tag either where it was or on the complete new image.

use anyhow::{anyhow, bail, Context as _, Result};
use camino::{Utf8Path, Utf8PathBuf};
use xshell::Shell;

use super::{interrupt, StepRunner};
use crate::plan::file_stem;
use crate::plan::push::{registry_host, ImagePush, LocalImage, PushPlan, PushStep, DIGEST};
use crate::settings::Settings;

pub use super::runner::{BACKOFF, TRIES};

/// One image in the registry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pushed {
    pub name: String,
    /// `<registry>/<namespace path>/<name>@<digest>`.
    pub reference: String,
    pub digest: String,
    /// The file holding the digest, relative to the workspace root.
    pub digest_file: Utf8PathBuf,
}

/// The local images to push: for each name, the id `<namespace>/<name>:latest` points at and every tag
/// of `<namespace>/<name>` on that id, from one `buildah images` call.
pub fn local_images(sh: &Shell, settings: &Settings, names: &[&str]) -> Result<Vec<LocalImage>> {
    let index = super::storage::load_index(sh)?;
    names
        .iter()
        .map(|name| {
            let repository = settings.repository_of(name);
            let latest = format!("{repository}:latest");
            let id = index.id(&latest).ok_or_else(|| {
                anyhow!("image `{name}` is not built: {latest} is not in local storage (`cargo xtask build {name}`)")
            })?;
            let prefix = format!("{repository}:");
            let tags = index.names_of(id).iter().filter_map(|n| n.strip_prefix(&prefix)).map(str::to_owned).collect();
            Ok(LocalImage { name: name.to_string(), id: id.to_owned(), tags })
        })
        .collect()
}

/// Runs the push plan; stops at the first image that cannot be pushed, saying what to do.
/// Progress goes to standard output, or with `progress_to_stderr` to standard error (the caller's
/// standard output carries its result).
pub fn push(
    sh: &Shell,
    workspace: &Utf8Path,
    settings: &Settings,
    plan: &PushPlan,
    progress_to_stderr: bool,
) -> Result<Vec<Pushed>> {
    interrupt::install();
    let host = registry_host(&plan.registry);
    if !plan.transport.tls_verify {
        eprintln!(
            "warning: TLS verification is off for {host} (tls-verify = false): the registry is not authenticated \
             and anyone on the way can read or change what is pushed"
        );
    }
    if let Some(file) = &plan.transport.authfile {
        if !file.is_file() {
            bail!("the auth file {file} does not exist: log in with `buildah login --authfile {file} {host}`");
        }
    }
    if let Some(dir) = &plan.transport.cert_dir {
        if !dir.is_dir() {
            eprintln!(
                "warning: no certificates folder {dir}: the system's CAs are trusted and no client certificate is sent"
            );
        }
    }
    let logs = workspace.join(&settings.work_dir).join("logs");
    let mut setup = StepRunner::new(sh, workspace, logs.join("push-setup.log"))?;
    for step in &plan.setup {
        setup.run_host(&step.command()).with_context(|| format!("preparing the push (log {})", setup.log_path()))?;
    }
    let total = plan.images.len();
    let mut pushed = Vec::new();
    for (number, image) in plan.images.iter().enumerate() {
        let log = logs.join(format!("{}.push.log", file_stem(&image.name)));
        let progress = |text: &str| {
            let line = format!("==> [{}/{total}] {}: {text}", number + 1, image.name);
            if progress_to_stderr {
                eprintln!("{line}");
            } else {
                println!("{line}");
            }
        };
        progress(&format!("pushing to {} (log {log})", image.destination));
        let mut runner = StepRunner::new(sh, workspace, log.clone())?;
        runner.on_retry(progress);
        runner.note(&format!("# push `{}` (image {}) to {}", image.name, image.id, image.destination));
        let digest = push_image(&mut runner, image, settings, host, &progress)
            .map_err(|error| anyhow!("pushing `{}` to {}: {error:#}\n    log: {log}", image.name, image.destination))?;
        let tags: Vec<&str> =
            std::iter::once(&image.content_tag).chain(&image.moving_tags).map(String::as_str).collect();
        progress(&format!("{} → {digest}", tags.join(", ")));
        pushed.push(Pushed {
            name: image.name.clone(),
            reference: format!("{}@{digest}", image.destination),
            digest,
            digest_file: image.digest_file.clone(),
        });
    }
    Ok(pushed)
}

/// Runs one image's steps (a registry command failing for a passing reason is tried again by the
/// runner); returns the pushed digest. A failure says what to fix and where every tag is.
fn push_image(
    runner: &mut StepRunner,
    image: &ImagePush,
    settings: &Settings,
    host: &str,
    progress: &dyn Fn(&str),
) -> Result<String> {
    if let Err(failure) = runner.run_all(&image.steps) {
        let step = &image.steps[failure.index];
        let moved: Vec<&str> = image.steps[..failure.index]
            .iter()
            .filter_map(|step| match step {
                PushStep::MoveTag { tag, .. } => Some(tag.as_str()),
                _ => None,
            })
            .collect();
        if !step.is_remote() {
            bail!("step {} failed: {}\n    $ {}", step.kind(), failure.reason, failure.command);
        }
        let state = match step {
            PushStep::PushContent { .. } => {
                "no tag in the registry was changed (the content goes up before any tag moves)".to_owned()
            }
            _ => {
                let not_moved: Vec<&str> =
                    image.moving_tags.iter().map(String::as_str).filter(|tag| !moved.contains(tag)).collect();
                format!(
                    "the content is in the registry as :{} ({}); tags moved: {}; not moved (still where they \
                     were): {}. Push again once fixed: nothing is uploaded twice",
                    image.content_tag,
                    runner.var(DIGEST).unwrap_or("digest unknown"),
                    if moved.is_empty() { "none".to_owned() } else { moved.join(", ") },
                    not_moved.join(", ")
                )
            }
        };
        let tries = if failure.tries > 1 { format!(" after {} tries", failure.tries) } else { String::new() };
        let diagnosis = if failure.reason.contains("exited with status") { diagnose(&failure.said) } else { None };
        let fix = match (diagnosis, interrupt::requested()) {
            (_, true) => "interrupted".to_owned(),
            (Some(Diagnosis::Fix(fix)), _) => format!("to fix: {}", fix.advice(settings, host)),
            (Some(Diagnosis::Transient(why)), _) => {
                format!(
                    "to fix: {why}, {} times: check that {host} is up and reachable, then push again",
                    failure.tries
                )
            }
            (None, _) => "no known cause: read what the tool said (below) and the log".to_owned(),
        };
        let tool = step.command().argv.first().map(|word| word.to_shell()).unwrap_or_default();
        bail!(
            "step {} failed{tries}\n    {fix}\n    {state}\n    {tool} said: {}\n    $ {}",
            step.kind(),
            failure.said,
            failure.command
        );
    }
    let digest = runner.var(DIGEST).context("the push read no digest")?.to_owned();
    if !is_digest(&digest) {
        bail!("the push's digest file held {digest:?}, not a digest");
    }
    progress(&format!("content pushed as :{}", image.content_tag));
    Ok(digest)
}

/// `sha256:` and 64 hex digits.
fn is_digest(text: &str) -> bool {
    text.strip_prefix("sha256:").is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Why a registry command's failure is worth another try, when its text says so.
pub(super) fn transient_reason(text: &str) -> Option<&'static str> {
    match diagnose(text)? {
        Diagnosis::Transient(why) => Some(why),
        Diagnosis::Fix(_) => None,
    }
}

/// Why a registry command failed, when the text says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Diagnosis {
    /// Worth another try: the network or the registry had a passing problem.
    Transient(&'static str),
    /// Trying again will not help; a person must fix this.
    Fix(Fix),
}

/// Problems with a known fix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fix {
    UnknownAuthority,
    ClientCertificate,
    CertificateLayout,
    WrongHostName,
    Expired,
    Credentials,
    PlainHttp,
    UnknownHost,
}

impl Fix {
    /// What to do, naming the files to put where.
    pub fn advice(self, settings: &Settings, host: &str) -> String {
        let (certs, or_set) = match &settings.certs_dir {
            Some(dir) => (dir.join(host).to_string(), String::new()),
            None => {
                (format!("/etc/containers/certs.d/{host}"), format!(" (or pass `--certs-dir DIR` and use DIR/{host})"))
            }
        };
        match self {
            Fix::UnknownAuthority => {
                format!("certificate signed by unknown authority: put the registry's CA certificate at {certs}/ca.crt{or_set}")
            }
            Fix::ClientCertificate => format!(
                "the registry wants a client certificate it trusts: put one (*.cert with its *.key, signed by a CA \
                 the registry accepts) in {certs}/{or_set}"
            ),
            Fix::CertificateLayout => {
                format!("in {certs}/, every client *.cert needs its *.key of the same name, and CAs end in .crt")
            }
            Fix::WrongHostName => {
                format!("the registry's certificate does not name {host}: push to the name it was issued for, or reissue it with that name in its subjectAltName")
            }
            Fix::Expired => "the registry's certificate has expired or is not valid yet (or this machine's clock is wrong)".to_owned(),
            Fix::Credentials => match &settings.authfile {
                Some(file) => format!(
                    "unauthorized: check the auth file {file} (log in again with `buildah login --authfile {file} {host}`)"
                ),
                None => format!(
                    "unauthorized: log in with `buildah login --authfile FILE {host}` and pass `--authfile FILE` (or set `authfile`)"
                ),
            },
            Fix::PlainHttp => format!(
                "{host} speaks plain HTTP: give it a TLS certificate, or push with `--tls-verify=false` if an unauthenticated connection is acceptable"
            ),
            Fix::UnknownHost => format!("the host name of {host} does not resolve: check `--registry`"),
        }
    }
}

/// Reads a tool's error text. Problems a person must fix come first: their text may also mention a
/// broken connection.
pub fn diagnose(text: &str) -> Option<Diagnosis> {
    let text = text.to_ascii_lowercase();
    let has = |needles: &[&str]| needles.iter().any(|needle| text.contains(needle));
    let fix = if has(&["certificate signed by unknown authority"]) {
        Some(Fix::UnknownAuthority)
    } else if has(&[
        "tls: certificate required",
        "tls: bad certificate",
        "tls: unknown certificate authority",
        "tls: certificate unknown",
        "tls: handshake failure",
    ]) {
        Some(Fix::ClientCertificate)
    } else if has(&["missing key", "missing client certificate", "private key does not match"]) {
        Some(Fix::CertificateLayout)
    } else if has(&[
        "certificate is valid for",
        "certificate is not valid for any names",
        "doesn't contain any ip sans",
    ]) {
        Some(Fix::WrongHostName)
    } else if has(&["certificate has expired or is not yet valid"]) {
        Some(Fix::Expired)
    } else if has(&["unauthorized", "authentication required", "requested access to the resource is denied", "denied:"])
    {
        Some(Fix::Credentials)
    } else if has(&["server gave http response to https client"]) {
        Some(Fix::PlainHttp)
    } else if has(&["no such host"]) {
        Some(Fix::UnknownHost)
    } else {
        None
    };
    if let Some(fix) = fix {
        return Some(Diagnosis::Fix(fix));
    }
    let transient = [
        ("connection refused", "the registry refused the connection"),
        ("connection reset", "the connection was reset"),
        ("broken pipe", "the connection broke"),
        ("connection lost", "the connection broke"),
        ("use of closed network connection", "the connection broke"),
        ("goaway", "the registry closed the connection"),
        ("unexpected eof", "the connection closed early"),
        (": eof", "the connection closed early"),
        ("timeout", "the registry timed out"),
        ("deadline exceeded", "the registry timed out"),
        ("server misbehaving", "name resolution failed for now"),
        ("temporary failure", "name resolution failed for now"),
        ("too many requests", "the registry asked to slow down"),
        ("toomanyrequests", "the registry asked to slow down"),
        ("blob upload unknown", "the registry lost the upload (restarted?)"),
    ];
    if let Some((_, why)) = transient.iter().find(|(needle, _)| text.contains(needle)) {
        return Some(Diagnosis::Transient(why));
    }
    if server_error(&text) {
        return Some(Diagnosis::Transient("the registry had an internal error (5xx)"));
    }
    None
}

/// An HTTP 5xx status in a tool's error text (`status code from registry 503`, `500 Internal Server Error`).
fn server_error(text: &str) -> bool {
    static PATTERN: once_cell::sync::Lazy<regex::Regex> = once_cell::sync::Lazy::new(|| {
        regex::Regex::new(
            r"(status|code)[^0-9\n]{0,30}\b5[0-9][0-9]\b|\b5[0-9][0-9] (internal server error|bad gateway|service unavailable|gateway time-?out)",
        )
        .expect("a valid pattern")
    });
    PATTERN.is_match(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::execute::runner::last_error_line;

    #[test]
    fn real_error_texts_are_read_right() {
        let cases = [
            (
                r#"Error: pushing image "x" to "docker://localhost:5777/p/b:t1": trying to reuse blob sha256:849f at destination: pinging container registry localhost:5777: Get "https://localhost:5777/v2/": x509: certificate signed by unknown authority"#,
                Some(Diagnosis::Fix(Fix::UnknownAuthority)),
            ),
            (
                r#"Error: pushing image "x" to "docker://localhost:5777/p/b:t1": pinging container registry localhost:5777: Get "https://localhost:5777/v2/": remote error: tls: bad certificate"#,
                Some(Diagnosis::Fix(Fix::ClientCertificate)),
            ),
            (
                r#"Error: ...: Get "https://localhost:5778/v2/": dial tcp 127.0.0.1:5778: connect: connection refused"#,
                Some(Diagnosis::Transient("the registry refused the connection")),
            ),
            (
                r#"time="2026-11-23T21:45:44Z" level=fatal msg="initializing source docker://localhost:5777/p/b@sha256:d1: reading manifest sha256:d1 in localhost:5777/p/b: unauthorized: authentication required""#,
                Some(Diagnosis::Fix(Fix::Credentials)),
            ),
            (
                r#"Error: writing blob: uploading layer chunked: received unexpected HTTP status: 502 Bad Gateway"#,
                Some(Diagnosis::Transient("the registry had an internal error (5xx)")),
            ),
            (
                r#"level=fatal msg="Error listing repository tags: fetching tags list: invalid status code from registry 503 (Service Unavailable)""#,
                Some(Diagnosis::Transient("the registry had an internal error (5xx)")),
            ),
            (
                r#"Error: writing blob: Patch "https://localhost:5777/v2/p/b/blobs/uploads/1": write tcp 127.0.0.1:1->127.0.0.1:5777: write: broken pipe"#,
                Some(Diagnosis::Transient("the connection broke")),
            ),
            (r#"Error: pushing image to "docker://localhost:503/p/b:t1": manifest invalid"#, None),
        ];
        for (text, expected) in cases {
            assert_eq!(diagnose(text), expected, "{text}");
        }
    }

    #[test]
    fn the_final_error_line_is_the_one_read() {
        let output = "$ buildah push --authfile /a/auth.json x docker://r/x:t\n\
                      time=\"t\" level=warning msg=\"Failed, retrying in 100ms ... (1/3). Error: connection refused\"\n\
                      Error: pushing image: unauthorized: authentication required\n";
        let line = last_error_line(output).unwrap();
        assert_eq!(line, "Error: pushing image: unauthorized: authentication required");
        assert_eq!(diagnose(&line), Some(Diagnosis::Fix(Fix::Credentials)));
    }

    #[test]
    fn advice_names_the_files_to_put_where() {
        let mut settings = Settings::defaults("/var/cache".into());
        settings.certs_dir = Some("/srv/certs".into());
        settings.authfile = Some("/srv/auth.json".into());
        assert_eq!(
            Fix::UnknownAuthority.advice(&settings, "localhost:5443"),
            "certificate signed by unknown authority: put the registry's CA certificate at /srv/certs/localhost:5443/ca.crt"
        );
        assert!(Fix::ClientCertificate.advice(&settings, "localhost:5443").contains("in /srv/certs/localhost:5443/"));
        assert!(Fix::Credentials
            .advice(&settings, "r:1")
            .starts_with("unauthorized: check the auth file /srv/auth.json"));
        assert!(is_digest(&format!("sha256:{}", "a".repeat(64))));
        assert!(!is_digest("sha256:abc"));
    }
}
