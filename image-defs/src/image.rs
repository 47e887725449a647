//! The [`Image`] trait and the [`Spec`] every image declares.
//!
//! An image is a type whose [`Image::spec`] is a constant [`Spec`]: a struct literal that names what
//! the image differs in, `..Spec::DEFAULT` for the rest. The [`image!`](crate::image) macro writes
//! the type, the constant and the impl; [`Spec::checked`] checks every value at compile time (names,
//! environment keys, paths, accounts, actions), so a bad value fails `cargo build` with one message.
//! Definitions declare; they do not compute.

use std::any::{Any, TypeId};
use std::fmt;

use crate::const_text::{refuse, str_eq};
use crate::{Atom, PackageKeywords, PackageUse, Repository, UseList};

/// An image definition: a type whose spec says everything about the image.
pub trait Image: Any + Send + Sync {
    /// The image's declaration.
    fn spec(&self) -> &'static Spec;

    /// The implementing type's name, for error messages. Not meant to be overridden.
    #[doc(hidden)]
    fn type_name(&self) -> &'static str {
        std::any::type_name::<Self>()
    }
}

impl dyn Image {
    /// The image's name (its spec's).
    pub fn name(&self) -> &'static str {
        self.spec().name
    }
}

/// Everything an image declares. Write it as a struct literal ending in `..Spec::DEFAULT`, through
/// [`image!`](crate::image), which checks it at compile time.
#[derive(Clone, Copy, Debug)]
pub struct Spec {
    /// The image's name, unique in the registry and valid as an OCI repository path (`base`,
    /// `nginx`, `rig/hello`). The repository is `<namespace>/<name>`.
    pub name: &'static str,
    /// What the image is built on: the image it derives from. For a [`Layout::Minimal`] image whose
    /// parent is full, the parent is its builder and the new root starts empty (scratch); whose parent
    /// is minimal, the new root starts from the parent.
    pub parent: Parent,
    /// How the image is made from its parent: by emerging in a container of the parent (the default),
    /// or, minimal, by emerging into an empty root that holds only the run-time files.
    pub layout: Layout,
    /// The image (with portage) a minimal image's packages are emerged in. `None` (the default): its
    /// parent when the parent is full, else its minimal parent's builder. Only minimal images have one.
    pub builder: Option<Parent>,
    /// A one-line description, shown by `list --json`.
    pub description: &'static str,
    /// The ebuild repositories besides `gentoo` the image's atoms name (`::name`); see
    /// [`Repository`]. Mounted with those of its ancestors during the build.
    pub repositories: &'static [Repository],
    /// The packages to emerge.
    pub packages: &'static [Atom<'static>],
    /// Global USE flags, added to `USE` in the image's make.conf fragment.
    pub use_flags: UseList<'static>,
    /// Per-package USE flags (`/etc/portage/package.use/<image>`).
    pub package_use: &'static [PackageUse],
    /// Accepted keywords (`/etc/portage/package.accept_keywords/<image>`).
    pub accept_keywords: &'static [PackageKeywords],
    /// Masked atoms (`/etc/portage/package.mask/<image>`).
    pub masks: &'static [Atom<'static>],
    /// Unmasked atoms (`/etc/portage/package.unmask/<image>`).
    pub unmasks: &'static [Atom<'static>],
    /// Packages portage takes as installed (`/etc/portage/profile/package.provided`, versioned atoms
    /// such as `=sys-devel/gcc-13.2.0`), added to what a minimal image's minimal parent holds.
    pub provided: &'static [Atom<'static>],
    /// make.conf variables (name, value) for the image's make.conf fragment. Values are written quoted.
    pub make_conf: &'static [(&'static str, &'static str)],
    /// Environment variables of the image config.
    pub env: &'static [(&'static str, &'static str)],
    /// Labels of the image config.
    pub labels: &'static [(&'static str, &'static str)],
    /// The entrypoint, as argv (`None` keeps the parent's).
    pub entrypoint: Option<&'static [&'static str]>,
    /// The default command, as argv (`None` keeps the parent's).
    pub cmd: Option<&'static [&'static str]>,
    /// Exposed ports.
    pub ports: &'static [Port],
    /// The user the container runs as (`None` keeps the parent's).
    pub user: Option<&'static str>,
    /// The working directory (`None` keeps the parent's).
    pub workdir: Option<&'static str>,
    /// Files copied into the image after the packages are installed; see [`copy_file!`](crate::copy_file).
    pub files: &'static [CopyFile],
    /// What runs after emerge, in order: accounts, locales, timezone, folders, links, files, runtime
    /// libraries, commands. Part of the plan and of the input hash.
    pub actions: &'static [Action],
    /// The container health check (kept by `--format docker` images only: OCI configs have none).
    pub healthcheck: Option<Healthcheck>,
    /// Volumes of the image config.
    pub volumes: &'static [&'static str],
    /// The signal that stops the container (`SIGQUIT`, ...).
    pub stop_signal: Option<&'static str>,
    /// Whether `emerge --depclean --with-bdeps=n` runs after the install. `None` (the default) runs it
    /// for leaf images. Minimal images never need it; `Some(true)` on one is refused.
    pub depclean: Option<bool>,
    /// Files removed at the end of the build (docs, man pages, headers, static libraries; for minimal
    /// images also the package database).
    pub cleanups: &'static [Cleanup],
    /// Whether the site's CA certificate (the `site-ca` setting) is installed into the image's trust
    /// store. Only the CA certificate is ever installed: never a key, never a client certificate.
    pub trust_site_ca: bool,
    /// A command (argv) run in the committed image after the build; a non-zero exit fails the build.
    pub test: Option<&'static [&'static str]>,
}

