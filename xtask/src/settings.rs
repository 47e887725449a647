//! Settings: embedded defaults, then `buildah-gentoo.toml` at the workspace root, then environment
//! variables (`BUILDAH_GENTOO_*`), then command-line flags. Nothing is required for a first run.
//!
//! The file, the environment and the flags each give a [`SettingsLayer`] (one struct, every key an
//! `Option`, read by serde and by clap); [`SettingsLayer::over`] stacks them and
//! [`SettingsLayer::resolve`] puts them over [`Settings::defaults`].

use std::collections::BTreeMap;
use std::fmt;

use anyhow::{bail, Context, Result};
use camino::{Utf8Path, Utf8PathBuf};
use serde::{Deserialize, Serialize};

fn serialize_options<S: serde::Serializer>(options: &[image_defs::CatalystOption], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(options.iter().map(|option| option.as_str()))
}

/// The settings file's name, at the workspace root.
pub const SETTINGS_FILE: &str = "buildah-gentoo.toml";

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Settings {
    /// Repository prefix of local image names: `<namespace>/<image>:<tag>`.
    pub namespace: String,
    /// The registry images are pushed to (`host:port`), when there is one.
    pub registry: Option<String>,
    /// buildah's isolation for `buildah run`.
    pub isolation: Isolation,
    /// Shared caches: binary packages (`<cache>/binpkgs/<root key>`) and distfiles (`<cache>/distfiles`).
    pub cache_dir: Utf8PathBuf,
    /// Where the Gentoo ebuild repository comes from (rig images always use `tests/rig/repo`).
    pub repository: RepositorySource,
    /// The site's distfiles mirrors (`http://`, `https://` or `ftp://` URLs), in the order emerge
    /// tries them: `GENTOO_MIRRORS` in the environment of the emerge step alone (never in a layer),
    /// and no input of any image (the Manifests pin what a distfile holds). Empty: the image's own
    /// make.conf (portage's default, `http://distfiles.gentoo.org`; the rig root's own mirror).
    pub gentoo_mirrors: Vec<String>,
    /// Folder for generated build contexts and logs, relative to the workspace root.
    pub work_dir: Utf8PathBuf,
    /// Registry certificates in the containers `certs.d` layout: `<dir>/<host:port>/ca.crt` and client
    /// `*.cert` + `*.key` (the Python tool's `.x509` folder maps here). Relative to the workspace root.
    pub certs_dir: Option<Utf8PathBuf>,
    /// The site's CA certificate (PEM), installed into images that ask to trust it
    /// (`Image::trust_site_ca`). Relative to the workspace root.
    pub site_ca: Option<Utf8PathBuf>,
    /// Registry credentials (containers auth.json); never put on a command line or printed.
    pub authfile: Option<Utf8PathBuf>,
    /// Verify the registry's TLS certificate. Off only when asked for explicitly.
    pub tls_verify: bool,
    /// Remote binary package hosts builds fetch from (`/etc/portage/binrepos.conf/<name>.conf`).
    pub binhosts: Vec<Binhost>,
    /// GnuPG home with the keys binary packages are verified against; mounted read-only into builds
    /// at `/etc/portage/gnupg`, never copied into an image.
    pub binhost_keyring: Option<Utf8PathBuf>,
    /// Where `binhost sync` publishes the local binary packages: a folder, `rsync://host/module/path`
    /// or `[user@]host:path` (rsync over ssh).
    pub binhost_publish: Option<String>,
    /// catalyst's `storedir` (`cargo xtask catalyst`): seeds under `builds/`, snapshots under
    /// `snapshots/`, the built stages under `builds/<rel_type>/`. Absolute.
    pub catalyst_storedir: Utf8PathBuf,
    /// catalyst.conf `jobs` (MAKEOPTS `-j`); `None`: the host's cores.
    pub catalyst_jobs: Option<u32>,
    /// catalyst.conf `load-average` (MAKEOPTS `-l`); `None`: the host's cores.
    pub catalyst_load_average: Option<u32>,
    /// catalyst.conf `envscript`: a shell file catalyst sources before building (proxies, ...). Absolute.
    pub catalyst_envscript: Option<Utf8PathBuf>,
    /// catalyst.conf `distdir`: the host's distfiles folder mounted into the builds. Absolute;
    /// `None`: catalyst's default, portage's DISTDIR.
    pub catalyst_distdir: Option<Utf8PathBuf>,
    /// catalyst.conf `options` added to every release's own (`ccache`, `keepwork`, ...).
    #[serde(serialize_with = "serialize_options")]
    pub catalyst_options: Vec<image_defs::CatalystOption>,
    /// The date every image carries (seconds since 1970): its creation time, its files' mtimes, its
    /// SBOM's date. `None`: derived from the ebuild repository (see `execute::source_date`).
    pub source_date_epoch: Option<i64>,
    /// Commit images without build history (`buildah commit --omit-history`).
    pub omit_history: bool,
    /// Where the image definitions' source lives (`org.opencontainers.image.source`); none when unset.
    pub source: Option<String>,
    /// How many date tags (`:YYYYMMDD`) of each image `clean` keeps, the newest.
    pub keep_dates: usize,
    /// The container image the jobs of generated CI pipelines run in (`cargo xtask ci gitlab|github`):
    /// GitLab's `image:`, GitHub's `container:`. `None`: the jobs name no image (GitLab shell
    /// executors, GitHub runners as they are).
    pub ci_image: Option<String>,
}

/// A remote binary package host.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Binhost {
    /// The binrepos.conf section and file name.
    pub name: String,
    /// `sync-uri`: `https://...`, `http://...` or `file:///...`.
    pub uri: String,
    #[serde(default = "default_binhost_priority")]
    pub priority: i32,
    /// Verify gpkg signatures. Defaults to on when a keyring is configured; `false` turns verification
    /// off explicitly (portage ≥ 3.0.78 verifies by default).
    pub verify_signature: Option<bool>,
    /// Whether `uri` holds one package folder per build flags, as `binhost sync` publishes them
    /// (`<uri>/<root key>-<flags hash>`; the default): a build fetches from the folder of its own
    /// flags. `false` for a binhost that is one package folder (Gentoo's official binhost).
    pub keyed: Option<bool>,
}

fn default_binhost_priority() -> i32 {
    10
}

impl Binhost {
    /// Whether builds fetch from `<uri>/<their binary package key>` (see [`Binhost::keyed`]).
    pub fn is_keyed(&self) -> bool {
        self.keyed.unwrap_or(true)
    }

    /// `host[:port]` of an `https://` uri: the name of its folder in `certs_dir` (none for a host
    /// that could not name a folder there, such as `..`).
    pub fn https_authority(&self) -> Option<&str> {
        let rest = self.uri.strip_prefix("https://")?;
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let plain = authority.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:[]".contains(&b));
        (plain && !authority.is_empty() && !authority.starts_with('.')).then_some(authority)
    }

    /// The environment variable that carries this binhost's wget TLS options into a build:
    /// `BUILDAH_GENTOO_WGET_TLS_<NAME>`, the name in capitals with `-` and `.` as `_`.
    pub fn wget_tls_var(&self) -> String {
        let name: String =
            self.name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect();
        format!("BUILDAH_GENTOO_WGET_TLS_{name}")
    }
}

