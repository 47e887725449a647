//! Stage3 tarballs as root images: finding the digest a tarball must have (the definition's, or the
//! SHA512 line of `<tarball>.DIGESTS`), and importing it unless an image of the same digest exists.
//! The steps themselves are planned by [`crate::plan::root_import`].

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::{bail, Context as _, Result};
use camino::{Utf8Path, Utf8PathBuf};
use image_defs::registry::ResolvedParent;
use image_defs::{Image, Registry, Root};
use xshell::Shell;

use super::{indent, StepRunner};
use crate::plan::root_import::{plan_import, root_repository, TarballImport};
use crate::plan::{file_stem, step::IMAGE, ImageIndex, ImagePlan};
use crate::settings::Settings;

/// A tarball to import, as a user or `cargo xtask catalyst` names it.
#[derive(Clone, Debug)]
pub struct TarballRoot {
    pub path: Utf8PathBuf,
    /// `sha512:<hex>`; `None` reads `<path>.DIGESTS`.
    pub digest: Option<String>,
    /// A binary OpenPGP keyring; `<path>.asc` must then be a good signature by one of its keys.
    pub keyring: Option<Utf8PathBuf>,
}

/// What [`import`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Imported {
    /// The tag marking this tarball's digest (`<repository>:sha512-<first 16 hex digits>`).
    pub reference: String,
    pub id: String,
    /// The image existed already: nothing was imported.
    pub skipped: bool,
}

/// Imports `tarball` as `repository` (tagged `:latest` and with its digest), unless storage holds an
/// import of the same digest already.
pub fn import(
    sh: &Shell,
    settings: &Settings,
    workspace: &Utf8Path,
    tarball: &TarballRoot,
    repository: &str,
) -> Result<Imported> {
    let resolved = resolve_root(workspace, tarball, repository)?;
    // The plan's paths are relative to the workspace root.
    let _in_workspace = sh.push_dir(workspace);
    let mut index = super::storage::load_index(sh)?;
    ensure(sh, workspace, settings, &mut index, &resolved)
}

/// What importing `tarball` as `repository` takes: the file checked, the digest it must have.
pub fn resolve_root(workspace: &Utf8Path, tarball: &TarballRoot, repository: &str) -> Result<TarballImport> {
    resolve(
        workspace,
        tarball.path.as_str(),
        tarball.digest.as_deref(),
        tarball.keyring.as_ref().map(|keyring| keyring.as_str()),
        repository.to_owned(),
    )
}

/// The tarball roots `images` start from directly (as parent or builder), resolved: declared path →
/// what to import. Images further down a tarball's tree need neither the tarball nor its digest.
pub fn resolve_all(
    workspace: &Utf8Path,
    settings: &Settings,
    registry: &Registry,
    images: &[&'static dyn Image],
) -> Result<BTreeMap<String, TarballImport>> {
    let mut tarballs = BTreeMap::new();
    for image in images {
        let direct = [Some(registry.parent_of(*image)), registry.builder_of(*image)];
        for (path, digest, keyring) in direct.into_iter().flatten().filter_map(|parent| match parent {
            ResolvedParent::Root(Root::Tarball { path, digest, keyring }) => Some((path, digest, keyring)),
            _ => None,
        }) {
            if tarballs.contains_key(path) {
                continue;
            }
            let resolved = resolve(workspace, path, digest, keyring, root_repository(settings, path))
                .with_context(|| format!("image `{}` stands on the tarball root {path}", image.name()))?;
            tarballs.insert(path.to_owned(), resolved);
        }
    }
    Ok(tarballs)
}

/// Checks that the tarball (and its signature and keyring, when a keyring is given) exists and finds
/// the digest it must have.
fn resolve(
    workspace: &Utf8Path,
    path: &str,
    digest: Option<&str>,
    keyring: Option<&str>,
    repository: String,
) -> Result<TarballImport> {
    let on_disk = workspace.join(path);
    if !on_disk.is_file() {
        bail!("the stage3 tarball {on_disk} does not exist");
    }
    let sha512 = match digest {
        Some(digest) => parse_declared_digest(digest)?,
        None => {
            let digests = Utf8PathBuf::from(format!("{on_disk}.DIGESTS"));
            let text = std::fs::read_to_string(&digests).with_context(|| {
                format!(
                    "reading {digests}: a tarball root needs the digest it must have, in the definition \
                     (`Root::tarball(..).digest(\"sha512:<hex>\")`) or in that file"
                )
            })?;
            let file_name = on_disk.file_name().unwrap_or(path);
            sha512_from_digests(&text, file_name)
                .with_context(|| format!("{digests} has no SHA512 line for {file_name}"))?
        }
    };
    if let Some(keyring) = keyring {
        let keyring_path = workspace.join(keyring);
        let bytes = std::fs::read(&keyring_path).with_context(|| format!("reading the keyring {keyring_path}"))?;
        if bytes.starts_with(b"-----BEGIN PGP") {
            bail!(
                "the keyring {keyring_path} is ASCII-armored; gpgv needs a binary keyring: \
                 `gpg --dearmor --output KEYRING.gpg {keyring_path}` and name that file"
            );
        }
        let signature = Utf8PathBuf::from(format!("{on_disk}.asc"));
        if !signature.is_file() {
            bail!("a keyring is given for {path}, but its signature {signature} does not exist");
        }
    }
    Ok(TarballImport { path: path.to_owned(), sha512, keyring: keyring.map(str::to_owned), repository })
}

/// `sha512:<128 hex digits>` → the hex digits, lower-case.
fn parse_declared_digest(digest: &str) -> Result<String> {
    let hex = digest.strip_prefix("sha512:").with_context(|| {
        format!("the tarball digest `{digest}` does not start with `sha512:` (expected `sha512:<128 hex digits>`)")
    })?;
    if hex.len() != 128 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        bail!("the tarball digest `{digest}` is not `sha512:` followed by 128 hex digits");
    }
    Ok(hex.to_ascii_lowercase())
}