impl Spec {
    /// What an image does not declare: no packages, nothing changed in the parent's config.
    pub const DEFAULT: Spec = Spec {
        name: "",
        parent: Parent::Root(Root::Rig),
        layout: Layout::Full,
        builder: None,
        description: "",
        repositories: &[],
        packages: &[],
        use_flags: UseList::new(""),
        package_use: &[],
        accept_keywords: &[],
        masks: &[],
        unmasks: &[],
        provided: &[],
        make_conf: &[],
        env: &[],
        labels: &[],
        entrypoint: None,
        cmd: None,
        ports: &[],
        user: None,
        workdir: None,
        files: &[],
        actions: &[],
        healthcheck: None,
        volumes: &[],
        stop_signal: None,
        depclean: None,
        cleanups: &[],
        trust_site_ca: false,
        test: None,
    };

    /// The spec, checked: a const panic (a compile error in a `const`) names the image, the value and
    /// what was expected. [`image!`](crate::image) calls it.
    #[track_caller]
    pub const fn checked(self) -> Spec {
        let name = self.name;
        check_image_name(name);
        let mut i = 0;
        while i < self.packages.len() {
            if self.packages[i].blocker().is_some() {
                refuse(name, "package", self.packages[i].as_str(), "an installable atom, not a blocker");
            }
            i += 1;
        }
        let mut i = 0;
        while i < self.provided.len() {
            if !matches!(self.provided[i].operator(), Some(crate::Operator::Equal)) || self.provided[i].slot().is_some()
            {
                refuse(name, "provided package", self.provided[i].as_str(), "one version: `=cat/pkg-1.0`, no slot");
            }
            i += 1;
        }
        let mut i = 0;
        while i < self.make_conf.len() {
            if !is_shell_name(self.make_conf[i].0) {
                refuse(name, "make.conf variable", self.make_conf[i].0, "a name of [A-Za-z_][A-Za-z0-9_]*");
            }
            check_value(name, "make.conf value", self.make_conf[i].1);
            i += 1;
        }
        let mut i = 0;
        while i < self.env.len() {
            if !is_shell_name(self.env[i].0) {
                refuse(name, "environment variable", self.env[i].0, "a name of [A-Za-z_][A-Za-z0-9_]*");
            }
            check_value(name, "environment value", self.env[i].1);
            i += 1;
        }
        let mut i = 0;
        while i < self.labels.len() {
            let key = self.labels[i].0;
            if key.is_empty() || contains(key, b'=') {
                refuse(name, "label key", key, "a non-empty key without `=`");
            }
            check_value(name, "label key", key);
            check_value(name, "label value", self.labels[i].1);
            i += 1;
        }
        check_argv_option(name, "entrypoint", self.entrypoint);
        check_argv_option(name, "cmd", self.cmd);
        check_argv_option(name, "test", self.test);
        if let Some(workdir) = self.workdir {
            check_path(name, "workdir", workdir);
        }
        if let Some(user) = self.user {
            if user.is_empty() || contains(user, b'\0') {
                refuse(name, "user", user, "a user name or `uid[:gid]`");
            }
        }
        let mut i = 0;
        while i < self.volumes.len() {
            check_path(name, "volume", self.volumes[i]);
            i += 1;
        }
        if let Some(signal) = self.stop_signal {
            check_signal(name, signal);
        }
        if let Some(healthcheck) = self.healthcheck {
            check_argv(name, "healthcheck", healthcheck.argv);
        }
        let mut i = 0;
        while i < self.ports.len() {
            if self.ports[i].number == 0 {
                refuse(name, "port", "0", "a port number from 1 to 65535");
            }
            i += 1;
        }
        check_actions(name, self.actions);
        check_repositories(&self);
        let mut i = 0;
        while i < self.actions.len() {
            if let (Layout::Full, Action::RuntimeLibraries(_) | Action::RunInBuilder(_)) =
                (self.layout, self.actions[i])
            {
                refuse(
                    name,
                    "action",
                    self.actions[i].kind(),
                    "an action of a full image: a full image has no builder",
                );
            }
            i += 1;
        }
        self
    }
}