/// A binhost's TLS files in the containers `certs.d` layout, `<certs_dir>/<host[:port]>/`: a CA
/// certificate (`*.crt`, e.g. `ca.crt`) and a client certificate `NAME.cert` with its key
/// `NAME.key`. Found when the settings load; the folder is mounted read-only into the steps that
/// fetch from the binhost, never copied, and its contents are not part of any input hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BinhostTls {
    /// The folder on the host.
    pub dir: Utf8PathBuf,
    /// The CA certificate's file name, when the folder has one.
    pub ca: Option<String>,
    /// The client certificate's and its key's file names, when the folder has them.
    pub client: Option<(String, String)>,
}

impl BinhostTls {
    /// Reads `dir` (a `certs.d` folder). `None` when it holds neither a CA nor a client certificate.
    /// wget takes one CA file and one client certificate, so a folder with more is an error.
    pub fn discover(dir: &Utf8Path) -> Result<Option<BinhostTls>> {
        let mut names = Vec::new();
        for entry in dir.read_dir_utf8().with_context(|| format!("reading the certificates folder {dir}"))? {
            let entry = entry.with_context(|| format!("reading the certificates folder {dir}"))?;
            names.push(entry.file_name().to_owned());
        }
        names.sort();
        let with = |suffix: &str| -> Vec<&String> { names.iter().filter(|name| name.ends_with(suffix)).collect() };
        let (cas, certs, keys) = (with(".crt"), with(".cert"), with(".key"));
        for name in cas.iter().chain(&certs).chain(&keys) {
            if name.contains(|c: char| c.is_whitespace() || c.is_control()) {
                bail!("certificates folder {dir}: rename `{name}`: the file names it uses must not contain spaces");
            }
        }
        if cas.len() > 1 {
            bail!(
                "certificates folder {dir} holds {} CA certificates ({}); wget reads one: put them in one ca.crt",
                cas.len(),
                join_names(&cas)
            );
        }
        for cert in &certs {
            let key = format!("{}.key", cert.trim_end_matches(".cert"));
            if !names.contains(&key) {
                bail!("certificates folder {dir}: client certificate `{cert}` has no key `{key}` next to it");
            }
        }
        for key in &keys {
            let cert = format!("{}.cert", key.trim_end_matches(".key"));
            if !names.contains(&cert) {
                bail!("certificates folder {dir}: key `{key}` has no client certificate `{cert}` next to it");
            }
        }
        if certs.len() > 1 {
            bail!(
                "certificates folder {dir} holds {} client certificates ({}); a binhost download presents one: keep one pair",
                certs.len(),
                join_names(&certs)
            );
        }
        let ca = cas.first().map(|name| name.to_string());
        let client = certs.first().map(|cert| (cert.to_string(), format!("{}.key", cert.trim_end_matches(".cert"))));
        if ca.is_none() && client.is_none() {
            return Ok(None);
        }
        if dir.as_str().contains(',') {
            bail!("certificates folder {dir}: buildah cannot mount a path containing `,`");
        }
        Ok(Some(BinhostTls { dir: dir.to_owned(), ca, client }))
    }
}

fn join_names(names: &[&String]) -> String {
    names.iter().map(|name| name.as_str()).collect::<Vec<_>>().join(", ")
}

/// buildah's `--isolation`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Isolation {
    Chroot,
    Oci,
    Rootless,
}

impl Isolation {
    pub fn as_str(self) -> &'static str {
        match self {
            Isolation::Chroot => "chroot",
            Isolation::Oci => "oci",
            Isolation::Rootless => "rootless",
        }
    }
}

impl std::str::FromStr for Isolation {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "chroot" => Ok(Isolation::Chroot),
            "oci" => Ok(Isolation::Oci),
            "rootless" => Ok(Isolation::Rootless),
            other => Err(format!("unknown isolation `{other}`: expected chroot, oci or rootless")),
        }
    }
}

impl fmt::Display for Isolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The ebuild repository mounted read-only at `/var/db/repos/gentoo` during builds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RepositorySource {
    /// A folder on the host.
    Folder(Utf8PathBuf),
    /// An OCI image holding the repository at `/var/db/repos/gentoo` (e.g. `docker.io/gentoo/portage`),
    /// mounted with `buildah mount`.
    Image(String),
}

impl RepositorySource {
    /// `image:REF` for an image, anything else is a folder.
    pub fn parse(text: &str) -> RepositorySource {
        match text.strip_prefix("image:") {
            Some(reference) => RepositorySource::Image(reference.to_owned()),
            None => RepositorySource::Folder(text.into()),
        }
    }
}

