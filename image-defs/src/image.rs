//! The [`Image`] trait: everything an image definition declares.
//!
//! Every method but [`Image::name`] and [`Image::parent`] has a default, so a typical image only
//! lists its packages and a few settings. Definitions declare; they do not compute.

use std::any::{Any, TypeId};

use crate::{Atom, PackageKeywords, PackageUse, UseList};

/// An image definition.
pub trait Image: Any + Send + Sync {
    /// The image's name, unique in the registry and valid as an OCI repository path
    /// (`base`, `nginx`, `rig/hello`). The repository is `<namespace>/<name>`.
    fn name(&self) -> &'static str;

    /// What the image is built on: the image it derives from. For a [`Layout::Minimal`] image whose
    /// parent is full, the parent is its builder and the new root starts empty (scratch); whose parent
    /// is minimal, the new root starts from the parent.
    fn parent(&self) -> Parent;

    /// How the image is made from its parent: by emerging in a container of the parent (the default),
    /// or, minimal, by emerging into an empty root that holds only the run-time files.
    fn layout(&self) -> Layout {
        Layout::Full
    }

    /// The image (with portage) a minimal image's packages are emerged in. `None` (the default): its
    /// parent when the parent is full, else its minimal parent's builder (the nearest full ancestor).
    /// Only minimal images have a builder.
    fn builder(&self) -> Option<Parent> {
        None
    }

    /// A one-line description, shown by `list --json`.
    fn description(&self) -> &'static str {
        ""
    }

    /// The packages to emerge.
    fn packages(&self) -> Vec<Atom<'static>> {
        Vec::new()
    }

    /// Global USE flags, added to `USE` in the image's make.conf fragment.
    fn use_flags(&self) -> UseList<'static> {
        UseList::new("")
    }

    /// Per-package USE flags (`/etc/portage/package.use/<image>`).
    fn package_use(&self) -> Vec<PackageUse> {
        Vec::new()
    }

    /// Accepted keywords (`/etc/portage/package.accept_keywords/<image>`).
    fn accept_keywords(&self) -> Vec<PackageKeywords> {
        Vec::new()
    }

    /// Masked atoms (`/etc/portage/package.mask/<image>`).
    fn masks(&self) -> Vec<Atom<'static>> {
        Vec::new()
    }

    /// Unmasked atoms (`/etc/portage/package.unmask/<image>`).
    fn unmasks(&self) -> Vec<Atom<'static>> {
        Vec::new()
    }

    /// make.conf variables (name, value) for the image's make.conf fragment, e.g.
    /// `("NGINX_MODULES_HTTP", "access gzip proxy")`. Values are written quoted.
    fn make_conf(&self) -> Vec<(&'static str, &'static str)> {
        Vec::new()
    }

    /// Environment variables of the image config.
    fn env(&self) -> Vec<(&'static str, &'static str)> {
        Vec::new()
    }

    /// Labels of the image config.
    fn labels(&self) -> Vec<(&'static str, &'static str)> {
        Vec::new()
    }

    /// The entrypoint, as argv (`None` keeps the parent's).
    fn entrypoint(&self) -> Option<Vec<&'static str>> {
        None
    }

    /// The default command, as argv (`None` keeps the parent's).
    fn cmd(&self) -> Option<Vec<&'static str>> {
        None
    }

    /// Exposed ports.
    fn ports(&self) -> Vec<Port> {
        Vec::new()
    }

    /// The user the container runs as (`None` keeps the parent's).
    fn user(&self) -> Option<&'static str> {
        None
    }

    /// The working directory (`None` keeps the parent's).
    fn workdir(&self) -> Option<&'static str> {
        None
    }

    /// Files copied into the image after the packages are installed; see [`copy_file!`](crate::copy_file).
    fn files(&self) -> Vec<CopyFile> {
        Vec::new()
    }

    /// Whether `emerge --depclean --with-bdeps=n` runs after the install, removing build-only
    /// dependencies. `None` (the default) runs it for leaf images (images no other image builds on).
    /// Minimal images never need it (build-time dependencies stay in the builder); `Some(true)` on one
    /// is refused.
    fn depclean(&self) -> Option<bool> {
        None
    }

    /// Files removed at the end of the build (docs, man pages, headers, static libraries; for minimal
    /// images also the package database).
    fn cleanups(&self) -> Vec<Cleanup> {
        Vec::new()
    }

    /// Whether the site's CA certificate (the `site-ca` setting) is installed into the image's trust
    /// store. Only the CA certificate is ever installed: never a key, never a client certificate.
    fn trust_site_ca(&self) -> bool {
        false
    }

    /// A command (argv) run in the committed image after the build; a non-zero exit fails the build.
    fn test(&self) -> Option<Vec<&'static str>> {
        None
    }

    /// The implementing type's name, for error messages. Not meant to be overridden.
    #[doc(hidden)]
    fn type_name(&self) -> &'static str {
        std::any::type_name::<Self>()
    }
}