/// Every `::repo` of the image's atoms names `gentoo` or a repository the image lists, each listed
/// once.
#[track_caller]
const fn check_repositories(spec: &Spec) {
    let name = spec.name;
    let mut i = 0;
    while i < spec.repositories.len() {
        let mut k = 0;
        while k < i {
            if str_eq(spec.repositories[k].name, spec.repositories[i].name) {
                refuse(name, "repository", spec.repositories[i].name, "each repository listed once");
            }
            k += 1;
        }
        i += 1;
    }
    let lists: [&[Atom<'static>]; 4] = [spec.packages, spec.masks, spec.unmasks, spec.provided];
    let mut l = 0;
    while l < lists.len() {
        let mut i = 0;
        while i < lists[l].len() {
            check_atom_repository(spec, lists[l][i]);
            i += 1;
        }
        l += 1;
    }
    let mut i = 0;
    while i < spec.package_use.len() {
        check_atom_repository(spec, spec.package_use[i].atom);
        i += 1;
    }
    let mut i = 0;
    while i < spec.accept_keywords.len() {
        check_atom_repository(spec, spec.accept_keywords[i].atom);
        i += 1;
    }
}

#[track_caller]
const fn check_atom_repository(spec: &Spec, atom: Atom<'static>) {
    let Some(repo) = atom.repo() else { return };
    if str_eq(repo, "gentoo") {
        return;
    }
    let mut i = 0;
    while i < spec.repositories.len() {
        if str_eq(spec.repositories[i].name, repo) {
            return;
        }
        i += 1;
    }
    refuse(
        spec.name,
        "atom",
        atom.as_str(),
        "a repository the image lists in `repositories` (or `gentoo`): declare it with \
         `Repository::folder(name, path)` and add it to the spec",
    );
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
    /// Another image, by its Rust type: `Parent::image(&Base)`; a misspelt type is a compile error.
    pub const fn image(image: &'static dyn Image) -> Parent {
        Parent::Image(ParentImage::Type(TypeRef(image)))
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

/// As errors name a root: the registry reference, `tarball PATH`, or `the rig root`.
impl fmt::Display for Root {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Root::Registry(reference) => f.write_str(reference),
            Root::Tarball { path, .. } => write!(f, "tarball {path}"),
            Root::Rig => f.write_str("the rig root"),
        }
    }
}

/// A reference to a parent image in the registry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParentImage {
    /// By its type (its value, a unit struct).
    Type(TypeRef),
    /// By its name (checked when the registry is validated).
    Name(&'static str),
}

/// An image named by its type: compared by type id, shown by type name.
#[derive(Clone, Copy)]
pub struct TypeRef(pub &'static dyn Image);

impl TypeRef {
    pub fn type_id(&self) -> TypeId {
        let any: &dyn Any = self.0;
        any.type_id()
    }

    pub fn type_name(&self) -> &'static str {
        self.0.type_name()
    }
}

impl PartialEq for TypeRef {
    fn eq(&self, other: &TypeRef) -> bool {
        self.type_id() == other.type_id()
    }
}

impl Eq for TypeRef {}

impl fmt::Debug for TypeRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.type_name())
    }
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

