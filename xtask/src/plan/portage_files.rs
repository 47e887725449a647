//! The portage configuration files an image's declarations become. They reach the container as
//! files in the image's build context, copied with one `buildah copy`, never through a shell.

use std::collections::BTreeMap;

use image_defs::{Image, UseFlag};
use serde::Serialize;

use super::command::{Piece, Word};
use crate::settings::{Binhost, BinhostTls, Isolation};

/// A generated file, at `path` (relative to the container's `/`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ContextFile {
    pub path: String,
    pub contents: String,
}

/// The file name an image's entries use in the `/etc/portage/package.*` folders: its name with `/`
/// turned into `+` (a character image names cannot hold, so two images never share a file).
pub fn file_stem(image_name: &str) -> String {
    image_name.replace('/', "+")
}

/// The tool's own make.conf fragment, the same in every image: binary packages are built and reused,
/// and the shared caches are where the build mounts them.
pub fn tool_make_conf(isolation: Isolation) -> ContextFile {
    // Fragments of one make.conf folder form one layer: a later `FEATURES=` replaces an earlier one,
    // so every assignment extends what is there.
    let mut contents = String::from(
        "# Written by buildah-gentoo: every build shares the binary package cache.\n\
         FEATURES=\"${FEATURES} buildpkg\"\n\
         BINPKG_FORMAT=\"gpkg\"\n\
         PKGDIR=\"/var/cache/binpkgs\"\n\
         DISTDIR=\"/var/cache/distfiles\"\n",
    );
    if isolation == Isolation::Chroot {
        contents.push_str(
            "# chroot isolation gives no namespaces for portage's sandboxes.\n\
             FEATURES=\"${FEATURES} -sandbox -usersandbox -ipc-sandbox -network-sandbox -pid-sandbox -mount-sandbox\"\n",
        );
    }
    ContextFile { path: "etc/portage/make.conf/01-buildah-gentoo.conf".into(), contents }
}

/// `/etc/portage/binrepos.conf/<name>.conf` for each remote binhost, as (path, contents). Signatures
/// are verified unless the binhost says `verify-signature = false`; settings validation makes sure a
/// verifying binhost has a keyring. A keyed binhost (the default) is fetched from the folder of the
/// build's flags: its `sync-uri` ends in `/${binpkg_key}`, known when the build runs (see
/// [`super::binpkg_cache`]), so the file is written by a step of the build, after that key. A
/// binhost with TLS files (`tls`, by `host[:port]`) also gets a fetch and a resume command: see
/// [`wget_command`].
pub fn binrepos(binhosts: &[Binhost], has_keyring: bool, tls: &BTreeMap<String, BinhostTls>) -> Vec<(String, Word)> {
    binhosts
        .iter()
        .map(|binhost| {
            // Unset means a keyring is configured (settings validation insists on one or the other).
            let verify = binhost.verify_signature.unwrap_or(has_keyring);
            let head = format!(
                "# Written by buildah-gentoo from the settings' binhosts.\n[{}]\nsync-uri = {}",
                binhost.name,
                binhost.uri.trim_end_matches('/')
            );
            let mut tail = format!("\npriority = {}\nverify-signature = {}\n", binhost.priority, verify);
            if binhost.https_authority().is_some_and(|authority| tls.contains_key(authority)) {
                let var = binhost.wget_tls_var();
                tail.push_str(&format!(
                    "# The build passes the wget options for this binhost's certificates (mounted, never copied)\n\
                     # in {var}; where that is unset, these are portage's default wget\n\
                     # commands. A fetchcommand also has portage fetch the index with wget: its own HTTP client\n\
                     # presents no client certificate.\n\
                     fetchcommand = {}\nresumecommand = {}\n",
                    wget_command(&var, false),
                    wget_command(&var, true)
                ));
            }
            // The step that writes the file adds the last line break.
            let tail = tail.trim_end_matches('\n').to_owned();
            let contents = if binhost.is_keyed() {
                Word(vec![
                    Piece::Text(format!("{head}/")),
                    Piece::Var(super::binpkg_cache::BINPKG_KEY),
                    Piece::Text(tail),
                ])
            } else {
                Word::text(format!("{head}{tail}"))
            };
            (format!("/etc/portage/binrepos.conf/{}.conf", binhost.name), contents)
        })
        .collect()
}