/// Declares a settings layer: the struct as written, and [`over`](SettingsLayer::over), which stacks
/// one layer on another key by key. Every field is an `Option`: `None` is "this layer says nothing".
macro_rules! settings_layer {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$field_meta:meta])* pub $field:ident: Option<$ty:ty>, )*
        }
    ) => {
        $(#[$meta])*
        pub struct $name {
            $( $(#[$field_meta])* pub $field: Option<$ty>, )*
        }

        impl $name {
            /// This layer on top of `under`: each key from here when this layer sets it, else from `under`.
            pub fn over(self, under: $name) -> $name {
                $name { $( $field: self.$field.or(under.$field), )* }
            }
        }
    };
}

settings_layer! {
    /// One layer of settings, every key optional: what the settings file, the environment or the
    /// command line says. The same struct is read by serde (the file, kebab-case keys) and by clap
    /// (the flags, and through `env` the variables a flag has). A key with no flag is `skip` for
    /// clap; the variables of keys without a flag are read in [`SettingsArgs::from_env`].
    /// Layers stack with [`SettingsLayer::over`] and become [`Settings`] with
    /// [`SettingsLayer::resolve`].
    #[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, clap::Args)]
    #[serde(deny_unknown_fields, rename_all = "kebab-case")]
    pub struct SettingsLayer {
        // Images and their storage.
        /// Repository prefix of image names, e.g. `localhost/gentoo`.
        #[arg(long, global = true, env = "BUILDAH_GENTOO_NAMESPACE")]
        pub namespace: Option<String>,
        /// buildah isolation for `buildah run`: chroot, oci or rootless.
        #[arg(long, global = true, env = "BUILDAH_GENTOO_ISOLATION")]
        pub isolation: Option<Isolation>,
        /// Folder of the shared caches (binary packages, distfiles).
        #[arg(long, global = true, env = "BUILDAH_GENTOO_CACHE_DIR", value_name = "DIR")]
        pub cache_dir: Option<Utf8PathBuf>,
        /// Ebuild repository: a folder, or `image:REFERENCE` for an image holding /var/db/repos/gentoo.
        #[arg(long, global = true, env = "BUILDAH_GENTOO_REPOSITORY", value_name = "DIR|image:REF")]
        pub repository: Option<String>,
        /// Distfiles mirrors emerge fetches from, space-separated URLs (its GENTOO_MIRRORS).
        #[arg(long, global = true, env = "BUILDAH_GENTOO_MIRRORS", value_name = "URLS")]
        pub gentoo_mirrors: Option<String>,
        /// Build contexts and logs, relative to the workspace root (file only).
        #[arg(skip)]
        pub work_dir: Option<Utf8PathBuf>,
        /// The site's CA certificate (file, `BUILDAH_GENTOO_SITE_CA`).
        #[arg(skip)]
        pub site_ca: Option<Utf8PathBuf>,

        // The registry.
        /// Registry to push to, as `host:port`.
        #[arg(long, global = true, env = "BUILDAH_GENTOO_REGISTRY", value_name = "HOST:PORT")]
        pub registry: Option<String>,
        /// Registry certificates, containers `certs.d` layout (`DIR/host:port/ca.crt`, `*.cert`, `*.key`).
        #[arg(long, global = true, env = "BUILDAH_GENTOO_CERTS_DIR", value_name = "DIR")]
        pub certs_dir: Option<Utf8PathBuf>,
        /// Registry credentials file (containers auth.json).
        #[arg(long, global = true, env = "REGISTRY_AUTH_FILE", value_name = "FILE")]
        pub authfile: Option<Utf8PathBuf>,
        /// Verify the registry's TLS certificate; `--tls-verify=false` turns it off (with a warning).
        #[arg(long, global = true, value_name = "BOOL")]
        pub tls_verify: Option<bool>,

        // Binary package hosts.
        /// The `[[binhost]]` tables (file only).
        #[arg(skip)]
        pub binhost: Option<Vec<Binhost>>,
        /// GnuPG home binary packages are verified against (file only).
        #[arg(skip)]
        pub binhost_keyring: Option<Utf8PathBuf>,
        /// Where `binhost sync` publishes: a folder, `rsync://host/module/path` or `[user@]host:path`.
        #[arg(long, global = true, env = "BUILDAH_GENTOO_BINHOST_PUBLISH", value_name = "TARGET")]
        pub binhost_publish: Option<String>,

        // catalyst.
        /// catalyst's storedir (file, `BUILDAH_GENTOO_CATALYST_STOREDIR`).
        #[arg(skip)]
        pub catalyst_storedir: Option<Utf8PathBuf>,
        /// catalyst.conf `jobs` (file, `BUILDAH_GENTOO_CATALYST_JOBS`).
        #[arg(skip)]
        pub catalyst_jobs: Option<u32>,
        /// catalyst.conf `load-average` (file, `BUILDAH_GENTOO_CATALYST_LOAD_AVERAGE`).
        #[arg(skip)]
        pub catalyst_load_average: Option<u32>,
        /// catalyst.conf `envscript` (file, `BUILDAH_GENTOO_CATALYST_ENVSCRIPT`).
        #[arg(skip)]
        pub catalyst_envscript: Option<Utf8PathBuf>,
        /// catalyst.conf `distdir` (file, `BUILDAH_GENTOO_CATALYST_DISTDIR`).
        #[arg(skip)]
        pub catalyst_distdir: Option<Utf8PathBuf>,
        /// catalyst.conf `options` added to every release's (file only).
        #[arg(skip)]
        pub catalyst_options: Option<Vec<String>>,

        // Reproducibility.
        /// The images' date (file, `SOURCE_DATE_EPOCH`).
        #[arg(skip)]
        pub source_date_epoch: Option<i64>,
        /// Commit without build history (file only).
        #[arg(skip)]
        pub omit_history: Option<bool>,
        /// `org.opencontainers.image.source` (file only).
        #[arg(skip)]
        pub source: Option<String>,

        // Clean-up.
        /// How many date tags of each image `clean` keeps (file only).
        #[arg(skip)]
        pub keep_dates: Option<usize>,

        // CI pipelines.
        /// The image generated CI jobs run in (file, `BUILDAH_GENTOO_CI_IMAGE`).
        #[arg(skip)]
        pub ci_image: Option<String>,
    }
}

impl SettingsLayer {
    /// The settings file's layer.
    pub fn parse_file(text: &str) -> Result<SettingsLayer> {
        Ok(toml::from_str(text)?)
    }

    /// These settings on top of `defaults`: the concrete settings, before paths are made absolute
    /// and the result is checked (see [`Settings::load`]).
    pub fn resolve(self, defaults: Settings) -> Result<Settings> {
        // Destructured, so that a key added to the layer and not resolved here does not compile quietly.
        let SettingsLayer {
            namespace,
            isolation,
            cache_dir,
            repository,
            gentoo_mirrors,
            work_dir,
            site_ca,
            registry,
            certs_dir,
            authfile,
            tls_verify,
            binhost,
            binhost_keyring,
            binhost_publish,
            catalyst_storedir,
            catalyst_jobs,
            catalyst_load_average,
            catalyst_envscript,
            catalyst_distdir,
            catalyst_options,
            source_date_epoch,
            omit_history,
            source,
            keep_dates,
            ci_image,
        } = self;
        let catalyst_options = match catalyst_options {
            None => defaults.catalyst_options,
            Some(names) => names
                .iter()
                .map(|name| {
                    image_defs::CatalystOption::parse(name).with_context(|| {
                        let known: Vec<&str> = image_defs::CatalystOption::ALL.iter().map(|o| o.as_str()).collect();
                        format!("catalyst-options: `{name}` is not a catalyst option; known: {}", known.join(", "))
                    })
                })
                .collect::<Result<_>>()?,
        };
        Ok(Settings {
            namespace: namespace.unwrap_or(defaults.namespace),
            isolation: isolation.unwrap_or(defaults.isolation),
            cache_dir: cache_dir.unwrap_or(defaults.cache_dir),
            repository: repository.map_or(defaults.repository, |text| RepositorySource::parse(&text)),
            gentoo_mirrors: gentoo_mirrors
                .map_or(defaults.gentoo_mirrors, |text| text.split_whitespace().map(str::to_owned).collect()),
            work_dir: work_dir.unwrap_or(defaults.work_dir),
            site_ca: site_ca.or(defaults.site_ca),
            registry: registry.or(defaults.registry),
            certs_dir: certs_dir.or(defaults.certs_dir),
            authfile: authfile.or(defaults.authfile),
            tls_verify: tls_verify.unwrap_or(defaults.tls_verify),
            binhosts: binhost.unwrap_or(defaults.binhosts),
            binhost_keyring: binhost_keyring.or(defaults.binhost_keyring),
            binhost_publish: binhost_publish.or(defaults.binhost_publish),
            catalyst_storedir: catalyst_storedir.unwrap_or(defaults.catalyst_storedir),
            catalyst_jobs: catalyst_jobs.or(defaults.catalyst_jobs),
            catalyst_load_average: catalyst_load_average.or(defaults.catalyst_load_average),
            catalyst_envscript: catalyst_envscript.or(defaults.catalyst_envscript),
            catalyst_distdir: catalyst_distdir.or(defaults.catalyst_distdir),
            catalyst_options,
            source_date_epoch: source_date_epoch.or(defaults.source_date_epoch),
            omit_history: omit_history.unwrap_or(defaults.omit_history),
            source: source.or(defaults.source),
            keep_dates: keep_dates.unwrap_or(defaults.keep_dates),
            ci_image: ci_image.or(defaults.ci_image),
        })
    }
}

/// The settings flags every command accepts, under "Global options" in `--help`: which settings
/// file to read, and a layer over the file and the environment. clap also reads the variables
/// these flags name (`[env: ...]`); [`SettingsArgs::from_env`] reads the same ones from any
/// environment.
#[derive(Clone, Debug, Default, PartialEq, Eq, clap::Args)]
#[command(next_help_heading = "Global options")]
pub struct SettingsArgs {
    /// Settings file to read instead of `buildah-gentoo.toml` at the workspace root.
    #[arg(long = "settings", global = true, env = "BUILDAH_GENTOO_SETTINGS", value_name = "FILE")]
    pub file: Option<Utf8PathBuf>,
    #[command(flatten)]
    pub layer: SettingsLayer,
}

impl SettingsArgs {
    /// These arguments on top of `under`.
    pub fn over(self, under: SettingsArgs) -> SettingsArgs {
        SettingsArgs { file: self.file.or(under.file), layer: self.layer.over(under.layer) }
    }

    /// What the environment `env` says: every variable a flag names, parsed as that flag's value
    /// would be, then the variables of the keys that have no flag.
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<SettingsArgs> {
        use clap::{Args, FromArgMatches};

        let command = SettingsArgs::augment_args(clap::Command::new("environment"));
        // The same flags without their variables, so that only `env` is read.
        let flags_only = command.clone().mut_args(|arg| arg.env(None));
        let mut args = SettingsArgs::default();
        for arg in command.get_arguments() {
            let (Some(var), Some(long)) = (arg.get_env().and_then(|var| var.to_str()), arg.get_long()) else {
                continue;
            };
            let Some(value) = env(var) else { continue };
            let matches = flags_only
                .clone()
                .try_get_matches_from(["environment".to_owned(), format!("--{long}={value}")])
                .map_err(|error| {
                    // The value parser's own message (`unknown isolation ...`), without clap's `--flag`.
                    let reason = std::error::Error::source(&error)
                        .map_or_else(|| format!("`{value}`: {}", error.kind()), |reason| reason.to_string());
                    anyhow::anyhow!(reason).context(format!("in {var}"))
                })?;
            args = SettingsArgs::from_arg_matches(&matches)?.over(args);
        }

        let layer = &mut args.layer;
        layer.site_ca = env("BUILDAH_GENTOO_SITE_CA").map(Utf8PathBuf::from);
        layer.catalyst_storedir = env("BUILDAH_GENTOO_CATALYST_STOREDIR").map(Utf8PathBuf::from);
        let whole_number = |name: &str| -> Result<Option<u32>> {
            env(name)
                .map(|value| {
                    value.trim().parse().map_err(|_| anyhow::anyhow!("{name} `{value}` is not a whole number"))
                })
                .transpose()
        };
        layer.catalyst_jobs = whole_number("BUILDAH_GENTOO_CATALYST_JOBS")?;
        layer.catalyst_load_average = whole_number("BUILDAH_GENTOO_CATALYST_LOAD_AVERAGE")?;
        layer.catalyst_envscript = env("BUILDAH_GENTOO_CATALYST_ENVSCRIPT").map(Utf8PathBuf::from);
        layer.catalyst_distdir = env("BUILDAH_GENTOO_CATALYST_DISTDIR").map(Utf8PathBuf::from);
        // CI systems define a variable nobody set as empty: that is no image.
        layer.ci_image = env("BUILDAH_GENTOO_CI_IMAGE").filter(|value| !value.is_empty());
        if let Some(value) = env("SOURCE_DATE_EPOCH").filter(|value| !value.is_empty()) {
            let epoch = value.trim().parse().map_err(|_| {
                anyhow::anyhow!("SOURCE_DATE_EPOCH `{value}` is not a number of seconds since 1970-01-01")
            })?;
            layer.source_date_epoch = Some(epoch);
        }
        Ok(args)
    }
}

impl Settings {
    /// The embedded defaults; `home_cache` is the user's cache folder (XDG).
    pub fn defaults(home_cache: &Utf8Path) -> Settings {
        Settings {
            namespace: "localhost/gentoo".to_owned(),
            registry: None,
            isolation: Isolation::Chroot,
            cache_dir: home_cache.join("buildah-gentoo"),
            repository: RepositorySource::Folder("/var/db/repos/gentoo".into()),
            gentoo_mirrors: Vec::new(),
            work_dir: "target/buildah-gentoo".into(),
            certs_dir: None,
            site_ca: None,
            authfile: None,
            tls_verify: true,
            binhosts: Vec::new(),
            binhost_keyring: None,
            binhost_publish: None,
            // catalyst's own default (catalyst/defaults.py `confdefaults`).
            catalyst_storedir: "/var/tmp/catalyst".into(),
            catalyst_jobs: None,
            catalyst_load_average: None,
            catalyst_envscript: None,
            catalyst_distdir: None,
            catalyst_options: Vec::new(),
            source_date_epoch: None,
            omit_history: false,
            source: None,
            keep_dates: 3,
            ci_image: None,
        }
    }

    /// Defaults ← settings file ← environment (`env`) ← flags (`flags`), then the paths made
    /// absolute, the result checked and the binhosts' certificates found.
    pub fn load(workspace: &Utf8Path, env: &dyn Fn(&str) -> Option<String>, flags: &SettingsArgs) -> Result<Settings> {
        let defaults = Settings::defaults(&user_cache_dir(env)?);
        let from_env = SettingsArgs::from_env(env)?;
        let SettingsArgs { file, layer } = flags.clone().over(from_env);

        let (path, required) = match file {
            Some(path) => (path, true),
            None => (workspace.join(SETTINGS_FILE), false),
        };
        let from_file = if required || path.exists() {
            let text = std::fs::read_to_string(&path).with_context(|| format!("reading settings file {path}"))?;
            SettingsLayer::parse_file(&text).with_context(|| format!("in settings file {path}"))?
        } else {
            SettingsLayer::default()
        };

        let mut settings = layer.over(from_file).resolve(defaults)?;
        for path in
            [&mut settings.certs_dir, &mut settings.authfile, &mut settings.binhost_keyring].into_iter().flatten()
        {
            if path.is_relative() {
                *path = workspace.join(&*path);
            }
        }

        settings.validate()?;
        Ok(settings)
    }

    /// The TLS files of the `https://` binhosts, by `host[:port]`: what `<certs_dir>/<host[:port]>/`
    /// holds, for the folders that exist. Read when a command gathers its inputs; only these folders
    /// are mounted into builds.
    pub fn discover_binhost_tls(&self) -> Result<BTreeMap<String, BinhostTls>> {
        let mut found = BTreeMap::new();
        let Some(certs_dir) = &self.certs_dir else { return Ok(found) };
        for binhost in &self.binhosts {
            let Some(authority) = binhost.https_authority() else { continue };
            let dir = certs_dir.join(authority);
            if found.contains_key(authority) || !dir.is_dir() {
                continue;
            }
            let tls = BinhostTls::discover(&dir).with_context(|| format!("binhost `{}`", binhost.name))?;
            if let Some(tls) = tls {
                found.insert(authority.to_owned(), tls);
            }
        }
        let mut vars = BTreeMap::new();
        for binhost in &self.binhosts {
            if binhost.https_authority().is_some_and(|authority| found.contains_key(authority)) {
                if let Some(other) = vars.insert(binhost.wget_tls_var(), &binhost.name) {
                    bail!(
                        "binhosts `{other}` and `{}` both pass their TLS options in {}: rename one",
                        binhost.name,
                        binhost.wget_tls_var()
                    );
                }
            }
        }
        Ok(found)
    }

    fn validate(&self) -> Result<()> {
        let namespace = self.namespace.trim_end_matches('/');
        let (host, path) = namespace.split_once('/').unwrap_or(("", namespace));
        let path_ok = !path.is_empty() && image_defs::registry::check_name(path).is_ok();
        let host_ok = host.is_empty() || host.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b));
        if !path_ok || !host_ok {
            bail!(
                "namespace `{}` is not a valid repository prefix: expected `[host[:port]/]path` with a lowercase path \
                 such as `localhost/gentoo`",
                self.namespace
            );
        }
        if let RepositorySource::Folder(path) = &self.repository {
            if path.is_relative() {
                bail!("repository folder `{path}` must be an absolute path");
            }
        }
        for mirror in &self.gentoo_mirrors {
            let Some((scheme, rest)) = mirror.split_once("://") else {
                bail!(
                    "gentoo-mirrors: `{mirror}` is not a URL: expected http://, https:// or ftp:// (a folder on this \
                     machine is not mounted into builds; serve it over HTTP)"
                );
            };
            if !["http", "https", "ftp"].contains(&scheme) {
                bail!("gentoo-mirrors: `{mirror}`: expected an http://, https:// or ftp:// URL");
            }
            let authority = rest.split('/').next().unwrap_or_default();
            if authority.is_empty() || mirror.contains(|c: char| c.is_control()) {
                bail!("gentoo-mirrors: `{mirror}` is not a URL with a host");
            }
            if authority.contains('@') {
                bail!("gentoo-mirrors: `{mirror}` must not carry credentials (the plan and the logs print it)");
            }
        }
        if self.cache_dir.is_relative() {
            bail!("cache folder `{}` must be an absolute path", self.cache_dir);
        }
        if self.catalyst_storedir.is_relative() {
            bail!("catalyst storedir `{}` must be an absolute path", self.catalyst_storedir);
        }
        for (key, path) in [("envscript", &self.catalyst_envscript), ("distdir", &self.catalyst_distdir)] {
            if let Some(path) = path.as_ref().filter(|path| path.is_relative()) {
                bail!("catalyst {key} `{path}` must be an absolute path (catalyst reads it on its own host)");
            }
        }
        if self.catalyst_jobs == Some(0) || self.catalyst_load_average == Some(0) {
            bail!("catalyst jobs and load-average must be at least 1");
        }
        let mut names = std::collections::BTreeSet::new();
        for binhost in &self.binhosts {
            let name_ok = !binhost.name.is_empty()
                && binhost.name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
                && !binhost.name.starts_with('.');
            if !name_ok {
                bail!(
                    "binhost name `{}` must be letters, digits, `-`, `_` or `.` (it names a binrepos.conf file)",
                    binhost.name
                );
            }
            if !names.insert(binhost.name.as_str()) {
                bail!("binhost name `{}` is used twice", binhost.name);
            }
            let scheme_ok = ["http://", "https://", "file:///"].iter().any(|scheme| binhost.uri.starts_with(scheme));
            if binhost.verify_signature.is_none() && self.binhost_keyring.is_none() {
                bail!(
                    "binhost `{}`: set `binhost-keyring` (a GnuPG home with the signing keys) so its packages are \
                     verified, or `verify-signature = false` in its [[binhost]] table to accept unsigned packages",
                    binhost.name
                );
            }
            if binhost.uri.split_once("://").is_some_and(|(_, rest)| rest.split('/').next().unwrap_or("").contains('@'))
            {
                bail!(
                    "binhost `{}`: the uri must not carry credentials (they would end up in the image)",
                    binhost.name
                );
            }
            if !scheme_ok || binhost.uri.contains(char::is_whitespace) {
                bail!(
                    "binhost `{}`: uri `{}` must be an http://, https:// or file:/// URL without spaces",
                    binhost.name,
                    binhost.uri
                );
            }
        }
        if let Some(source) = &self.source {
            let authority = source.split_once("://").map_or("", |(_, rest)| rest.split('/').next().unwrap_or(""));
            if authority.contains('@') || source.contains(char::is_whitespace) || source.contains('\0') {
                bail!(
                    "source `{source}` must be a URL without spaces or credentials (it is published in image labels)"
                );
            }
        }
        if let Some(image) = &self.ci_image {
            if image.is_empty() || image.contains(|c: char| c.is_whitespace() || c.is_control()) {
                bail!("ci-image `{image}` must be an image reference without spaces, e.g. `docker.io/library/rust:1`");
            }
        }
        if self.source_date_epoch.is_some_and(|epoch| epoch < 0) {
            bail!("source-date-epoch must not be before 1970-01-01");
        }
        if self.work_dir.is_absolute() || self.work_dir.components().any(|c| c.as_str() == "..") {
            bail!("work folder `{}` must be relative to the workspace root, inside it", self.work_dir);
        }
        Ok(())
    }

    /// The local repository of an image: `<namespace>/<name>`.
    pub fn repository_of(&self, image_name: &str) -> String {
        format!("{}/{image_name}", self.namespace.trim_end_matches('/'))
    }
}