/// Defines an image: a unit struct, its checked [`Spec`] as `TYPE::SPEC`, and its [`Image`] impl.
///
/// ```ignore
/// image! {
///     /// nginx with HTTP/2, on the stable branch.
///     pub Nginx = Spec {
///         name: "nginx",
///         parent: Parent::image(&Base),
///         packages: &[atom!("www-servers/nginx:0")],
///         ..Spec::DEFAULT
///     };
/// }
/// ```
#[macro_export]
macro_rules! image {
    ($(#[$meta:meta])* $vis:vis $type:ident = $spec:expr;) => {
        $(#[$meta])*
        $vis struct $type;

        impl $type {
            /// The image's checked declaration.
            pub const SPEC: $crate::Spec = $spec.checked();
        }

        impl $crate::Image for $type {
            fn spec(&self) -> &'static $crate::Spec {
                &Self::SPEC
            }
        }

        // A free const item is evaluated by `cargo check` too: a bad spec never gets past it.
        const _: &$crate::Spec = &$type::SPEC;
    };
}

/// A container health check: `buildah config --healthcheck`. Only images committed in Docker format
/// keep one (OCI image configs have no such field): an image with a health check is committed with
/// `--format docker`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Healthcheck {
    /// The command, as argv (`CMD` form: no shell).
    pub argv: &'static [&'static str],
    /// Seconds between checks.
    pub interval: u32,
    /// Seconds a check may take.
    pub timeout: u32,
    /// Failed checks in a row that make the container unhealthy.
    pub retries: u32,
    /// Seconds after start during which failures do not count.
    pub start_period: u32,
}

impl Healthcheck {
    /// A check of `argv` every 30 s, 10 s timeout, 3 retries, no start period.
    pub const fn new(argv: &'static [&'static str]) -> Healthcheck {
        Healthcheck { argv, interval: 30, timeout: 10, retries: 3, start_period: 0 }
    }
}

/// A user account with fixed ids, written into the image's root.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct User {
    pub name: &'static str,
    pub uid: u32,
    /// The primary group's id: a group of the root (from a package, or an [`Action::Group`] before).
    pub gid: u32,
    /// The home folder (not created: add an [`Action::Mkdir`] when the service needs it).
    pub home: &'static str,
    pub shell: &'static str,
    /// Supplementary groups, by name.
    pub groups: &'static [&'static str],
}

impl User {
    /// A user without a home or a login shell (`/dev/null`, `/sbin/nologin`), as Gentoo's acct-user.
    pub const fn new(name: &'static str, uid: u32, gid: u32) -> User {
        User { name, uid, gid, home: "/dev/null", shell: "/sbin/nologin", groups: &[] }
    }

    pub const fn home(mut self, home: &'static str) -> User {
        self.home = home;
        self
    }

    pub const fn shell(mut self, shell: &'static str) -> User {
        self.shell = shell;
        self
    }

    pub const fn groups(mut self, groups: &'static [&'static str]) -> User {
        self.groups = groups;
        self
    }
}

/// What runs after emerge, in the order declared. In a minimal image every action but
/// [`Action::RunInImage`] runs in the builder on the new root (mounted at `/emerge-root`), with the
/// builder's tools; `RunInImage` actions run after, in the image itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// A group with a fixed id (`groupadd`).
    Group { name: &'static str, gid: u32 },
    /// A user with fixed ids (`useradd`).
    User(User),
    /// A locale compiled into the root with glibc's `localedef` (a ROOT= install runs no
    /// `locale-gen`) and checked in its locale archive: `en_US` + `UTF-8` is `en_US.utf8`.
    Locale { locale: &'static str, charset: &'static str },
    /// The time zone: `/etc/localtime` → `../usr/share/zoneinfo/ZONE` and `/etc/timezone`. The zone
    /// must be in the root (sys-libs/timezone-data).
    Timezone(&'static str),
    /// A folder with its mode and owner (`user:group`, names of the root's accounts, or ids).
    Mkdir { path: &'static str, mode: u32, owner: &'static str },
    /// A symbolic link at `path` to `target` (relative, or absolute inside the image).
    Symlink { path: &'static str, target: &'static str },
    /// A file written from a string (a newline is added at the end).
    WriteFile { path: &'static str, contents: &'static str, mode: u32 },
    /// The shared libraries (`.so*`) a package of the builder owns (and its `/etc/ld.so.conf.d`
    /// entries), copied into a minimal image's root, then `ldconfig -r`: the C++ runtime of
    /// `sys-devel/gcc`, which stays in the builder. Minimal images only.
    RuntimeLibraries(Atom<'static>),
    /// A command in the image, as argv (never through a shell of ours): the image must have it.
    RunInImage(&'static [&'static str]),
    /// A command in the builder with the new root mounted at `/emerge-root` and `ROOT=/emerge-root`
    /// (`eselect`, config edits with the builder's tools). Minimal images only.
    RunInBuilder(&'static [&'static str]),
}

