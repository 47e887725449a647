//! Pushing built images to a registry, as plain data. For each image the content goes up first, under
//! its input-hash tag (`buildah push --digestfile`); only then are the moving tags (the date, `latest`)
//! pointed at that digest, with `skopeo copy --preserve-digests` from the registry to itself, which
//! uploads no blob again and cannot change the digest. A push that fails half-way therefore leaves every
//! moving tag either where it was or on the new, complete image.
//!
//! Like a build plan, a push plan renders to a POSIX shell script ([`render`]) whose lines are the very
//! argv the executor runs. Certificates and credentials appear only as paths.

use anyhow::{bail, Result};
use camino::{Utf8Path, Utf8PathBuf};
use serde::Serialize;

use super::command::{quote, Command, Piece, Var, Word};
use super::{file_stem, INPUTS_TAG_PREFIX};
use crate::settings::Settings;

/// The digest of the image just pushed, read from the digest file.
pub const DIGEST: Var = Var("digest");

/// buildah ≥ 1.29 honours `--retry 0` (the executor's retries are the only ones); buildah 1.28 ignores
/// the count and retries three times by itself, after this delay, which keeps those extra tries short.
const BUILDAH_RETRY_DELAY: &str = "100ms";

/// How every command of a push reaches the registry. Only paths: never a certificate, a key or a
/// credential.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Transport {
    /// `<certs_dir>/<host[:port]>` (containers `certs.d` layout: `ca.crt`, client `*.cert` + `*.key`),
    /// when a certificates folder is configured; else the tools look in `/etc/containers/certs.d`.
    pub cert_dir: Option<Utf8PathBuf>,
    /// The containers auth file, when one is configured; else the tools' default.
    pub authfile: Option<Utf8PathBuf>,
    /// `false` only when the settings ask for it.
    pub tls_verify: bool,
}

/// A local image to push: the id `<namespace>/<name>:latest` points at, and every tag of
/// `<namespace>/<name>` on that id (`latest`, the date, `inputs-<hash>`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LocalImage {
    pub name: String,
    pub id: String,
    pub tags: Vec<String>,
}

/// The plan for pushing some images.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PushPlan {
    /// `host[:port]`, as configured.
    pub registry: String,
    pub transport: Transport,
    /// Steps run once before the images (the digests folder).
    pub setup: Vec<PushStep>,
    pub images: Vec<ImagePush>,
}

/// The plan for pushing one image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ImagePush {
    pub name: String,
    /// The local image id pushed.
    pub id: String,
    /// `<registry>/<namespace path>/<name>`.
    pub destination: String,
    /// The tag the content goes up with: `inputs-<hash>`, the same for the same inputs.
    pub content_tag: String,
    /// The tags pointed at the pushed digest afterwards, in order (`latest` last).
    pub moving_tags: Vec<String>,
    /// Where the pushed digest is written (relative to the workspace root) once every tag points at it.
    pub digest_file: Utf8PathBuf,
    pub steps: Vec<PushStep>,
}

/// One step of a push; each renders to exactly one [`Command`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum PushStep {
    /// `mkdir -p DIR`.
    CreateDir { dir: Utf8PathBuf },
    /// `buildah push --digestfile FILE IMAGE docker://DESTINATION:TAG`: uploads the content (blobs the
    /// registry has are skipped) and sets the content tag.
    PushContent { image: String, destination: String, tag: String, digest_file: Utf8PathBuf, transport: Transport },
    /// `digest=$(cat FILE)`.
    ReadDigest { file: Utf8PathBuf },
    /// `skopeo copy --preserve-digests docker://DESTINATION@$digest docker://DESTINATION:TAG`: points a
    /// tag at the pushed manifest; every blob is already there, nothing is uploaded.
    MoveTag { destination: String, tag: String, transport: Transport },
    /// `mv PENDING FILE`: the digest file changes only once every tag points at the digest.
    Record { pending: Utf8PathBuf, file: Utf8PathBuf },
}

impl super::step::PlanStep for PushStep {
    fn command(&self) -> Command {
        PushStep::command(self)
    }

    fn kind(&self) -> &'static str {
        PushStep::kind(self)
    }

    fn retry(&self) -> super::step::Retry {
        if self.is_remote() {
            super::step::Retry::Registry
        } else {
            super::step::Retry::Never
        }
    }
}