/// The SHA512 digest of `file_name` in a Gentoo `.DIGESTS` file: `# SHA512 HASH` introduces the next
/// lines' algorithm (`# BLAKE2B HASH` another's; their digests have the same length, so the header is
/// what tells them apart), and each line is `<hex>  <file name>`. A PGP clear-signed file's armour
/// lines are skipped.
fn sha512_from_digests(text: &str, file_name: &str) -> Option<String> {
    let mut in_sha512 = false;
    for line in text.lines().map(str::trim) {
        if let Some(header) = line.strip_prefix('#') {
            in_sha512 = header.trim().eq_ignore_ascii_case("SHA512 HASH");
            continue;
        }
        let mut words = line.split_whitespace();
        let (Some(hex), Some(name)) = (words.next(), words.next()) else { continue };
        let name = name.trim_start_matches('*');
        if in_sha512 && name == file_name && hex.len() == 128 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Some(hex.to_ascii_lowercase());
        }
    }
    None
}

/// Imports `tarball` unless `index` shows an image with its digest tag. Returns its id; the index
/// learns the new tags.
pub(super) fn ensure(
    sh: &Shell,
    workspace: &Utf8Path,
    settings: &Settings,
    index: &mut ImageIndex,
    tarball: &TarballImport,
) -> Result<Imported> {
    let reference = tarball.digest_tag();
    if let Some(id) = index.id(&reference) {
        println!("==> root {}: up to date ({} imported already)", tarball.repository, tarball.path);
        return Ok(Imported { reference, id: id.to_owned(), skipped: true });
    }
    crate::prerequisites::ensure(sh, crate::prerequisites::IMPORT_TOOLS)?;
    let plan = plan_import(tarball, settings);
    crate::build_context::write(workspace, &plan)?;
    let id = run(sh, workspace, settings, &plan)?;
    for tag in &plan.tags {
        index.insert(tag.resolve(&Default::default())?, id.clone());
    }
    Ok(Imported { reference, id, skipped: false })
}