impl Action {
    /// A user with fixed ids; see [`User`].
    pub const fn user(user: User) -> Action {
        Action::User(user)
    }

    /// What it is, for messages and `list --json`: `user`, `locale`, ...
    pub const fn kind(&self) -> &'static str {
        match self {
            Action::Group { .. } => "group",
            Action::User(_) => "user",
            Action::Locale { .. } => "locale",
            Action::Timezone(_) => "timezone",
            Action::Mkdir { .. } => "mkdir",
            Action::Symlink { .. } => "symlink",
            Action::WriteFile { .. } => "write-file",
            Action::RuntimeLibraries(_) => "runtime-libraries",
            Action::RunInImage(_) => "run-in-image",
            Action::RunInBuilder(_) => "run-in-builder",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Compile-time checks (const fns; a panic in a `const` is a compile error with its message).

pub(crate) const fn contains(text: &str, byte: u8) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == byte {
            return true;
        }
        i += 1;
    }
    false
}

const fn is_shell_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    if bytes.is_empty() || !(bytes[0].is_ascii_alphabetic() || bytes[0] == b'_') {
        return false;
    }
    let mut i = 1;
    while i < bytes.len() {
        if !(bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
            return false;
        }
        i += 1;
    }
    true
}

/// No value travels through argv with a NUL byte.
#[track_caller]
const fn check_value(image: &str, what: &str, value: &str) {
    if contains(value, 0) {
        refuse(image, what, value, "no NUL byte, which no command line can carry");
    }
}

#[track_caller]
const fn check_argv(image: &str, what: &str, argv: &[&str]) {
    if argv.is_empty() || argv[0].is_empty() {
        refuse(image, what, "[]", "a command: a non-empty argv");
    }
    let mut i = 0;
    while i < argv.len() {
        check_value(image, what, argv[i]);
        i += 1;
    }
}

#[track_caller]
const fn check_argv_option(image: &str, what: &str, argv: Option<&[&str]>) {
    if let Some(argv) = argv {
        check_argv(image, what, argv);
    }
}

/// An absolute path inside the image: starts with `/`, no `..` or `.` component, no NUL.
#[track_caller]
const fn check_path(image: &str, what: &str, path: &str) {
    let bytes = path.as_bytes();
    if bytes.is_empty() || bytes[0] != b'/' {
        refuse(image, what, path, "an absolute path inside the image");
    }
    let mut start = 1;
    let mut i = 1;
    while i <= bytes.len() {
        if i == bytes.len() || bytes[i] == b'/' {
            let length = i - start;
            if (length == 2 && bytes[start] == b'.' && bytes[start + 1] == b'.')
                || (length == 1 && bytes[start] == b'.')
            {
                refuse(image, what, path, "a path without `.` or `..` components (none may leave the image's root)");
            }
            start = i + 1;
        }
        i += 1;
    }
    check_value(image, what, path);
}

/// A symlink target that stays in the image: absolute, or relative without climbing above `/`
/// from the link's folder.
#[track_caller]
const fn check_link_target(image: &str, path: &str, target: &str) {
    let bytes = target.as_bytes();
    if bytes.is_empty() {
        refuse(image, "symlink target", target, "a path");
    }
    check_value(image, "symlink target", target);
    if bytes[0] == b'/' {
        return;
    }
    // The link's folder depth: `/a/b/link` is 2 folders below `/`.
    let mut depth: isize = -1;
    let mut i = 0;
    let link = path.as_bytes();
    while i < link.len() {
        if link[i] == b'/' {
            depth += 1;
        }
        i += 1;
    }
    let mut start = 0;
    let mut i = 0;
    while i <= bytes.len() {
        if i == bytes.len() || bytes[i] == b'/' {
            let length = i - start;
            if length == 2 && bytes[start] == b'.' && bytes[start + 1] == b'.' {
                depth -= 1;
                if depth < 0 {
                    refuse(image, "symlink target", target, "a target that stays inside the image's root");
                }
            } else if !(length == 0 || (length == 1 && bytes[start] == b'.')) {
                depth += 1;
            }
            start = i + 1;
        }
        i += 1;
    }
}

