//! What the registry holds, asked with skopeo (never pulling a layer): the id of an image by tag. An
//! image id is the digest of its config, which the manifest names: one small request per question.

use std::cell::Cell;

use anyhow::{Context as _, Result};
use xshell::{cmd, Shell};

use crate::plan::push::{destination, registry, Transport};
use crate::settings::Settings;

/// The configured registry, as CI jobs and `build --remote-check` ask it.
pub struct RemoteRegistry<'a> {
    sh: &'a Shell,
    registry: String,
    namespace: String,
    transport: Transport,
    /// How many questions went to the registry (the figure a no-op pipeline is measured by).
    queries: Cell<usize>,
}

impl<'a> RemoteRegistry<'a> {
    pub fn new(sh: &'a Shell, settings: &Settings) -> Result<RemoteRegistry<'a>> {
        let registry = registry(settings)?.to_owned();
        let transport = Transport {
            cert_dir: settings.certs_dir.as_ref().map(|dir| dir.join(crate::plan::push::registry_host(&registry))),
            authfile: settings.authfile.clone(),
            tls_verify: settings.tls_verify,
        };
        Ok(RemoteRegistry { sh, registry, namespace: settings.namespace.clone(), transport, queries: Cell::new(0) })
    }

    /// `<registry>/<namespace path>/<name>`.
    pub fn repository(&self, name: &str) -> String {
        destination(&self.registry, &self.namespace, name)
    }

    /// The transport options of buildah and skopeo (certificates folder, auth file, TLS).
    pub fn options(&self, tls_flag: &str) -> Vec<String> {
        let mut options = Vec::new();
        if let Some(dir) = &self.transport.cert_dir {
            options.push(format!("--cert-dir={dir}"));
        }
        if let Some(file) = &self.transport.authfile {
            options.push(format!("--authfile={file}"));
        }
        if !self.transport.tls_verify {
            options.push(format!("{tls_flag}=false"));
        }
        options
    }

    /// The id of `<repository of name>:<tag>`, or `None` when the registry has no such tag.
    pub fn image_id(&self, name: &str, tag: &str) -> Result<Option<String>> {
        let reference = format!("docker://{}:{tag}", self.repository(name));
        self.queries.set(self.queries.get() + 1);
        let options = self.options("--tls-verify");
        let output = cmd!(self.sh, "skopeo inspect --raw --retry-times 2 {options...} {reference}")
            .quiet()
            .ignore_status()
            .output()
            .with_context(|| format!("running skopeo inspect {reference}"))?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        if !output.status.success() {
            if is_not_found(&stderr) {
                return Ok(None);
            }
            anyhow::bail!("asking the registry for {reference}: {}", stderr.trim());
        }
        let manifest: serde_json::Value = serde_json::from_slice(&output.stdout)
            .with_context(|| format!("the manifest of {reference} is not JSON"))?;
        let digest = manifest["config"]["digest"]
            .as_str()
            .with_context(|| format!("the manifest of {reference} names no config (an index?)"))?;
        Ok(Some(digest.trim_start_matches("sha256:").to_owned()))
    }

    /// The id of an image on another registry (a registry root such as `docker.io/gentoo/stage3`),
    /// without pulling it: the digest of its config, for this machine's platform.
    pub fn foreign_image_id(&self, reference: &str) -> Result<String> {
        self.queries.set(self.queries.get() + 1);
        let source = format!("docker://{reference}");
        let config = cmd!(self.sh, "skopeo inspect --config --raw --retry-times 2 {source}")
            .quiet()
            .output()
            .with_context(|| format!("asking for the config of {reference}"))?;
        if !config.status.success() {
            anyhow::bail!("asking for the config of {reference}: {}", String::from_utf8_lossy(&config.stderr).trim());
        }
        Ok(crate::hash::sha256(&config.stdout))
    }

    /// Pulls `<repository of name>:<tag>` and names it `local_tags` in local storage, as a local
    /// build or import names it; returns the pulled reference. With `expected`, an image of another
    /// id (the tag moved since it was asked for) is refused.
    pub fn pull_as(&self, name: &str, tag: &str, expected: Option<&str>, local_tags: &[String]) -> Result<String> {
        let source = format!("docker://{}:{tag}", self.repository(name));
        let options = self.options("--tls-verify");
        let pulled = cmd!(self.sh, "buildah pull --quiet {options...} {source}")
            .quiet()
            .read()
            .with_context(|| format!("pulling {source}"))?;
        let id = pulled.trim().trim_start_matches("sha256:").to_owned();
        if let Some(expected) = expected.filter(|expected| *expected != id) {
            anyhow::bail!("{source} is image {id}, not {expected} as the registry said a moment ago");
        }
        cmd!(self.sh, "buildah tag {id} {local_tags...}")
            .quiet()
            .run()
            .with_context(|| format!("naming {source} {}", local_tags.join(" ")))?;
        Ok(source)
    }

    /// How many questions went to the registry so far.
    pub fn queries(&self) -> usize {
        self.queries.get()
    }
}

/// Whether skopeo's error says the tag (or the repository) is not there.
fn is_not_found(stderr: &str) -> bool {
    let text = stderr.to_ascii_lowercase();
    ["manifest unknown", "name unknown", "not found", "404"].iter().any(|needle| text.contains(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_tags_are_told_from_failures() {
        assert!(is_not_found("Error: reading manifest inputs-x in localhost:5000/ns/a: manifest unknown"));
        assert!(is_not_found("Error: initializing source docker://h/ns/a:t: reading manifest t in h/ns/a: name unknown: repository name not known to registry"));
        assert!(!is_not_found("Error: pinging container registry localhost:5000: connect: connection refused"));
        assert!(!is_not_found("x509: certificate signed by unknown authority"));
    }
}