/// Runs the planned import of a root (its build context written). Returns the image id.
pub(super) fn run(sh: &Shell, workspace: &Utf8Path, settings: &Settings, plan: &ImagePlan) -> Result<String> {
    let log = workspace.join(&settings.work_dir).join("logs").join(format!("{}.log", file_stem(&plan.name)));
    println!("==> root {}: importing (log {log})", plan.repository);
    let clock = Instant::now();
    let mut runner = StepRunner::new(sh, workspace, log.clone())?;
    runner.env("BUILDAH_ISOLATION", settings.isolation.as_str());
    runner.note(&format!("# root image {}", plan.repository));
    if let Err(failure) = runner.run_all(&plan.steps) {
        runner.clean_up(false);
        bail!(
            "importing the root {}: step {} ({}) failed: {}\n$ {}\nlast lines of the log {log}:\n{}",
            plan.repository,
            failure.index + 1,
            failure.kind,
            failure.reason,
            failure.command,
            indent(&runner.log_tail(10))
        );
    }
    println!("==> root {}: imported in {:.1}s", plan.repository, clock.elapsed().as_secs_f64());
    Ok(runner.var(IMAGE).unwrap_or_default().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12\
                       ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12";
    const BLAKE: &str = "cd34cd34cd34cd34cd34cd34cd34cd34cd34cd34cd34cd34cd34cd34cd34cd34\
                         cd34cd34cd34cd34cd34cd34cd34cd34cd34cd34cd34cd34cd34cd34cd34cd34";

    #[test]
    fn the_sha512_line_of_the_file_is_found_among_other_hashes_and_files() {
        let text = format!(
            "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n\
             # BLAKE2B HASH\n{BLAKE}  stage3.tar.xz\n# SHA512 HASH\n{BLAKE}  stage3.tar.xz.CONTENTS.gz\n\
             {}  stage3.tar.xz\n-----BEGIN PGP SIGNATURE-----\n",
            SHA.to_uppercase()
        );
        assert_eq!(sha512_from_digests(&text, "stage3.tar.xz").as_deref(), Some(SHA));
        assert_eq!(sha512_from_digests(&format!("# BLAKE2B HASH\n{BLAKE}  stage3.tar.xz\n"), "stage3.tar.xz"), None);
        assert_eq!(sha512_from_digests(&format!("# SHA512 HASH\n{SHA}  other.tar.xz\n"), "stage3.tar.xz"), None);
    }

    #[test]
    fn a_tarball_without_digest_or_with_an_armored_keyring_or_no_signature_is_refused_clearly() {
        let dir = tempfile::tempdir().unwrap();
        let workspace = Utf8Path::from_path(dir.path()).unwrap();
        let resolve = |digest, keyring| resolve(workspace, "stage3.tar.xz", digest, keyring, "r".into());
        let error = format!("{:#}", resolve(None, None).unwrap_err());
        assert!(error.contains("stage3.tar.xz does not exist"), "{error}");

        std::fs::write(workspace.join("stage3.tar.xz"), "tar").unwrap();
        let error = format!("{:#}", resolve(None, None).unwrap_err());
        assert!(error.contains("stage3.tar.xz.DIGESTS") && error.contains(".digest(\"sha512:<hex>\")"), "{error}");

        std::fs::write(workspace.join("stage3.tar.xz.DIGESTS"), format!("# SHA512 HASH\n{SHA}  stage3.tar.xz\n"))
            .unwrap();
        assert_eq!(resolve(None, None).unwrap().sha512, SHA);

        std::fs::write(workspace.join("key.asc"), "-----BEGIN PGP PUBLIC KEY BLOCK-----\n").unwrap();
        let error = format!("{:#}", resolve(None, Some("key.asc")).unwrap_err());
        assert!(error.contains("ASCII-armored") && error.contains("gpg --dearmor"), "{error}");

        std::fs::write(workspace.join("key.gpg"), [0x99u8, 0x00]).unwrap();
        let error = format!("{:#}", resolve(None, Some("key.gpg")).unwrap_err());
        assert!(error.contains("stage3.tar.xz.asc does not exist"), "{error}");
        std::fs::write(workspace.join("stage3.tar.xz.asc"), "sig").unwrap();
        assert_eq!(resolve(None, Some("key.gpg")).unwrap().keyring.as_deref(), Some("key.gpg"));
    }

    #[test]
    fn declared_digests_must_be_sha512_hex() {
        assert_eq!(parse_declared_digest(&format!("sha512:{}", SHA.to_uppercase())).unwrap(), SHA);
        let error = parse_declared_digest(&format!("sha256:{}", &SHA[..64])).unwrap_err().to_string();
        assert!(error.contains("does not start with `sha512:`"), "{error}");
        let error = parse_declared_digest("sha512:abc").unwrap_err().to_string();
        assert!(error.contains("128 hex digits"), "{error}");
    }
}