/// An account name: a lower-case letter or `_`, then lower-case letters, digits, `_` or `-`.
#[track_caller]
const fn check_account_name(image: &str, what: &str, name: &str) {
    let bytes = name.as_bytes();
    let mut ok = !bytes.is_empty() && bytes.len() <= 32 && (bytes[0].is_ascii_lowercase() || bytes[0] == b'_');
    let mut i = 1;
    while ok && i < bytes.len() {
        ok = bytes[i].is_ascii_lowercase() || bytes[i].is_ascii_digit() || bytes[i] == b'_' || bytes[i] == b'-';
        i += 1;
    }
    if !ok {
        refuse(image, what, name, "an account name: a lower-case letter or `_`, then [a-z0-9_-], at most 32");
    }
}

/// `SIGTERM`, `TERM` or a number.
#[track_caller]
const fn check_signal(image: &str, signal: &str) {
    let bytes = signal.as_bytes();
    let mut ok = !bytes.is_empty();
    let mut i = 0;
    while ok && i < bytes.len() {
        ok = bytes[i].is_ascii_uppercase() || bytes[i].is_ascii_digit();
        i += 1;
    }
    if !ok {
        refuse(image, "stop signal", signal, "a signal name such as `SIGQUIT` or a number");
    }
}

/// `ll_CC` (language, territory, optional `@modifier`) and a charset such as `UTF-8`.
#[track_caller]
const fn check_locale(image: &str, locale: &str, charset: &str) {
    let bytes = locale.as_bytes();
    let mut i = 0;
    while i < bytes.len() && bytes[i].is_ascii_lowercase() {
        i += 1;
    }
    let mut ok = (i == 2 || i == 3) && i < bytes.len() && bytes[i] == b'_';
    if ok {
        i += 1;
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_uppercase() {
            i += 1;
        }
        ok = i - start == 2 && (i == bytes.len() || bytes[i] == b'@');
    }
    if !ok {
        refuse(image, "locale", locale, "a glibc locale name such as `en_US` or `de_DE@euro`");
    }
    let bytes = charset.as_bytes();
    let mut ok = !bytes.is_empty();
    let mut i = 0;
    while ok && i < bytes.len() {
        ok = bytes[i].is_ascii_alphanumeric() || bytes[i] == b'-' || bytes[i] == b'_';
        i += 1;
    }
    if !ok {
        refuse(image, "locale charset", charset, "a charset such as `UTF-8`");
    }
}

/// `Europe/Berlin`, `UTC`: names of the zoneinfo folder.
#[track_caller]
const fn check_zone(image: &str, zone: &str) {
    let bytes = zone.as_bytes();
    let mut ok = !bytes.is_empty() && bytes[0] != b'/' && bytes[bytes.len() - 1] != b'/';
    let mut i = 0;
    while ok && i < bytes.len() {
        ok = bytes[i].is_ascii_alphanumeric() || matches!(bytes[i], b'/' | b'_' | b'-' | b'+');
        if ok && bytes[i] == b'/' && i + 1 < bytes.len() && bytes[i + 1] == b'/' {
            ok = false;
        }
        i += 1;
    }
    if !ok {
        refuse(image, "timezone", zone, "a zone of /usr/share/zoneinfo such as `Europe/Berlin` or `UTC`");
    }
}

/// `user:group`, names or ids.
#[track_caller]
const fn check_owner(image: &str, owner: &str) {
    let bytes = owner.as_bytes();
    let mut colon = 0;
    let mut colons = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b':' {
            colon = i;
            colons += 1;
        }
        i += 1;
    }
    if colons != 1 || colon == 0 || colon + 1 == bytes.len() {
        refuse(image, "owner", owner, "`user:group` (names of the image's accounts, or ids)");
    }
    let (user, group) = owner.split_at(colon);
    let (_, group) = group.split_at(1);
    check_owner_part(image, owner, user);
    check_owner_part(image, owner, group);
}

#[track_caller]
const fn check_owner_part(image: &str, owner: &str, part: &str) {
    let bytes = part.as_bytes();
    let mut digits = true;
    let mut i = 0;
    while i < bytes.len() {
        digits = digits && bytes[i].is_ascii_digit();
        i += 1;
    }
    if !digits {
        check_account_name(image, "owner", part);
    }
    let _ = owner;
}

