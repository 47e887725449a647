//! The host tools builds and tests need, and installing them on Debian as root.

use anyhow::{bail, Context, Result};
use camino::{Utf8Path, Utf8PathBuf};
use xshell::{cmd, Shell};

/// A command the host needs, and the Debian package that provides it.
#[derive(Clone, Copy, Debug)]
pub struct Tool {
    pub command: &'static str,
    pub debian_package: &'static str,
    pub why: &'static str,
}

/// What `build` needs.
pub const BUILD_TOOLS: &[Tool] = &[Tool { command: "buildah", debian_package: "buildah", why: "builds the images" }];

/// What the rig root needs on top (it is made with debootstrap).
pub const RIG_TOOLS: &[Tool] = &[
    Tool { command: "debootstrap", debian_package: "debootstrap", why: "makes the rig's Debian root" },
    Tool { command: "pip3", debian_package: "python3-pip", why: "downloads the portage wheel from PyPI" },
];

/// What importing a stage3 tarball needs on top (tar and sha512sum come with every Debian).
pub const IMPORT_TOOLS: &[Tool] = &[
    Tool { command: "gpgv", debian_package: "gpgv", why: "checks a stage3's signature" },
    Tool { command: "xz", debian_package: "xz-utils", why: "unpacks .tar.xz stage3 tarballs" },
    Tool { command: "bzip2", debian_package: "bzip2", why: "unpacks .tar.bz2 stage3 tarballs" },
    Tool { command: "zstd", debian_package: "zstd", why: "unpacks .tar.zst stage3 tarballs" },
];

/// What the test suite needs on top.
pub const TEST_TOOLS: &[Tool] = &[
    Tool { command: "skopeo", debian_package: "skopeo", why: "inspects pushed images" },
    Tool {
        command: "docker-registry",
        debian_package: "docker-registry",
        why: "the TLS registry the publish tests push to",
    },
    Tool { command: "nginx", debian_package: "nginx-light", why: "serves the test binhost" },
    Tool { command: "rsync", debian_package: "rsync", why: "publishes binary packages" },
    Tool { command: "openssl", debian_package: "openssl", why: "makes the test certificates" },
    Tool { command: "gpg", debian_package: "gpg", why: "signs and verifies test artifacts" },
    Tool { command: "htpasswd", debian_package: "apache2-utils", why: "makes the test registry's password file" },
    Tool { command: "setcap", debian_package: "libcap2-bin", why: "gives a test stage3's file a capability" },
    Tool {
        command: "rdsquashfs",
        debian_package: "squashfs-tools-ng",
        why: "checks catalyst snapshots (tar2sqfs makes the test ones)",
    },
];

/// Whether `command` is on PATH.
pub fn is_installed(command: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|path| find_on_path(command, &path).is_some())
}

/// The first executable `name` in the directories of `path` (a `PATH` value).
pub fn find_on_path(name: &str, path: &std::ffi::OsStr) -> Option<Utf8PathBuf> {
    std::env::split_paths(path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
        .and_then(|candidate| Utf8PathBuf::from_path_buf(candidate).ok())
}

fn is_executable(path: &std::path::Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata().map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false)
}

