//! Settings: embedded defaults, then `buildah-gentoo.toml` at the workspace root, then environment
//! variables (`BUILDAH_GENTOO_*`), then command-line flags. Nothing is required for a first run.

use std::collections::BTreeMap;
use std::fmt;

use anyhow::{bail, Context, Result};
use camino::{Utf8Path, Utf8PathBuf};
use serde::{Deserialize, Serialize};

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
    /// The TLS files of the `https://` binhosts, by `host[:port]`: what `<certs_dir>/<host[:port]>/`
    /// held when the settings were loaded. Only these folders are mounted into builds.
    pub binhost_tls: BTreeMap<String, BinhostTls>,
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
    /// SBOM's date. `None`: derived from the ebuild repository (see [`crate::source_date`]).
    pub source_date_epoch: Option<i64>,
    /// Commit images without build history (`buildah commit --omit-history`).
    pub omit_history: bool,
    /// Where the image definitions' source lives (`org.opencontainers.image.source`); none when unset.
    pub source: Option<String>,
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
}

fn default_binhost_priority() -> i32 {
    10
}

impl Binhost {
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
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

fn serialize_options<S: serde::Serializer>(options: &[image_defs::CatalystOption], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(options.iter().map(|option| option.as_str()))
}

/// The settings file's shape; every key optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct SettingsFile {
    namespace: Option<String>,
    registry: Option<String>,
    isolation: Option<Isolation>,
    cache_dir: Option<Utf8PathBuf>,
    /// A folder, or `image:REF`.
    repository: Option<String>,
    work_dir: Option<Utf8PathBuf>,
    certs_dir: Option<Utf8PathBuf>,
    site_ca: Option<Utf8PathBuf>,
    authfile: Option<Utf8PathBuf>,
    tls_verify: Option<bool>,
    #[serde(default)]
    binhost: Vec<Binhost>,
    binhost_keyring: Option<Utf8PathBuf>,
    binhost_publish: Option<String>,
    catalyst_storedir: Option<Utf8PathBuf>,
    catalyst_jobs: Option<u32>,
    catalyst_load_average: Option<u32>,
    catalyst_envscript: Option<Utf8PathBuf>,
    catalyst_distdir: Option<Utf8PathBuf>,
    catalyst_options: Option<Vec<String>>,
    source_date_epoch: Option<i64>,
    omit_history: Option<bool>,
    source: Option<String>,
}