/// What an image is built on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parent {
    /// Another image of the registry.
    Image(ParentImage),
    /// A root filesystem that is not built by this tool.
    Root(Root),
}

impl Parent {
    /// Another image, by its Rust type: a misspelt type is a compile error.
    pub fn image<T: Image>() -> Parent {
        Parent::Image(ParentImage::Type { id: TypeId::of::<T>(), type_name: std::any::type_name::<T>() })
    }

    /// Another image, by its name (checked when the registry is validated).
    pub const fn named(name: &'static str) -> Parent {
        Parent::Image(ParentImage::Name(name))
    }

    /// An image on a registry, such as the official `docker.io/gentoo/stage3`.
    pub const fn registry(reference: &'static str) -> Parent {
        Parent::Root(Root::Registry(reference))
    }
}

impl Root {
    /// A stage3 tarball root, verified against `<path>.DIGESTS`; see [`Root::Tarball`].
    pub const fn tarball(path: &'static str) -> Root {
        Root::Tarball { path, digest: None, keyring: None }
    }

    /// This tarball root, verified against `sha512:<hex>` instead of `<path>.DIGESTS`.
    pub const fn digest(self, digest: &'static str) -> Root {
        match self {
            Root::Tarball { path, keyring, .. } => Root::Tarball { path, digest: Some(digest), keyring },
            _ => panic!("only a tarball root has a digest"),
        }
    }

    /// This tarball root, whose `<path>.asc` signature must verify against `keyring`.
    pub const fn keyring(self, keyring: &'static str) -> Root {
        match self {
            Root::Tarball { path, digest, .. } => Root::Tarball { path, digest, keyring: Some(keyring) },
            _ => panic!("only a tarball root has a keyring"),
        }
    }
}

/// A reference to a parent image in the registry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParentImage {
    Type { id: TypeId, type_name: &'static str },
    Name(&'static str),
}

/// A root filesystem an image tree starts from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Root {
    /// An image reference on a registry (`docker.io/gentoo/stage3:amd64-openrc`), optionally pinned
    /// by digest (`...@sha256:...`).
    Registry(&'static str),
    /// A stage3 tarball on disk (relative to the workspace root, or absolute; xz, bzip2, zstd, gzip or
    /// plain tar), imported as an image with owners, modes, xattrs and file capabilities kept. Build
    /// one with [`Root::tarball`].
    Tarball {
        path: &'static str,
        /// The expected `sha512:<hex>` digest; without one, the SHA512 line for the file in
        /// `<path>.DIGESTS` (as Gentoo publishes next to every stage3). One of the two is required.
        digest: Option<&'static str>,
        /// A binary OpenPGP keyring (`gpg --export`, or `gpg --dearmor` of an armored key): when
        /// given, `<path>.asc` must be a good detached signature by one of its keys.
        keyring: Option<&'static str>,
    },
    /// The offline test rig: Debian minbase with portage from PyPI, built from `tests/rig/`. It stands
    /// in for a stage3 on machines without Gentoo or internet.
    Rig,
}

/// How an image is made from its parent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Layout {
    /// emerge runs in a container of the parent: the image is the parent plus the packages, with
    /// everything the parent has (portage, compiler, python).
    #[default]
    Full,
    /// Two-phase build: a builder (an image with portage) emerges the packages with
    /// `--root` into a new root that starts empty (scratch) or from a minimal parent; run-time
    /// dependencies land in the new root, build-time ones stay in the builder. The image is the
    /// minimal parent plus that root.
    Minimal,
}