impl PushStep {
    /// A short name for progress lines and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            PushStep::CreateDir { .. } => "mkdir",
            PushStep::PushContent { .. } => "push",
            PushStep::ReadDigest { .. } => "read digest",
            PushStep::MoveTag { .. } => "tag",
            PushStep::Record { .. } => "record",
        }
    }

    /// Whether the step talks to the registry (and may fail for network reasons).
    pub fn is_remote(&self) -> bool {
        matches!(self, PushStep::PushContent { .. } | PushStep::MoveTag { .. })
    }

    /// The one command this step runs.
    pub fn command(&self) -> Command {
        match self {
            PushStep::CreateDir { dir } => Command::new(["mkdir", "-p", dir.as_str()]),
            PushStep::PushContent { image, destination, tag, digest_file, transport } => {
                let mut command =
                    Command::new(["buildah", "push", "--quiet", "--retry", "0", "--retry-delay", BUILDAH_RETRY_DELAY]);
                if let Some(dir) = &transport.cert_dir {
                    command = command.arg("--cert-dir").arg(dir.as_str());
                }
                if let Some(file) = &transport.authfile {
                    command = command.arg("--authfile").arg(file.as_str());
                }
                if !transport.tls_verify {
                    command = command.arg("--tls-verify=false");
                }
                command
                    .arg("--digestfile")
                    .arg(digest_file.as_str())
                    .arg(image.as_str())
                    .arg(format!("docker://{destination}:{tag}"))
            }
            PushStep::ReadDigest { file } => Command::new(["cat", file.as_str()]).assigning(DIGEST),
            PushStep::MoveTag { destination, tag, transport } => {
                let mut command = Command::new(["skopeo", "copy", "--quiet", "--preserve-digests"]);
                if let Some(dir) = &transport.cert_dir {
                    command = command.args(["--src-cert-dir", dir.as_str(), "--dest-cert-dir", dir.as_str()]);
                }
                if let Some(file) = &transport.authfile {
                    command = command.arg("--authfile").arg(file.as_str());
                }
                if !transport.tls_verify {
                    command = command.args(["--src-tls-verify=false", "--dest-tls-verify=false"]);
                }
                let source = Word(vec![Piece::Text(format!("docker://{destination}@")), Piece::Var(DIGEST)]);
                command.arg(source).arg(format!("docker://{destination}:{tag}"))
            }
            PushStep::Record { pending, file } => Command::new(["mv", pending.as_str(), file.as_str()]),
        }
    }
}

/// The registry's `host[:port]`: what names its `certs.d` folder and its auth file entry.
pub fn registry_host(registry: &str) -> &str {
    registry.split('/').next().unwrap_or(registry)
}

/// The namespace without its host part: `localhost/gentoo` → `gentoo`, `gentoo` → `gentoo`. The first
/// component is a host when it has a `.` or a `:`, or is `localhost` (the rule image references use).
pub fn namespace_path(namespace: &str) -> &str {
    let namespace = namespace.trim_end_matches('/');
    match namespace.split_once('/') {
        Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => rest,
        _ => namespace,
    }
}

/// `<registry>/<namespace path>/<name>`.
pub fn destination(registry: &str, namespace: &str, name: &str) -> String {
    format!("{}/{}/{name}", registry.trim_end_matches('/'), namespace_path(namespace))
}

/// The folder digest files go to, relative to the workspace root.
pub fn digests_dir(settings: &Settings) -> Utf8PathBuf {
    settings.work_dir.join("digests")
}

/// Plans pushing `images` to the configured registry.
pub fn plan(images: &[LocalImage], settings: &Settings) -> Result<PushPlan> {
    let registry = registry(settings)?;
    let transport = Transport {
        cert_dir: settings.certs_dir.as_ref().map(|dir| dir.join(registry_host(registry))),
        authfile: settings.authfile.clone(),
        tls_verify: settings.tls_verify,
    };
    let dir = digests_dir(settings);
    let images = images
        .iter()
        .map(|image| plan_image(image, registry, &settings.namespace, &dir, &transport))
        .collect::<Result<_>>()?;
    Ok(PushPlan { registry: registry.to_owned(), transport, setup: vec![PushStep::CreateDir { dir }], images })
}