#[track_caller]
const fn check_actions(image: &str, actions: &[Action]) {
    let mut i = 0;
    while i < actions.len() {
        match actions[i] {
            Action::Group { name, gid } => {
                check_account_name(image, "group", name);
                if gid > i32::MAX as u32 {
                    refuse(image, "gid", name, "an id below 2^31");
                }
            }
            Action::User(user) => {
                check_account_name(image, "user", user.name);
                if user.uid > i32::MAX as u32 || user.gid > i32::MAX as u32 {
                    refuse(image, "uid or gid", user.name, "ids below 2^31");
                }
                check_path(image, "user home", user.home);
                check_path(image, "user shell", user.shell);
                let mut g = 0;
                while g < user.groups.len() {
                    check_account_name(image, "user's group", user.groups[g]);
                    g += 1;
                }
            }
            Action::Locale { locale, charset } => check_locale(image, locale, charset),
            Action::Timezone(zone) => check_zone(image, zone),
            Action::Mkdir { path, mode, owner } => {
                check_path(image, "mkdir", path);
                check_mode(image, path, mode);
                check_owner(image, owner);
            }
            Action::Symlink { path, target } => {
                check_path(image, "symlink", path);
                check_link_target(image, path, target);
            }
            Action::WriteFile { path, contents, mode } => {
                check_path(image, "write-file", path);
                check_value(image, "write-file contents", contents);
                check_mode(image, path, mode);
            }
            Action::RuntimeLibraries(atom) => {
                if atom.blocker().is_some() {
                    refuse(image, "runtime-libraries package", atom.as_str(), "a package atom, not a blocker");
                }
            }
            Action::RunInImage(argv) => check_argv(image, "run-in-image", argv),
            Action::RunInBuilder(argv) => check_argv(image, "run-in-builder", argv),
        }
        // Two accounts of the same name or id, declared here, can never both be made.
        let mut j = 0;
        while j < i {
            match (actions[j], actions[i]) {
                (Action::User(a), Action::User(b)) if str_eq(a.name, b.name) || a.uid == b.uid => {
                    refuse(image, "user", b.name, "a name and a uid no other user of the image has");
                }
                (Action::Group { name: a, gid: x }, Action::Group { name: b, gid: y }) if str_eq(a, b) || x == y => {
                    refuse(image, "group", b, "a name and a gid no other group of the image has");
                }
                _ => {}
            }
            j += 1;
        }
        i += 1;
    }
}

#[track_caller]
const fn check_mode(image: &str, path: &str, mode: u32) {
    if mode > 0o7777 {
        refuse(image, "mode", path, "permission bits up to 0o7777");
    }
}

/// OCI distribution spec repository path: components `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*` joined by `/`.
#[track_caller]
const fn check_image_name(name: &str) {
    let bytes = name.as_bytes();
    let expected = "an OCI repository path: lower-case letters and digits, separated by `.`, `_`, `__` or dashes, \
                    `/` between components, at most 128 characters";
    if bytes.is_empty() || bytes.len() > 128 {
        refuse(name, "name", name, expected);
    }
    const fn alnum(b: u8) -> bool {
        b.is_ascii_lowercase() || b.is_ascii_digit()
    }
    let mut start = 0;
    let mut i = 0;
    while i <= bytes.len() {
        if i == bytes.len() || bytes[i] == b'/' {
            // One component: bytes[start..i].
            if i == start || !alnum(bytes[start]) || !alnum(bytes[i - 1]) {
                refuse(name, "name", name, expected);
            }
            let mut k = start;
            while k < i {
                if !alnum(bytes[k]) {
                    let separator_start = k;
                    while k < i && !alnum(bytes[k]) {
                        k += 1;
                    }
                    let length = k - separator_start;
                    let first = bytes[separator_start];
                    let mut dashes = true;
                    let mut d = separator_start;
                    while d < k {
                        dashes = dashes && bytes[d] == b'-';
                        d += 1;
                    }
                    let ok = (length == 1 && (first == b'.' || first == b'_'))
                        || (length == 2 && first == b'_' && bytes[separator_start + 1] == b'_')
                        || dashes;
                    if !ok {
                        refuse(name, "name", name, expected);
                    }
                } else {
                    k += 1;
                }
            }
            start = i + 1;
        }
        i += 1;
    }
}