/// Files an image drops at the end of its build, to be smaller.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Cleanup {
    /// `/usr/share/doc`, `/usr/share/info`, `/usr/share/gtk-doc`.
    Docs,
    /// `/usr/share/man`.
    ManPages,
    /// `/usr/include`.
    Headers,
    /// Static libraries (`*.a`, `*.la`) under `/usr` (the whole root for minimal images).
    StaticLibraries,
    /// The package database (`/var/db/pkg`) and portage's bookkeeping (`/var/lib/portage`,
    /// `/var/cache/edb`). Minimal images only; kept by default, since SBOM tools read it. The image's
    /// package list stays in its `io.buildah-gentoo.packages` label either way.
    PackageDatabase,
}

impl Cleanup {
    /// The file cleanups (all but [`Cleanup::PackageDatabase`], which stays a choice of its own), for
    /// images that want to be as small as possible.
    pub const ALL: [Cleanup; 4] = [Cleanup::Docs, Cleanup::ManPages, Cleanup::Headers, Cleanup::StaticLibraries];
}

/// An exposed port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Port {
    pub number: u16,
    pub protocol: Protocol,
}

impl Port {
    pub const fn tcp(number: u16) -> Port {
        Port { number, protocol: Protocol::Tcp }
    }
    pub const fn udp(number: u16) -> Port {
        Port { number, protocol: Protocol::Udp }
    }
}

impl std::fmt::Display for Port {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let protocol = match self.protocol {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        };
        write!(f, "{}/{}", self.number, protocol)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Protocol {
    Tcp,
    Udp,
}

/// A file copied into the image from the folder beside its definition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CopyFile {
    /// The definition's source file (`file!()`), relative to the workspace root.
    pub definition: &'static str,
    /// The file, relative to the definition's folder.
    pub source: &'static str,
    /// The absolute destination path in the image.
    pub destination: &'static str,
    /// Unix permission bits (`None` keeps the source file's).
    pub mode: Option<u32>,
}

impl CopyFile {
    /// Panics (a compile error in const context) unless the destination is absolute and the source is
    /// a plain relative path inside the definition's folder.
    pub const fn new(definition: &'static str, source: &'static str, destination: &'static str) -> Self {
        let dest = destination.as_bytes();
        if dest.is_empty() || dest[0] != b'/' {
            panic!("copy_file!: the destination must be an absolute path");
        }
        let src = source.as_bytes();
        if src.is_empty() || src[0] == b'/' {
            panic!("copy_file!: the source must be a path relative to the definition's folder");
        }
        let mut i = 0;
        while i + 1 < src.len() {
            if src[i] == b'.' && src[i + 1] == b'.' {
                panic!("copy_file!: the source must not contain `..`");
            }
            i += 1;
        }
        CopyFile { definition, source, destination, mode: None }
    }

    pub const fn with_mode(mut self, mode: u32) -> Self {
        self.mode = Some(mode);
        self
    }

    /// The source path relative to the workspace root.
    pub fn source_path(&self) -> String {
        match self.definition.rsplit_once('/') {
            Some((folder, _)) => format!("{folder}/{}", self.source),
            None => self.source.to_owned(),
        }
    }
}

/// A file to copy into the image, relative to the definition's own folder; a missing file is a
/// compile error: `copy_file!("nginx/nginx.conf" => "/etc/nginx/nginx.conf")`.
#[macro_export]
macro_rules! copy_file {
    ($source:literal => $destination:literal) => {{
        const _: &[u8] = include_bytes!($source);
        const FILE: $crate::CopyFile = $crate::CopyFile::new(file!(), $source, $destination);
        FILE
    }};
}