fn plan_image(
    image: &LocalImage,
    registry: &str,
    namespace: &str,
    digests: &Utf8Path,
    transport: &Transport,
) -> Result<ImagePush> {
    let name = &image.name;
    // The content tag names what the image is made of: its input hash, for a root imported from a
    // tarball the tarball's digest, for the rig root the hash of its inputs.
    let (content, mut moving): (Vec<&String>, Vec<&String>) = image.tags.iter().partition(|tag| {
        [INPUTS_TAG_PREFIX, super::root_import::DIGEST_TAG_PREFIX, super::rig_root::REMOTE_TAG_PREFIX]
            .iter()
            .any(|prefix| tag.starts_with(prefix))
    });
    let Some(content_tag) = content.iter().min().map(|tag| tag.to_string()) else {
        bail!(
            "image `{name}` has no `{INPUTS_TAG_PREFIX}<hash>` tag in local storage (tags: {}): build it again \
             with `cargo xtask build {name}`",
            image.tags.join(", ")
        );
    };
    // Further input-hash tags (there should be none) move like the others; `latest` moves last.
    moving.extend(content.into_iter().filter(|tag| **tag != content_tag));
    moving.sort_by_key(|tag| (*tag == "latest", tag.to_string()));
    moving.dedup();
    let moving_tags: Vec<String> = moving.into_iter().cloned().collect();

    let destination = destination(registry, namespace, name);
    let stem = file_stem(name);
    let digest_file = digests.join(format!("{stem}.digest"));
    let pending = digests.join(format!("{stem}.digest.pushing"));
    let mut steps = vec![
        PushStep::PushContent {
            image: image.id.clone(),
            destination: destination.clone(),
            tag: content_tag.clone(),
            digest_file: pending.clone(),
            transport: transport.clone(),
        },
        PushStep::ReadDigest { file: pending.clone() },
    ];
    for tag in &moving_tags {
        steps.push(PushStep::MoveTag {
            destination: destination.clone(),
            tag: tag.clone(),
            transport: transport.clone(),
        });
    }
    steps.push(PushStep::Record { pending, file: digest_file.clone() });
    Ok(ImagePush {
        name: name.clone(),
        id: image.id.clone(),
        destination,
        content_tag,
        moving_tags,
        digest_file,
        steps,
    })
}

/// The configured registry: `host[:port]`, optionally followed by a path; no scheme, no spaces.
pub fn registry(settings: &Settings) -> Result<&str> {
    let Some(registry) = settings.registry.as_deref() else {
        bail!(
            "no registry to push to: pass `--registry HOST:PORT`, set BUILDAH_GENTOO_REGISTRY or `registry` in \
             buildah-gentoo.toml"
        );
    };
    let host = registry_host(registry);
    let host_ok = !host.is_empty() && host.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b));
    let rest_ok = registry.bytes().all(|b| b.is_ascii_alphanumeric() || b".-_:/[]".contains(&b));
    if registry.contains("://") || !host_ok || !rest_ok {
        bail!("registry `{registry}` is not a registry address: expected `host[:port]`, e.g. `localhost:5000`");
    }
    Ok(registry)
}