/// Makes sure every tool is there: on Debian as root, installs the missing ones with apt-get;
/// elsewhere, stops and says exactly what to install.
pub fn ensure(sh: &Shell, tools: &[Tool]) -> Result<()> {
    let missing: Vec<&Tool> = tools.iter().filter(|tool| !is_installed(tool.command)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let packages: Vec<&str> = missing.iter().map(|tool| tool.debian_package).collect();
    let is_debian = Utf8Path::new("/etc/debian_version").exists();
    let is_root = cmd!(sh, "id -u").quiet().read().map(|uid| uid.trim() == "0").unwrap_or(false);
    if !(is_debian && is_root) {
        let list: Vec<String> = missing
            .iter()
            .map(|tool| format!("  {} (Debian package {}): {}", tool.command, tool.debian_package, tool.why))
            .collect();
        bail!(
            "missing tools:\n{}\ninstall them (on Debian: `apt-get install {}`) and run again",
            list.join("\n"),
            packages.join(" ")
        );
    }
    eprintln!("installing {} with apt-get", packages.join(" "));
    let first = packages.clone();
    cmd!(sh, "apt-get install -y -q --no-install-recommends {first...}")
        .env("DEBIAN_FRONTEND", "noninteractive")
        .run()
        .or_else(|_| {
            // A fresh machine may have no package lists yet.
            cmd!(sh, "apt-get update -q").run()?;
            cmd!(sh, "apt-get install -y -q --no-install-recommends {packages...}")
                .env("DEBIAN_FRONTEND", "noninteractive")
                .run()
        })
        .context("installing the missing tools with apt-get")?;
    Ok(())
}

/// A Python with portage importable, for the differential atom tests: `python3` when it already has
/// portage, else a venv under `work_dir` with portage from PyPI.
pub fn portage_python(sh: &Shell, work_dir: &Utf8Path) -> Result<Utf8PathBuf> {
    if cmd!(sh, "python3 -c 'import portage.dep'").quiet().ignore_stderr().run().is_ok() {
        let path = cmd!(sh, "python3 -c 'import sys; print(sys.executable)'").quiet().read()?;
        return Ok(path.into());
    }
    let venv = work_dir.join("portage-venv");
    let python = venv.join("bin/python3");
    if cmd!(sh, "{python} -c 'import portage.dep'").quiet().ignore_stderr().run().is_ok() {
        return Ok(python);
    }
    if !is_installed("python3") {
        bail!("python3 is missing: install it (Debian: `apt-get install python3 python3-venv`)");
    }
    eprintln!("installing portage from PyPI into {venv}");
    cmd!(sh, "python3 -m venv {venv}").run().context("creating a venv (Debian: `apt-get install python3-venv`)")?;
    cmd!(sh, "{python} -m pip install --quiet portage").run().context("installing portage from PyPI")?;
    Ok(python)
}

/// The official SPDX 2.3 JSON schema and a Python that can check documents against it: a venv under
/// `work_dir` with `jsonschema` from PyPI, and the schema file as the `lib4sbom` wheel ships it
/// (`lib4sbom/schemas/spdx/2.3-schema.json`, the spdx-spec repository's schema), unpacked next to it.
pub fn spdx_validator(sh: &Shell, work_dir: &Utf8Path) -> Result<(Utf8PathBuf, Utf8PathBuf)> {
    let venv = work_dir.join("spdx-venv");
    let python = venv.join("bin/python3");
    let schema = venv.join("spdx-2.3-schema.json");
    if schema.is_file() && cmd!(sh, "{python} -c 'import jsonschema'").quiet().ignore_stderr().run().is_ok() {
        return Ok((python, schema));
    }
    if !is_installed("python3") {
        bail!("python3 is missing: install it (Debian: `apt-get install python3 python3-venv`)");
    }
    eprintln!("installing jsonschema and the SPDX 2.3 schema from PyPI into {venv}");
    cmd!(sh, "python3 -m venv {venv}").run().context("creating a venv (Debian: `apt-get install python3-venv`)")?;
    cmd!(sh, "{python} -m pip install --quiet jsonschema").run().context("installing jsonschema from PyPI")?;
    let wheels = venv.join("wheels");
    cmd!(sh, "{python} -m pip download --quiet --no-deps --only-binary=:all: --dest {wheels} lib4sbom")
        .run()
        .context("downloading the lib4sbom wheel (it carries the SPDX 2.3 schema) from PyPI")?;
    let extract = "import glob, sys, zipfile\n\
                   wheel = sorted(glob.glob(sys.argv[1] + '/lib4sbom-*.whl'))[-1]\n\
                   data = zipfile.ZipFile(wheel).read('lib4sbom/schemas/spdx/2.3-schema.json')\n\
                   open(sys.argv[2], 'wb').write(data)\n";
    cmd!(sh, "{python} -c {extract} {wheels} {schema}").run().context("unpacking the SPDX 2.3 schema")?;
    Ok((python, schema))
}

/// `check-jsonschema` (PyPI), which validates CI files against the schemas it ships
/// (`--builtin-schema vendor.gitlab-ci`, `vendor.github-workflows`): a venv under `work_dir`. Returns
/// the command's path; the venv's `python3` next to it reads YAML (ruamel.yaml comes with it).
/// gitlab-ci-local, pinned: newer releases need a newer Node.js than Debian's and this machine's 20.
pub const GITLAB_CI_LOCAL_VERSION: &str = "4.62.0";

/// gitlab-ci-local (npm), installed under `work_dir` unless there: the test suite runs generated
/// GitLab pipelines with it (its shell executor, no Docker). Returns the command's path.
pub fn gitlab_ci_local(sh: &Shell, work_dir: &Utf8Path) -> Result<Utf8PathBuf> {
    let prefix = work_dir.join(format!("gitlab-ci-local-{GITLAB_CI_LOCAL_VERSION}"));
    let command = prefix.join("node_modules/.bin/gitlab-ci-local");
    if cmd!(sh, "{command} --version").quiet().ignore_stdout().ignore_stderr().run().is_ok() {
        return Ok(command);
    }
    if !is_installed("npm") {
        ensure(sh, &[Tool { command: "npm", debian_package: "npm", why: "installs gitlab-ci-local" }])?;
    }
    eprintln!("installing gitlab-ci-local {GITLAB_CI_LOCAL_VERSION} from npm into {prefix}");
    std::fs::create_dir_all(&prefix).with_context(|| format!("creating {prefix}"))?;
    let package = format!("gitlab-ci-local@{GITLAB_CI_LOCAL_VERSION}");
    cmd!(sh, "npm install --prefix {prefix} --no-audit --no-fund --silent {package}")
        .run()
        .context("installing gitlab-ci-local from npm")?;
    Ok(command)
}

pub fn ci_schema_validator(sh: &Shell, work_dir: &Utf8Path) -> Result<Utf8PathBuf> {
    let venv = work_dir.join("ci-schema-venv");
    let check = venv.join("bin/check-jsonschema");
    if cmd!(sh, "{check} --version").quiet().ignore_stdout().ignore_stderr().run().is_ok() {
        return Ok(check);
    }
    if !is_installed("python3") {
        bail!("python3 is missing: install it (Debian: `apt-get install python3 python3-venv`)");
    }
    eprintln!("installing check-jsonschema from PyPI into {venv}");
    cmd!(sh, "python3 -m venv {venv}").run().context("creating a venv (Debian: `apt-get install python3-venv`)")?;
    let python = venv.join("bin/python3");
    cmd!(sh, "{python} -m pip install --quiet check-jsonschema")
        .run()
        .context("installing check-jsonschema from PyPI")?;
    Ok(check)
}