/// `$XDG_CACHE_HOME`, else `$HOME/.cache`.
fn user_cache_dir(env: &dyn Fn(&str) -> Option<String>) -> Result<Utf8PathBuf> {
    if let Some(dir) = env("XDG_CACHE_HOME").filter(|dir| dir.starts_with('/')) {
        return Ok(dir.into());
    }
    match env("HOME").filter(|home| home.starts_with('/')) {
        Some(home) => Ok(Utf8PathBuf::from(home).join(".cache")),
        None => bail!("cannot find a cache folder: neither XDG_CACHE_HOME nor HOME is an absolute path"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(file: Option<&str>, env: &[(&str, &str)], flags: SettingsArgs) -> Result<Settings> {
        let dir = tempfile::tempdir().unwrap();
        let workspace = Utf8Path::from_path(dir.path()).unwrap();
        if let Some(text) = file {
            std::fs::write(workspace.join(SETTINGS_FILE), text).unwrap();
        }
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .chain([("HOME".into(), "/home/u".into())])
            .collect();
        Settings::load(workspace, &|key| env.get(key).cloned(), &flags)
    }

    #[test]
    fn defaults_need_nothing() {
        let settings = load(None, &[], SettingsArgs::default()).unwrap();
        assert_eq!(settings, Settings::defaults("/home/u/.cache".into()));
        assert_eq!(settings.cache_dir, "/home/u/.cache/buildah-gentoo");
    }

    #[test]
    fn file_then_env_then_flags() {
        let file = "namespace = \"registry.example:5000/ops\"\nisolation = \"oci\"\nrepository = \"image:docker.io/gentoo/portage:latest\"\n";
        let settings = load(Some(file), &[], SettingsArgs::default()).unwrap();
        assert_eq!(settings.namespace, "registry.example:5000/ops");
        assert_eq!(settings.isolation, Isolation::Oci);
        assert_eq!(settings.repository, RepositorySource::Image("docker.io/gentoo/portage:latest".into()));

        let settings = load(Some(file), &[("BUILDAH_GENTOO_ISOLATION", "chroot")], SettingsArgs::default()).unwrap();
        assert_eq!(settings.isolation, Isolation::Chroot);

        let flags = SettingsArgs {
            layer: SettingsLayer { namespace: Some("localhost/mine".into()), ..SettingsLayer::default() },
            ..SettingsArgs::default()
        };
        let settings = load(Some(file), &[("BUILDAH_GENTOO_NAMESPACE", "localhost/env")], flags).unwrap();
        assert_eq!(settings.namespace, "localhost/mine");
    }

    #[test]
    fn catalyst_conf_settings_from_file_or_env() {
        let defaults = load(None, &[], SettingsArgs::default()).unwrap();
        assert_eq!((defaults.catalyst_jobs, defaults.catalyst_load_average), (None, None));
        let file = "catalyst-jobs = 8\ncatalyst-load-average = 10\ncatalyst-distdir = \"/srv/distfiles\"\n\
                    catalyst-options = [\"ccache\", \"keepwork\"]\n";
        let settings = load(Some(file), &[("BUILDAH_GENTOO_CATALYST_JOBS", "4")], SettingsArgs::default()).unwrap();
        assert_eq!((settings.catalyst_jobs, settings.catalyst_load_average), (Some(4), Some(10)));
        assert_eq!(settings.catalyst_distdir.as_deref(), Some(Utf8Path::new("/srv/distfiles")));
        assert_eq!(settings.catalyst_options.len(), 2);
        let error = load(Some("catalyst-options = [\"ccahce\"]\n"), &[], SettingsArgs::default()).unwrap_err();
        assert!(format!("{error:#}").contains("`ccahce` is not a catalyst option; known: autoresume"), "{error:#}");
        let error = load(None, &[("BUILDAH_GENTOO_CATALYST_ENVSCRIPT", "catalystrc")], SettingsArgs::default());
        assert!(format!("{:#}", error.unwrap_err()).contains("must be an absolute path"));
        assert!(load(None, &[("BUILDAH_GENTOO_CATALYST_JOBS", "0")], SettingsArgs::default()).is_err());
        assert!(load(None, &[("BUILDAH_GENTOO_CATALYST_LOAD_AVERAGE", "2.5")], SettingsArgs::default()).is_err());
    }

    #[test]
    fn ci_image_from_file_or_env_an_empty_variable_is_unset() {
        assert_eq!(load(None, &[("BUILDAH_GENTOO_CI_IMAGE", "")], SettingsArgs::default()).unwrap().ci_image, None);
        let file = "ci-image = \"docker.io/library/rust:1\"\n";
        let settings = load(Some(file), &[("BUILDAH_GENTOO_CI_IMAGE", "")], SettingsArgs::default()).unwrap();
        assert_eq!(settings.ci_image.as_deref(), Some("docker.io/library/rust:1"));
        let error = load(Some("ci-image = \"rust 1\"\n"), &[], SettingsArgs::default()).unwrap_err();
        assert!(format!("{error:#}").contains("ci-image `rust 1` must be an image reference"), "{error:#}");
    }

    #[test]
    fn keep_dates_from_the_file() {
        assert_eq!(load(None, &[], SettingsArgs::default()).unwrap().keep_dates, 3);
        assert_eq!(load(Some("keep-dates = 5\n"), &[], SettingsArgs::default()).unwrap().keep_dates, 5);
        assert!(load(Some("keep-dates = -1\n"), &[], SettingsArgs::default()).is_err());
    }

    #[test]
    fn catalyst_storedir_from_file_or_env_and_absolute() {
        assert_eq!(load(None, &[], SettingsArgs::default()).unwrap().catalyst_storedir, "/var/tmp/catalyst");
        let file = "catalyst-storedir = \"/srv/catalyst\"\n";
        assert_eq!(load(Some(file), &[], SettingsArgs::default()).unwrap().catalyst_storedir, "/srv/catalyst");
        let env = [("BUILDAH_GENTOO_CATALYST_STOREDIR", "/data/catalyst")];
        assert_eq!(load(Some(file), &env, SettingsArgs::default()).unwrap().catalyst_storedir, "/data/catalyst");
        let error = load(None, &[("BUILDAH_GENTOO_CATALYST_STOREDIR", "store")], SettingsArgs::default()).unwrap_err();
        assert_eq!(format!("{error:#}"), "catalyst storedir `store` must be an absolute path");
    }

    #[test]
    fn reproducibility_settings_come_from_the_file_and_source_date_epoch() {
        let file = "source-date-epoch = 1700000000\nomit-history = true\nsource = \"https://git.example/images\"\n";
        let settings = load(Some(file), &[], SettingsArgs::default()).unwrap();
        assert_eq!(settings.source_date_epoch, Some(1_700_000_000));
        assert!(settings.omit_history);
        assert_eq!(settings.source.as_deref(), Some("https://git.example/images"));
        let settings = load(Some(file), &[("SOURCE_DATE_EPOCH", "1600000000")], SettingsArgs::default()).unwrap();
        assert_eq!(settings.source_date_epoch, Some(1_600_000_000));
        let error = load(None, &[("SOURCE_DATE_EPOCH", "yesterday")], SettingsArgs::default()).unwrap_err().to_string();
        assert!(error.contains("SOURCE_DATE_EPOCH `yesterday`"), "{error}");
        let error = format!(
            "{:#}",
            load(Some("source = \"https://me:pw@git.example/x\""), &[], SettingsArgs::default()).unwrap_err()
        );
        assert!(error.contains("credentials"), "{error}");
    }

    #[test]
    fn bad_settings_say_where_and_what() {
        let error = load(Some("isolaton = \"oci\"\n"), &[], SettingsArgs::default()).unwrap_err();
        let text = format!("{error:#}");
        assert!(text.contains("buildah-gentoo.toml") && text.contains("unknown field `isolaton`"), "{text}");

        let error = load(None, &[("BUILDAH_GENTOO_ISOLATION", "vm")], SettingsArgs::default()).unwrap_err();
        assert!(format!("{error:#}").contains("unknown isolation `vm`"));

        let error = load(None, &[("BUILDAH_GENTOO_NAMESPACE", "Local/Gentoo")], SettingsArgs::default()).unwrap_err();
        assert!(format!("{error:#}").contains("namespace `Local/Gentoo` is not a valid repository prefix"));

        let error = load(None, &[("BUILDAH_GENTOO_REPOSITORY", "relative/repo")], SettingsArgs::default()).unwrap_err();
        assert!(format!("{error:#}").contains("must be an absolute path"));
    }

    #[test]
    fn gentoo_mirrors_are_urls_without_credentials() {
        let settings = load(
            None,
            &[("BUILDAH_GENTOO_MIRRORS", "  https://a.example/gentoo\thttp://b.example ")],
            SettingsArgs::default(),
        );
        assert_eq!(settings.unwrap().gentoo_mirrors, ["https://a.example/gentoo", "http://b.example"]);
        assert!(load(None, &[("BUILDAH_GENTOO_MIRRORS", "")], SettingsArgs::default())
            .unwrap()
            .gentoo_mirrors
            .is_empty());
        for (mirrors, expected) in [
            ("/srv/distfiles", "is not a URL: expected http://, https:// or ftp://"),
            ("rsync://mirror.example/gentoo", "expected an http://, https:// or ftp:// URL"),
            ("http:///distfiles", "is not a URL with a host"),
            ("https://ok.example https://me:secret@mirror.example", "must not carry credentials"),
        ] {
            let error =
                load(Some(&format!("gentoo-mirrors = \"{mirrors}\"\n")), &[], SettingsArgs::default()).unwrap_err();
            let text = format!("{error:#}");
            assert!(text.starts_with("gentoo-mirrors: ") && text.contains(expected), "{mirrors}: {text}");
        }
    }

    /// A workspace with a settings file and `certs.d/<folder>/` holding `files`; the settings it loads.
    fn load_with_certs(binhosts: &str, folder: &str, files: &[&str]) -> (tempfile::TempDir, Result<Settings>) {
        let dir = tempfile::tempdir().unwrap();
        let workspace = Utf8Path::from_path(dir.path()).unwrap().to_owned();
        let certs = workspace.join("x509/certs.d").join(folder);
        std::fs::create_dir_all(&certs).unwrap();
        for file in files {
            std::fs::write(certs.join(file), "PEM\n").unwrap();
        }
        let text = format!("certs-dir = \"x509/certs.d\"\n{binhosts}");
        std::fs::write(workspace.join(SETTINGS_FILE), text).unwrap();
        let env = |key: &str| (key == "HOME").then(|| "/home/u".to_owned());
        let settings = Settings::load(&workspace, &env, &SettingsArgs::default());
        (dir, settings)
    }

    const TLS_BINHOSTS: &str = "[[binhost]]\nname = \"lab.tls\"\nuri = \"https://bin.example:8443/amd64\"\nverify-signature = false\n\
                                [[binhost]]\nname = \"plain\"\nuri = \"http://bin.example:8443/amd64\"\nverify-signature = false\n";

    #[test]
    fn https_binhosts_find_their_certificates_folder() {
        let (dir, settings) =
            load_with_certs(TLS_BINHOSTS, "bin.example:8443", &["ca.crt", "me.cert", "me.key", "notes.txt"]);
        let settings = settings.unwrap();
        let folder = Utf8Path::from_path(dir.path()).unwrap().join("x509/certs.d/bin.example:8443");
        let expected =
            BinhostTls { dir: folder, ca: Some("ca.crt".into()), client: Some(("me.cert".into(), "me.key".into())) };
        assert_eq!(
            settings.discover_binhost_tls().unwrap(),
            BTreeMap::from([("bin.example:8443".to_owned(), expected)])
        );
        assert_eq!(settings.binhosts[0].https_authority(), Some("bin.example:8443"));
        assert_eq!(settings.binhosts[1].https_authority(), None, "http:// binhosts get no certificates");
        let odd =
            |uri: &str| Binhost { name: "x".into(), uri: uri.into(), priority: 1, verify_signature: None, keyed: None };
        assert_eq!(odd("https://[::1]:8443").https_authority(), Some("[::1]:8443"));
        assert_eq!(odd("https://../up").https_authority(), None);
        assert_eq!(settings.binhosts[0].wget_tls_var(), "BUILDAH_GENTOO_WGET_TLS_LAB_TLS");

        // A CA alone is enough (a server certificate from a private CA, no client certificate).
        let (_dir, settings) = load_with_certs(TLS_BINHOSTS, "bin.example:8443", &["ca.crt"]);
        let tls = &settings.unwrap().discover_binhost_tls().unwrap()["bin.example:8443"];
        assert_eq!((tls.ca.as_deref(), tls.client.is_none()), (Some("ca.crt"), true));

        // No folder for the host, or nothing usable in it: nothing to mount.
        let (_dir, settings) = load_with_certs(TLS_BINHOSTS, "other.example:8443", &["ca.crt"]);
        assert!(settings.unwrap().discover_binhost_tls().unwrap().is_empty());
        let (_dir, settings) = load_with_certs(TLS_BINHOSTS, "bin.example:8443", &["README"]);
        assert!(settings.unwrap().discover_binhost_tls().unwrap().is_empty());
    }

    #[test]
    fn certificates_folders_wget_cannot_use_are_refused() {
        for (files, expected) in [
            (&["ca.crt", "me.cert"][..], "client certificate `me.cert` has no key `me.key`"),
            (&["ca.crt", "me.key"][..], "key `me.key` has no client certificate `me.cert`"),
            (&["a.cert", "a.key", "b.cert", "b.key"][..], "holds 2 client certificates (a.cert, b.cert)"),
            (&["ca.crt", "extra.crt"][..], "holds 2 CA certificates (ca.crt, extra.crt)"),
            (&["my ca.crt"][..], "rename `my ca.crt`"),
        ] {
            let (_dir, settings) = load_with_certs(TLS_BINHOSTS, "bin.example:8443", files);
            let text = format!("{:#}", settings.unwrap().discover_binhost_tls().unwrap_err());
            assert!(text.contains(expected) && text.contains("binhost `lab.tls`"), "{files:?}: {text}");
        }

        let clash = "[[binhost]]\nname = \"a-b\"\nuri = \"https://bin.example:8443/one\"\nverify-signature = false\n\
                     [[binhost]]\nname = \"a.b\"\nuri = \"https://bin.example:8443/two\"\nverify-signature = false\n";
        let (_dir, settings) = load_with_certs(clash, "bin.example:8443", &["ca.crt"]);
        let text = format!("{:#}", settings.unwrap().discover_binhost_tls().unwrap_err());
        assert!(
            text.contains("binhosts `a-b` and `a.b` both pass their TLS options in BUILDAH_GENTOO_WGET_TLS_A_B"),
            "{text}"
        );
    }

    /// Flags as clap parses them, without reading the process environment.
    fn flags(argv: &[&str]) -> Result<SettingsArgs, clap::Error> {
        use clap::{Args, FromArgMatches};
        let command = SettingsArgs::augment_args(clap::Command::new("t")).mut_args(|arg| arg.env(None));
        SettingsArgs::from_arg_matches(&command.try_get_matches_from(std::iter::once("t").chain(argv.iter().copied()))?)
    }

    /// One key per concern, each through every source it has: the default, then the file over it,
    /// then the environment over the file, then the flag over the environment.
    #[test]
    fn defaults_then_file_then_env_then_flags_for_each_concern() {
        struct Key {
            file: &'static str,
            env: Option<(&'static str, &'static str)>,
            flag: Option<&'static str>,
            /// The value after each source: default, file, environment, flag.
            expected: [&'static str; 4],
            get: fn(&Settings) -> String,
        }
        let keys = [
            // Images and storage.
            Key {
                file: "cache-dir = \"/file\"",
                env: Some(("BUILDAH_GENTOO_CACHE_DIR", "/env")),
                flag: Some("--cache-dir=/flag"),
                expected: ["/home/u/.cache/buildah-gentoo", "/file", "/env", "/flag"],
                get: |s| s.cache_dir.to_string(),
            },
            Key {
                file: "gentoo-mirrors = \"https://file.example/gentoo http://file2.example\"",
                env: Some(("BUILDAH_GENTOO_MIRRORS", "http://env.example/gentoo")),
                flag: Some("--gentoo-mirrors=ftp://flag.example/pub/gentoo https://flag2.example"),
                expected: [
                    "[]",
                    "[\"https://file.example/gentoo\", \"http://file2.example\"]",
                    "[\"http://env.example/gentoo\"]",
                    "[\"ftp://flag.example/pub/gentoo\", \"https://flag2.example\"]",
                ],
                get: |s| format!("{:?}", s.gentoo_mirrors),
            },
            // The registry.
            Key {
                file: "registry = \"file:5000\"",
                env: Some(("BUILDAH_GENTOO_REGISTRY", "env:5000")),
                flag: Some("--registry=flag:5000"),
                expected: ["None", "Some(\"file:5000\")", "Some(\"env:5000\")", "Some(\"flag:5000\")"],
                get: |s| format!("{:?}", s.registry),
            },
            Key {
                file: "tls-verify = false",
                env: None,
                flag: Some("--tls-verify=true"),
                expected: ["true", "false", "false", "true"],
                get: |s| s.tls_verify.to_string(),
            },
            // Binary package hosts.
            Key {
                file: "binhost-publish = \"/srv/file\"",
                env: Some(("BUILDAH_GENTOO_BINHOST_PUBLISH", "host:env")),
                flag: Some("--binhost-publish=rsync://flag/m"),
                expected: ["None", "Some(\"/srv/file\")", "Some(\"host:env\")", "Some(\"rsync://flag/m\")"],
                get: |s| format!("{:?}", s.binhost_publish),
            },
            // catalyst: no flag.
            Key {
                file: "catalyst-storedir = \"/file\"",
                env: Some(("BUILDAH_GENTOO_CATALYST_STOREDIR", "/env")),
                flag: None,
                expected: ["/var/tmp/catalyst", "/file", "/env", "/env"],
                get: |s| s.catalyst_storedir.to_string(),
            },
            // CI pipelines: no flag.
            Key {
                file: "ci-image = \"file/ci:1\"",
                env: Some(("BUILDAH_GENTOO_CI_IMAGE", "env/ci:2")),
                flag: None,
                expected: ["None", "Some(\"file/ci:1\")", "Some(\"env/ci:2\")", "Some(\"env/ci:2\")"],
                get: |s| format!("{:?}", s.ci_image),
            },
            // Reproducibility: no flag.
            Key {
                file: "source-date-epoch = 1700000000",
                env: Some(("SOURCE_DATE_EPOCH", "1600000000")),
                flag: None,
                expected: ["None", "Some(1700000000)", "Some(1600000000)", "Some(1600000000)"],
                get: |s| format!("{:?}", s.source_date_epoch),
            },
        ];
        for key in keys {
            let env: Vec<(&str, &str)> = key.env.into_iter().collect();
            let flags = flags(key.flag.as_slice()).unwrap();
            let got = [
                load(None, &[], SettingsArgs::default()),
                load(Some(key.file), &[], SettingsArgs::default()),
                load(Some(key.file), &env, SettingsArgs::default()),
                load(Some(key.file), &env, flags),
            ]
            .map(|settings| (key.get)(&settings.unwrap()));
            assert_eq!(got, key.expected, "{}", key.file);
        }
    }

    #[test]
    fn the_settings_file_comes_from_the_flag_then_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let workspace = Utf8Path::from_path(dir.path()).unwrap();
        for (name, namespace) in
            [(SETTINGS_FILE, "localhost/default"), ("env.toml", "localhost/env"), ("flag.toml", "localhost/flag")]
        {
            std::fs::write(workspace.join(name), format!("namespace = \"{namespace}\"\n")).unwrap();
        }
        let env_file = workspace.join("env.toml").to_string();
        let env = |key: &str| match key {
            "HOME" => Some("/home/u".to_owned()),
            "BUILDAH_GENTOO_SETTINGS" => Some(env_file.clone()),
            _ => None,
        };
        let none = |key: &str| (key == "HOME").then(|| "/home/u".to_owned());
        let flag = SettingsArgs { file: Some(workspace.join("flag.toml")), ..SettingsArgs::default() };
        assert_eq!(Settings::load(workspace, &none, &SettingsArgs::default()).unwrap().namespace, "localhost/default");
        assert_eq!(Settings::load(workspace, &env, &SettingsArgs::default()).unwrap().namespace, "localhost/env");
        assert_eq!(Settings::load(workspace, &env, &flag).unwrap().namespace, "localhost/flag");

        // A file that was asked for must exist.
        let missing = SettingsArgs { file: Some(workspace.join("missing.toml")), ..SettingsArgs::default() };
        let text = format!("{:#}", Settings::load(workspace, &none, &missing).unwrap_err());
        assert!(text.starts_with("reading settings file ") && text.contains("missing.toml"), "{text}");
    }

    #[test]
    fn an_unknown_key_in_the_file_is_refused_by_name_and_line() {
        let file = "namespace = \"localhost/x\"\ncache_dir = \"/srv/cache\"\n";
        let text = format!("{:#}", load(Some(file), &[], SettingsArgs::default()).unwrap_err());
        for expected in ["buildah-gentoo.toml", "line 2", "unknown field `cache_dir`", "`cache-dir`"] {
            assert!(text.contains(expected), "{expected}: {text}");
        }
        let text = format!(
            "{:#}",
            load(Some("[[binhost]]\nname = \"a\"\nurl = \"https://x\"\n"), &[], SettingsArgs::default()).unwrap_err()
        );
        assert!(text.contains("unknown field `url`") && text.contains("line 3"), "{text}");
    }

    /// The flags and their variables are user-facing names: this is the list the README documents.
    #[test]
    fn flags_and_variables_are_the_documented_ones() {
        use clap::Args;
        let command = SettingsArgs::augment_args(clap::Command::new("t"));
        let names: Vec<(String, Option<String>)> = command
            .get_arguments()
            .map(|arg| {
                let var = arg.get_env().map(|var| var.to_string_lossy().into_owned());
                (arg.get_long().expect("settings have long flags only").to_owned(), var)
            })
            .collect();
        let expected = [
            ("settings", Some("BUILDAH_GENTOO_SETTINGS")),
            ("namespace", Some("BUILDAH_GENTOO_NAMESPACE")),
            ("isolation", Some("BUILDAH_GENTOO_ISOLATION")),
            ("cache-dir", Some("BUILDAH_GENTOO_CACHE_DIR")),
            ("repository", Some("BUILDAH_GENTOO_REPOSITORY")),
            ("gentoo-mirrors", Some("BUILDAH_GENTOO_MIRRORS")),
            ("registry", Some("BUILDAH_GENTOO_REGISTRY")),
            ("certs-dir", Some("BUILDAH_GENTOO_CERTS_DIR")),
            ("authfile", Some("REGISTRY_AUTH_FILE")),
            ("tls-verify", None),
            ("binhost-publish", Some("BUILDAH_GENTOO_BINHOST_PUBLISH")),
        ]
        .map(|(flag, var)| (flag.to_owned(), var.map(str::to_owned)));
        assert_eq!(names, expected);
        assert!(
            command.get_arguments().all(|arg| arg.is_global_set()),
            "every settings flag is accepted by every command"
        );

        // Keys of the file alone have no flag.
        for flag in ["--work-dir=x", "--site-ca=x", "--omit-history=true", "--source-date-epoch=1", "--keep-dates=1"] {
            assert_eq!(flags(&[flag]).unwrap_err().kind(), clap::error::ErrorKind::UnknownArgument, "{flag}");
        }
    }

    #[test]
    fn every_variable_a_flag_names_is_read_from_the_given_environment() {
        let env = [
            ("BUILDAH_GENTOO_NAMESPACE", "localhost/env"),
            ("BUILDAH_GENTOO_ISOLATION", "oci"),
            ("BUILDAH_GENTOO_REPOSITORY", "image:docker.io/gentoo/portage"),
            ("BUILDAH_GENTOO_CERTS_DIR", "certs.d"),
            ("REGISTRY_AUTH_FILE", "/run/auth.json"),
            ("BUILDAH_GENTOO_SITE_CA", "/etc/site-ca.pem"),
        ];
        let settings = load(None, &env, SettingsArgs::default()).unwrap();
        assert_eq!(settings.namespace, "localhost/env");
        assert_eq!(settings.isolation, Isolation::Oci);
        assert_eq!(settings.repository, RepositorySource::Image("docker.io/gentoo/portage".into()));
        assert!(settings.certs_dir.unwrap().ends_with("certs.d"), "made absolute under the workspace");
        assert_eq!(settings.authfile.unwrap(), "/run/auth.json");
        assert_eq!(settings.site_ca.unwrap(), "/etc/site-ca.pem");
    }
}