/// The push plan as a POSIX shell script, run from the workspace root.
pub fn render(plan: &PushPlan, title: &str) -> String {
    let mut out = String::new();
    out.push_str("#!/bin/sh\n");
    out.push_str(&format!("# buildah-gentoo push: {title} to {}\n", plan.registry));
    out.push_str("# Run from the workspace root. Content goes up first, under the input-hash tag; the moving tags\n");
    out.push_str("# follow, pointed at the pushed digest. `cargo xtask push` retries registry commands that fail\n");
    out.push_str("# for transient reasons; this script runs each once.\n");
    if !plan.transport.tls_verify {
        out.push_str("# WARNING: TLS verification is off (tls-verify = false): the registry is not authenticated.\n");
    }
    out.push_str("set -eu\n");
    for step in &plan.setup {
        out.push_str(&super::script::line(step));
        out.push('\n');
    }
    for image in &plan.images {
        out.push_str(&format!(
            "\n# Image `{}` (local id {}) to {}\n",
            image.name,
            &image.id[..12.min(image.id.len())],
            image.destination
        ));
        for step in &image.steps {
            out.push_str(&super::script::line(step));
            out.push('\n');
        }
        out.push_str(&format!("echo {}@\"${{{}}}\"\n", quote(&image.destination), DIGEST.0));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        let mut settings = Settings::defaults("/var/cache".into());
        settings.registry = Some("localhost:5443".into());
        settings.certs_dir = Some("/etc/bg/certs".into());
        settings.authfile = Some("/etc/bg/auth.json".into());
        settings
    }

    fn base() -> LocalImage {
        LocalImage {
            name: "rig/base".into(),
            id: "0123456789abcdef".repeat(4),
            tags: vec!["latest".into(), "inputs-0d74c3d5cbb1374d".into(), "20260101".into()],
        }
    }

    #[test]
    fn a_tarball_root_goes_up_under_its_digest_tag() {
        let root = LocalImage {
            name: "root/stage3-amd64-openrc".into(),
            id: "0123456789abcdef".repeat(4),
            tags: vec!["latest".into(), "sha512-0d74c3d5cbb1374d".into()],
        };
        let planned = plan(&[root], &settings()).unwrap();
        assert_eq!(planned.images[0].content_tag, "sha512-0d74c3d5cbb1374d");
        assert_eq!(planned.images[0].moving_tags, vec!["latest".to_owned()]);
        assert_eq!(planned.images[0].destination, "localhost:5443/gentoo/root/stage3-amd64-openrc");
        // An image with neither tag is still refused.
        let bare = LocalImage { tags: vec!["latest".into()], ..base() };
        assert!(plan(&[bare], &settings()).is_err());
    }

    #[test]
    fn namespace_loses_only_a_host() {
        assert_eq!(namespace_path("localhost/gentoo"), "gentoo");
        assert_eq!(namespace_path("registry.example:5000/ops/gentoo/"), "ops/gentoo");
        assert_eq!(namespace_path("gentoo"), "gentoo");
        assert_eq!(namespace_path("team/gentoo"), "team/gentoo");
        assert_eq!(destination("localhost:5443", "localhost/gentoo", "rig/base"), "localhost:5443/gentoo/rig/base");
    }

    #[test]
    fn content_first_then_moving_tags_latest_last() {
        let plan = plan(&[base()], &settings()).unwrap();
        let image = &plan.images[0];
        assert_eq!(image.content_tag, "inputs-0d74c3d5cbb1374d");
        assert_eq!(image.moving_tags, ["20260101", "latest"]);
        let kinds: Vec<&str> = image.steps.iter().map(PushStep::kind).collect();
        assert_eq!(kinds, ["push", "read digest", "tag", "tag", "record"]);
        assert_eq!(plan.transport.cert_dir.as_deref(), Some(Utf8Path::new("/etc/bg/certs/localhost:5443")));
    }

    #[test]
    fn renders_paths_never_secrets() {
        let script = render(&plan(&[base()], &settings()).unwrap(), "rig/base");
        let id = "0123456789abcdef".repeat(4);
        let expected = format!(
            r#"#!/bin/sh
# buildah-gentoo push: rig/base to localhost:5443
# Run from the workspace root. Content goes up first, under the input-hash tag; the moving tags
# follow, pointed at the pushed digest. `cargo xtask push` retries registry commands that fail
# for transient reasons; this script runs each once.
set -eu
mkdir -p target/buildah-gentoo/digests

# Image `rig/base` (local id 0123456789ab) to localhost:5443/gentoo/rig/base
buildah push \
    --quiet \
    --retry 0 \
    --retry-delay 100ms \
    --cert-dir /etc/bg/certs/localhost:5443 \
    --authfile /etc/bg/auth.json \
    --digestfile target/buildah-gentoo/digests/rig+base.digest.pushing {id} docker://localhost:5443/gentoo/rig/base:inputs-0d74c3d5cbb1374d
digest=$(cat target/buildah-gentoo/digests/rig+base.digest.pushing)
skopeo copy \
    --quiet \
    --preserve-digests \
    --src-cert-dir /etc/bg/certs/localhost:5443 \
    --dest-cert-dir /etc/bg/certs/localhost:5443 \
    --authfile /etc/bg/auth.json docker://localhost:5443/gentoo/rig/base@"${{digest}}" docker://localhost:5443/gentoo/rig/base:20260101
skopeo copy \
    --quiet \
    --preserve-digests \
    --src-cert-dir /etc/bg/certs/localhost:5443 \
    --dest-cert-dir /etc/bg/certs/localhost:5443 \
    --authfile /etc/bg/auth.json docker://localhost:5443/gentoo/rig/base@"${{digest}}" docker://localhost:5443/gentoo/rig/base:latest
mv target/buildah-gentoo/digests/rig+base.digest.pushing target/buildah-gentoo/digests/rig+base.digest
echo localhost:5443/gentoo/rig/base@"${{digest}}"
"#
        );
        assert_eq!(script, expected);
    }

    #[test]
    fn tls_verify_off_is_explicit_and_warned() {
        let mut insecure = settings();
        insecure.tls_verify = false;
        insecure.certs_dir = None;
        insecure.authfile = None;
        let script = render(&plan(&[base()], &insecure).unwrap(), "rig/base");
        assert!(script.contains("# WARNING: TLS verification is off"), "{script}");
        for flag in ["'--tls-verify=false'", "'--src-tls-verify=false'", "'--dest-tls-verify=false'"] {
            assert!(script.contains(flag), "{flag} in {script}");
        }
        assert!(!script.contains("--cert-dir") && !script.contains("--authfile"), "{script}");
        let verified = render(&plan(&[base()], &settings()).unwrap(), "rig/base");
        assert!(!verified.contains("tls-verify"), "{verified}");
    }

    #[test]
    fn refuses_what_cannot_be_pushed() {
        let mut unset = settings();
        unset.registry = None;
        assert!(format!("{:#}", plan(&[base()], &unset).unwrap_err()).contains("--registry HOST:PORT"));
        unset.registry = Some("https://localhost:5443".into());
        assert!(format!("{:#}", plan(&[base()], &unset).unwrap_err()).contains("expected `host[:port]`"));
        let untagged = LocalImage { tags: vec!["latest".into()], ..base() };
        let error = format!("{:#}", plan(&[untagged], &settings()).unwrap_err());
        assert!(error.contains("no `inputs-<hash>` tag"), "{error}");
    }
}
