//! Plans the import of a stage3 tarball as a root image: check the digest (and the signature, when
//! a keyring is given), unpack into an empty container keeping numeric owners, modes, xattrs and file
//! capabilities, apply what the official stage3 images set, commit and tag. The image carries the
//! tarball's digest in a label and a tag, so a tarball already imported is not imported again.

use camino::Utf8PathBuf;

use super::command::Word;
use super::step::{CONTAINER, IMAGE, ROOT_MOUNT, WORKSPACE};
use super::{
    container_name, file_stem, Base, ConfigOption, ContextFile, ImagePlan, Pull, Status, Step, IMAGE_LABEL, SCRATCH,
};
use crate::settings::Settings;

/// The label carrying the `sha512:<hex>` digest of the tarball a root image was imported from.
pub const TARBALL_LABEL: &str = "io.buildah-gentoo.tarball";
/// Tags carrying a tarball digest start with this.
pub const DIGEST_TAG_PREFIX: &str = "sha512-";
/// What the official `gentoo/stage3` images change in the unpacked stage3 (a fixed script, no value
/// of the user's in it): OpenRC learns it runs in a container, and the clock zone is UTC. A root
/// without `/etc/rc.conf` (not OpenRC) is left as it is.
const STAGE3_TWEAKS: &str = "if [ -f /etc/rc.conf ]; then \
     sed -i -e 's/#rc_sys=\"\"/rc_sys=\"docker\"/g' /etc/rc.conf; fi && echo UTC > /etc/timezone";

/// A tarball to import, with the digest it must have (resolved by the caller: from the definition
/// or the `.DIGESTS` file next to it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TarballImport {
    /// As declared: relative to the workspace root, or absolute.
    pub path: String,
    /// The expected SHA-512, 128 lower-case hex digits.
    pub sha512: String,
    /// A binary OpenPGP keyring: `<path>.asc` must be a good signature by one of its keys.
    pub keyring: Option<String>,
    /// The image repository to tag (`<namespace>/root/<file name>` for a tarball root).
    pub repository: String,
}

impl TarballImport {
    /// The tag marking an import of exactly this tarball.
    pub fn digest_tag(&self) -> String {
        format!("{}:{DIGEST_TAG_PREFIX}{}", self.repository, &self.sha512[..16])
    }

    /// The value of [`TARBALL_LABEL`].
    pub fn digest_label(&self) -> String {
        format!("sha512:{}", self.sha512)
    }
}

/// `<namespace>/root/<file name without the tar extensions>`, in the characters OCI names allow.
pub fn root_repository(settings: &Settings, tarball_path: &str) -> String {
    let file = tarball_path.rsplit('/').next().unwrap_or(tarball_path);
    let mut stem = file;
    for extension in [".xz", ".bz2", ".zst", ".gz", ".tar", ".tbz2", ".txz", ".tgz"] {
        stem = stem.strip_suffix(extension).unwrap_or(stem);
    }
    let mut name: String = stem
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_' { c } else { '-' })
        .collect();
    name = name.trim_matches(|c: char| !c.is_ascii_alphanumeric()).to_owned();
    if name.is_empty() {
        name = "tarball".to_owned();
    }
    settings.repository_of(&format!("root/{name}"))
}

/// The steps that import `tarball`.
pub fn plan_import(tarball: &TarballImport, settings: &Settings) -> ImagePlan {
    let name = tarball.repository.rsplit_once("/root/").map_or("root", |(_, name)| name);
    let name = format!("root/{name}");
    let context_dir: Utf8PathBuf = settings.work_dir.join("context").join(file_stem(&name));
    let sums = "tarball.sha512";
    // `sha512sum --check` reads the expected digest and the path (relative to the workspace root,
    // where the plan runs) from a file in the build context.
    let context_files =
        vec![ContextFile { path: sums.into(), contents: format!("{}  {}\n", tarball.sha512, tarball.path) }];
    let path = || Word::text(tarball.path.as_str());
    let mut steps = vec![Step::CheckDigest { sums: Word::text(context_dir.join(sums).as_str()) }];
    if let Some(keyring) = &tarball.keyring {
        steps.push(Step::CheckSignature {
            keyring: absolute(keyring),
            signature: Word::text(format!("{}.asc", tarball.path)),
            file: path(),
        });
    }
    steps.extend([
        Step::From {
            into: CONTAINER,
            name: container_name(&name, "import"),
            image: Word::text(SCRATCH),
            pull: Pull::Never,
        },
        Step::Mount { container: CONTAINER, into: ROOT_MOUNT },
        Step::Unpack { archive: path(), into: ROOT_MOUNT },
        Step::Unmount { container: CONTAINER },
        Step::Run {
            container: CONTAINER,
            isolation: settings.isolation,
            mounts: vec![],
            env: vec![],
            argv: vec!["/bin/sh".into(), "-c".into(), STAGE3_TWEAKS.into()],
        },
        Step::Config {
            container: CONTAINER,
            options: vec![
                ConfigOption::Cmd(vec!["/bin/bash".into()]),
                ConfigOption::Workdir("/".into()),
                ConfigOption::Label(IMAGE_LABEL.into(), name.clone()),
                ConfigOption::Label(TARBALL_LABEL.into(), tarball.digest_label()),
            ],
        },
        // The tarball's own file times are kept (no --timestamp): the digest tag marks the import.
        Step::Commit { container: CONTAINER, into: IMAGE, timestamp: None, omit_history: false, docker_format: false },
    ]);
    let tags = vec![Word::text(format!("{}:latest", tarball.repository)), Word::text(tarball.digest_tag())];
    steps.push(Step::Tag { image: IMAGE, references: tags.clone() });
    ImagePlan {
        name,
        repository: tarball.repository.clone(),
        status: Status::Build,
        input_hash: None,
        tags,
        base: Base::Scratch,
        needs: Vec::new(),
        minimal: None,
        context_dir,
        context_files,
        sbom: None,
        prelude: Vec::new(),
        steps,
        input_parts: Default::default(),
        starts_from: Vec::new(),
    }
}

/// gpgv reads a keyring path without a `/` from its home folder, so a relative path is made
/// absolute (from the workspace root).
fn absolute(path: &str) -> Word {
    if path.starts_with('/') {
        Word::text(path)
    } else {
        Word::var_then(WORKSPACE, format!("/{path}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_repositories_are_valid_names_from_the_file_name() {
        let settings = Settings::defaults(camino::Utf8Path::new("/var/cache"));
        assert_eq!(
            root_repository(&settings, "/srv/stage3-amd64-openrc-20240101T170000Z.tar.xz"),
            "localhost/gentoo/root/stage3-amd64-openrc-20240101t170000z"
        );
        assert_eq!(root_repository(&settings, "builds/My Stage.tar.zst"), "localhost/gentoo/root/my-stage");
        assert_eq!(root_repository(&settings, "_.tar"), "localhost/gentoo/root/tarball");
    }
}