/// A binrepos.conf `fetchcommand` (or with `resume`, `resumecommand`): portage's default wget command
/// (make.globals' `FETCHCOMMAND`, `RESUMECOMMAND`) with the options in the environment variable `var`
/// added. The options are paths into the build's certificate mount, so they reach the command only
/// through the environment of the build step: no path that exists only during the build is written
/// into the image. `sh` splits them (with globbing off); portage expands `${DISTDIR}`, `${FILE}` and
/// `${URI}` and turns `\$` into `$` before `sh` runs.
pub fn wget_command(var: &str, resume: bool) -> String {
    let resume = if resume { "-c " } else { "" };
    format!(
        r#"sh -c 'set -f; exec wget {resume}-t 3 -T 60 --passive-ftp -U "Portage (Gentoo, gentoo.org) distfile-fetch" \${{{var}}} -O "\$1" "\$2"' wget "${{DISTDIR}}/${{FILE}}" "${{URI}}""#
    )
}

/// The image's own files: a make.conf fragment (ordered after its ancestors' by `depth`) and the
/// `package.*` entries. Only non-empty files are written.
pub fn image_files(image: &dyn Image, depth: usize) -> Vec<ContextFile> {
    let name = image.name();
    let stem = file_stem(name);
    let header = format!("# Written by buildah-gentoo for image `{name}`.\n");
    let mut files = Vec::new();

    if !image.spec().repositories.is_empty() {
        let mut repos_conf = format!("{header}# Mounted read-only during builds.\n");
        for repository in image.spec().repositories {
            repos_conf.push_str(&format!("[{}]\nlocation = {}\n", repository.name, repository.location()));
        }
        files.push(ContextFile { path: format!("etc/portage/repos.conf/{stem}.conf"), contents: repos_conf });
    }

    let mut make_conf = String::new();
    let flags: Vec<UseFlag> = image.spec().use_flags.iter().collect();
    if !flags.is_empty() {
        make_conf.push_str(&format!("USE=\"${{USE}} {}\"\n", join(flags)));
    }
    for (var, value) in image.spec().make_conf {
        make_conf.push_str(&format!("{var}=\"{}\"\n", escape_make_conf(value)));
    }
    if !make_conf.is_empty() {
        files.push(ContextFile {
            path: format!("etc/portage/make.conf/{:02}-{stem}.conf", 10 + depth.min(89)),
            contents: format!("{header}{make_conf}"),
        });
    }

    let package_use: Vec<String> =
        image.spec().package_use.iter().map(|entry| format!("{} {}", entry.atom, join(entry.flags.iter()))).collect();
    let keywords: Vec<String> = image
        .spec()
        .accept_keywords
        .iter()
        .map(|entry| {
            let keywords = join(entry.keywords.iter());
            if keywords.is_empty() {
                entry.atom.to_string()
            } else {
                format!("{} {keywords}", entry.atom)
            }
        })
        .collect();
    let masks: Vec<String> = image.spec().masks.iter().map(ToString::to_string).collect();
    let unmasks: Vec<String> = image.spec().unmasks.iter().map(ToString::to_string).collect();
    for (folder, lines) in [
        ("package.use", package_use),
        ("package.accept_keywords", keywords),
        ("package.mask", masks),
        ("package.unmask", unmasks),
    ] {
        if !lines.is_empty() {
            files.push(ContextFile {
                path: format!("etc/portage/{folder}/{stem}"),
                contents: format!("{header}{}\n", lines.join("\n")),
            });
        }
    }
    files
}

fn join<T: ToString>(items: impl IntoIterator<Item = T>) -> String {
    items.into_iter().map(|item| item.to_string()).collect::<Vec<_>>().join(" ")
}

/// make.conf values are double-quoted; `${VAR}` references stay live, as in a hand-written make.conf.
fn escape_make_conf(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', " ")
}