/// Values given on the command line; they win over everything else.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub settings_file: Option<Utf8PathBuf>,
    pub namespace: Option<String>,
    pub registry: Option<String>,
    pub isolation: Option<Isolation>,
    pub cache_dir: Option<Utf8PathBuf>,
    pub repository: Option<String>,
    pub certs_dir: Option<Utf8PathBuf>,
    pub authfile: Option<Utf8PathBuf>,
    pub tls_verify: Option<bool>,
    pub binhost_publish: Option<String>,
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
            work_dir: "target/buildah-gentoo".into(),
            certs_dir: None,
            site_ca: None,
            authfile: None,
            tls_verify: true,
            binhosts: Vec::new(),
            binhost_keyring: None,
            binhost_publish: None,
            binhost_tls: BTreeMap::new(),
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
        }
    }

    /// Defaults ← settings file ← environment ← overrides.
    pub fn load(workspace: &Utf8Path, env: &dyn Fn(&str) -> Option<String>, overrides: &Overrides) -> Result<Settings> {
        let mut settings = Settings::defaults(&user_cache_dir(env)?);

        let path = match &overrides.settings_file {
            Some(path) => Some(path.clone()),
            None => env("BUILDAH_GENTOO_SETTINGS").map(Utf8PathBuf::from),
        };
        let (path, required) = match path {
            Some(path) => (path, true),
            None => (workspace.join(SETTINGS_FILE), false),
        };
        if required || path.exists() {
            let text = std::fs::read_to_string(&path).with_context(|| format!("reading settings file {path}"))?;
            settings.apply_file(&text).with_context(|| format!("in settings file {path}"))?;
        }

        if let Some(value) = env("BUILDAH_GENTOO_NAMESPACE") {
            settings.namespace = value;
        }
        if let Some(value) = env("BUILDAH_GENTOO_REGISTRY") {
            settings.registry = Some(value);
        }
        if let Some(value) = env("BUILDAH_GENTOO_ISOLATION") {
            settings.isolation = value.parse().map_err(anyhow::Error::msg).context("in BUILDAH_GENTOO_ISOLATION")?;
        }
        if let Some(value) = env("BUILDAH_GENTOO_CACHE_DIR") {
            settings.cache_dir = value.into();
        }
        if let Some(value) = env("BUILDAH_GENTOO_REPOSITORY") {
            settings.repository = RepositorySource::parse(&value);
        }
        if let Some(value) = env("BUILDAH_GENTOO_CERTS_DIR") {
            settings.certs_dir = Some(value.into());
        }
        if let Some(value) = env("BUILDAH_GENTOO_SITE_CA") {
            settings.site_ca = Some(value.into());
        }
        if let Some(value) = env("REGISTRY_AUTH_FILE") {
            settings.authfile = Some(value.into());
        }
        if let Some(value) = env("BUILDAH_GENTOO_BINHOST_PUBLISH") {
            settings.binhost_publish = Some(value);
        }
        if let Some(value) = env("BUILDAH_GENTOO_CATALYST_STOREDIR") {
            settings.catalyst_storedir = value.into();
        }
        for (name, slot) in [
            ("BUILDAH_GENTOO_CATALYST_JOBS", &mut settings.catalyst_jobs),
            ("BUILDAH_GENTOO_CATALYST_LOAD_AVERAGE", &mut settings.catalyst_load_average),
        ] {
            if let Some(value) = env(name) {
                *slot =
                    Some(value.trim().parse().map_err(|_| anyhow::anyhow!("{name} `{value}` is not a whole number"))?);
            }
        }
        if let Some(value) = env("BUILDAH_GENTOO_CATALYST_ENVSCRIPT") {
            settings.catalyst_envscript = Some(value.into());
        }
        if let Some(value) = env("BUILDAH_GENTOO_CATALYST_DISTDIR") {
            settings.catalyst_distdir = Some(value.into());
        }
        if let Some(value) = env("SOURCE_DATE_EPOCH").filter(|value| !value.is_empty()) {
            let epoch = value.trim().parse().map_err(|_| {
                anyhow::anyhow!("SOURCE_DATE_EPOCH `{value}` is not a number of seconds since 1970-01-01")
            })?;
            settings.source_date_epoch = Some(epoch);
        }

        if let Some(value) = &overrides.namespace {
            settings.namespace = value.clone();
        }
        if let Some(value) = &overrides.registry {
            settings.registry = Some(value.clone());
        }
        if let Some(value) = overrides.isolation {
            settings.isolation = value;
        }
        if let Some(value) = &overrides.cache_dir {
            settings.cache_dir = value.clone();
        }
        if let Some(value) = &overrides.repository {
            settings.repository = RepositorySource::parse(value);
        }
        if let Some(value) = &overrides.certs_dir {
            settings.certs_dir = Some(value.clone());
        }
        if let Some(value) = &overrides.authfile {
            settings.authfile = Some(value.clone());
        }
        if let Some(value) = overrides.tls_verify {
            settings.tls_verify = value;
        }
        if let Some(value) = &overrides.binhost_publish {
            settings.binhost_publish = Some(value.clone());
        }
        for path in
            [&mut settings.certs_dir, &mut settings.authfile, &mut settings.binhost_keyring].into_iter().flatten()
        {
            if path.is_relative() {
                *path = workspace.join(&*path);
            }
        }

        settings.validate()?;
        settings.binhost_tls = settings.discover_binhost_tls()?;
        Ok(settings)
    }

    /// The `certs_dir` folders of the `https://` binhosts, those that exist.
    fn discover_binhost_tls(&self) -> Result<BTreeMap<String, BinhostTls>> {
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

    fn apply_file(&mut self, text: &str) -> Result<()> {
        let file: SettingsFile = toml::from_str(text)?;
        if let Some(value) = file.namespace {
            self.namespace = value;
        }
        if file.registry.is_some() {
            self.registry = file.registry;
        }
        if let Some(value) = file.isolation {
            self.isolation = value;
        }
        if let Some(value) = file.cache_dir {
            self.cache_dir = value;
        }
        if let Some(value) = file.repository {
            self.repository = RepositorySource::parse(&value);
        }
        if let Some(value) = file.work_dir {
            self.work_dir = value;
        }
        if file.certs_dir.is_some() {
            self.certs_dir = file.certs_dir;
        }
        if file.authfile.is_some() {
            self.authfile = file.authfile;
        }
        if file.site_ca.is_some() {
            self.site_ca = file.site_ca;
        }
        if let Some(value) = file.tls_verify {
            self.tls_verify = value;
        }
        self.binhosts.extend(file.binhost);
        if file.binhost_keyring.is_some() {
            self.binhost_keyring = file.binhost_keyring;
        }
        if file.binhost_publish.is_some() {
            self.binhost_publish = file.binhost_publish;
        }
        if let Some(value) = file.catalyst_storedir {
            self.catalyst_storedir = value;
        }
        if file.catalyst_jobs.is_some() {
            self.catalyst_jobs = file.catalyst_jobs;
        }
        if file.catalyst_load_average.is_some() {
            self.catalyst_load_average = file.catalyst_load_average;
        }
        if file.catalyst_envscript.is_some() {
            self.catalyst_envscript = file.catalyst_envscript;
        }
        if file.catalyst_distdir.is_some() {
            self.catalyst_distdir = file.catalyst_distdir;
        }
        if let Some(names) = file.catalyst_options {
            self.catalyst_options = names
                .iter()
                .map(|name| {
                    image_defs::CatalystOption::parse(name).with_context(|| {
                        let known: Vec<&str> = image_defs::CatalystOption::ALL.iter().map(|o| o.as_str()).collect();
                        format!("catalyst-options: `{name}` is not a catalyst option; known: {}", known.join(", "))
                    })
                })
                .collect::<Result<_>>()?;
        }
        if file.source_date_epoch.is_some() {
            self.source_date_epoch = file.source_date_epoch;
        }
        if let Some(value) = file.omit_history {
            self.omit_history = value;
        }
        if file.source.is_some() {
            self.source = file.source;
        }
        Ok(())
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

    fn load(file: Option<&str>, env: &[(&str, &str)], overrides: Overrides) -> Result<Settings> {
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
        Settings::load(workspace, &|key| env.get(key).cloned(), &overrides)
    }

    #[test]
    fn defaults_need_nothing() {
        let settings = load(None, &[], Overrides::default()).unwrap();
        assert_eq!(settings, Settings::defaults("/home/u/.cache".into()));
        assert_eq!(settings.cache_dir, "/home/u/.cache/buildah-gentoo");
    }

    #[test]
    fn file_then_env_then_flags() {
        let file = "namespace = \"registry.example:5000/ops\"\nisolation = \"oci\"\nrepository = \"image:docker.io/gentoo/portage:latest\"\n";
        let settings = load(Some(file), &[], Overrides::default()).unwrap();
        assert_eq!(settings.namespace, "registry.example:5000/ops");
        assert_eq!(settings.isolation, Isolation::Oci);
        assert_eq!(settings.repository, RepositorySource::Image("docker.io/gentoo/portage:latest".into()));

        let settings = load(Some(file), &[("BUILDAH_GENTOO_ISOLATION", "chroot")], Overrides::default()).unwrap();
        assert_eq!(settings.isolation, Isolation::Chroot);

        let overrides = Overrides { namespace: Some("localhost/mine".into()), ..Overrides::default() };
        let settings = load(Some(file), &[("BUILDAH_GENTOO_NAMESPACE", "localhost/env")], overrides).unwrap();
        assert_eq!(settings.namespace, "localhost/mine");
    }

    #[test]
    fn catalyst_storedir_from_file_or_env_and_absolute() {
        assert_eq!(load(None, &[], Overrides::default()).unwrap().catalyst_storedir, "/var/tmp/catalyst");
        let file = "catalyst-storedir = \"/srv/catalyst\"\n";
        assert_eq!(load(Some(file), &[], Overrides::default()).unwrap().catalyst_storedir, "/srv/catalyst");
        let env = [("BUILDAH_GENTOO_CATALYST_STOREDIR", "/data/catalyst")];
        assert_eq!(load(Some(file), &env, Overrides::default()).unwrap().catalyst_storedir, "/data/catalyst");
        let error = load(None, &[("BUILDAH_GENTOO_CATALYST_STOREDIR", "store")], Overrides::default()).unwrap_err();
        assert_eq!(format!("{error:#}"), "catalyst storedir `store` must be an absolute path");
    }

    #[test]
    fn catalyst_conf_settings_from_file_or_env() {
        let defaults = load(None, &[], Overrides::default()).unwrap();
        assert_eq!((defaults.catalyst_jobs, defaults.catalyst_load_average), (None, None));
        let file = "catalyst-jobs = 8\ncatalyst-load-average = 10\ncatalyst-distdir = \"/srv/distfiles\"\n\
                    catalyst-options = [\"ccache\", \"keepwork\"]\n";
        let settings = load(Some(file), &[("BUILDAH_GENTOO_CATALYST_JOBS", "4")], Overrides::default()).unwrap();
        assert_eq!((settings.catalyst_jobs, settings.catalyst_load_average), (Some(4), Some(10)));
        assert_eq!(settings.catalyst_distdir.as_deref(), Some(Utf8Path::new("/srv/distfiles")));
        assert_eq!(settings.catalyst_options.len(), 2);
        let error = load(Some("catalyst-options = [\"ccahce\"]\n"), &[], Overrides::default()).unwrap_err();
        assert!(format!("{error:#}").contains("`ccahce` is not a catalyst option; known: autoresume"), "{error:#}");
        let error = load(None, &[("BUILDAH_GENTOO_CATALYST_ENVSCRIPT", "catalystrc")], Overrides::default());
        assert!(format!("{:#}", error.unwrap_err()).contains("must be an absolute path"));
        assert!(load(None, &[("BUILDAH_GENTOO_CATALYST_JOBS", "0")], Overrides::default()).is_err());
        assert!(load(None, &[("BUILDAH_GENTOO_CATALYST_LOAD_AVERAGE", "2.5")], Overrides::default()).is_err());
    }

    #[test]
    fn reproducibility_settings_come_from_the_file_and_source_date_epoch() {
        let file = "source-date-epoch = 1700000000\nomit-history = true\nsource = \"https://git.example/images\"\n";
        let settings = load(Some(file), &[], Overrides::default()).unwrap();
        assert_eq!(settings.source_date_epoch, Some(1_700_000_000));
        assert!(settings.omit_history);
        assert_eq!(settings.source.as_deref(), Some("https://git.example/images"));
        let settings = load(Some(file), &[("SOURCE_DATE_EPOCH", "1600000000")], Overrides::default()).unwrap();
        assert_eq!(settings.source_date_epoch, Some(1_600_000_000));
        let error = load(None, &[("SOURCE_DATE_EPOCH", "yesterday")], Overrides::default()).unwrap_err().to_string();
        assert!(error.contains("SOURCE_DATE_EPOCH `yesterday`"), "{error}");
        let error = format!(
            "{:#}",
            load(Some("source = \"https://me:pw@git.example/x\""), &[], Overrides::default()).unwrap_err()
        );
        assert!(error.contains("credentials"), "{error}");
    }

    #[test]
    fn bad_settings_say_where_and_what() {
        let error = load(Some("isolaton = \"oci\"\n"), &[], Overrides::default()).unwrap_err();
        let text = format!("{error:#}");
        assert!(text.contains("buildah-gentoo.toml") && text.contains("unknown field `isolaton`"), "{text}");

        let error = load(None, &[("BUILDAH_GENTOO_ISOLATION", "vm")], Overrides::default()).unwrap_err();
        assert!(format!("{error:#}").contains("unknown isolation `vm`"));

        let error = load(None, &[("BUILDAH_GENTOO_NAMESPACE", "Local/Gentoo")], Overrides::default()).unwrap_err();
        assert!(format!("{error:#}").contains("namespace `Local/Gentoo` is not a valid repository prefix"));

        let error = load(None, &[("BUILDAH_GENTOO_REPOSITORY", "relative/repo")], Overrides::default()).unwrap_err();
        assert!(format!("{error:#}").contains("must be an absolute path"));
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
        let settings = Settings::load(&workspace, &env, &Overrides::default());
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
        assert_eq!(settings.binhost_tls, BTreeMap::from([("bin.example:8443".to_owned(), expected)]));
        assert_eq!(settings.binhosts[0].https_authority(), Some("bin.example:8443"));
        assert_eq!(settings.binhosts[1].https_authority(), None, "http:// binhosts get no certificates");
        let odd = |uri: &str| Binhost { name: "x".into(), uri: uri.into(), priority: 1, verify_signature: None };
        assert_eq!(odd("https://[::1]:8443").https_authority(), Some("[::1]:8443"));
        assert_eq!(odd("https://../up").https_authority(), None);
        assert_eq!(settings.binhosts[0].wget_tls_var(), "BUILDAH_GENTOO_WGET_TLS_LAB_TLS");

        // A CA alone is enough (a server certificate from a private CA, no client certificate).
        let (_dir, settings) = load_with_certs(TLS_BINHOSTS, "bin.example:8443", &["ca.crt"]);
        let tls = &settings.unwrap().binhost_tls["bin.example:8443"];
        assert_eq!((tls.ca.as_deref(), tls.client.is_none()), (Some("ca.crt"), true));

        // No folder for the host, or nothing usable in it: nothing to mount.
        let (_dir, settings) = load_with_certs(TLS_BINHOSTS, "other.example:8443", &["ca.crt"]);
        assert!(settings.unwrap().binhost_tls.is_empty());
        let (_dir, settings) = load_with_certs(TLS_BINHOSTS, "bin.example:8443", &["README"]);
        assert!(settings.unwrap().binhost_tls.is_empty());
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
            let text = format!("{:#}", settings.unwrap_err());
            assert!(text.contains(expected) && text.contains("binhost `lab.tls`"), "{files:?}: {text}");
        }

        let clash = "[[binhost]]\nname = \"a-b\"\nuri = \"https://bin.example:8443/one\"\nverify-signature = false\n\
                     [[binhost]]\nname = \"a.b\"\nuri = \"https://bin.example:8443/two\"\nverify-signature = false\n";
        let (_dir, settings) = load_with_certs(clash, "bin.example:8443", &["ca.crt"]);
        let text = format!("{:#}", settings.unwrap_err());
        assert!(
            text.contains("binhosts `a-b` and `a.b` both pass their TLS options in BUILDAH_GENTOO_WGET_TLS_A_B"),
            "{text}"
        );
    }
}
