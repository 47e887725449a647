//! Reading one file of a built image: a short-lived container, mounted, read, removed.

use anyhow::{bail, Context, Result};
use camino::Utf8Path;
use xshell::{cmd, Shell};

/// The contents of `path` in the image `reference`, or `None` when the image lacks the file.
pub fn read(sh: &Shell, reference: &str, path: &str) -> Result<Option<String>> {
    let name = format!("bg-{}-read", std::process::id());
    cmd!(sh, "buildah from --pull=never --quiet --name {name} {reference}")
        .quiet()
        .ignore_stdout()
        .run()
        .with_context(|| format!("image {reference} is not in local storage: build it first"))?;
    let result = (|| {
        let mount = cmd!(sh, "buildah mount {name}").quiet().read().context("mounting it")?;
        let file = Utf8Path::new(mount.trim()).join(path.trim_start_matches('/'));
        match std::fs::read_to_string(&file) {
            Ok(text) => Ok(Some(text)),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(error).with_context(|| format!("reading {path} of {reference}")),
        }
    })();
    if let Err(error) = cmd!(sh, "buildah rm {name}").quiet().ignore_stdout().run() {
        if result.is_ok() {
            bail!("removing the container {name}: {error}");
        }
    }
    result
}
