//! The emerge step: its argv, the caches and repository it mounts, and what a TLS binhost needs.

use std::collections::BTreeMap;

use image_defs::{Atom, Repository, RepositoryFrom, Root};

use super::step::{extra_repository_vars, REPOSITORY_MOUNT, WORKSPACE};
use super::{binpkg_cache, Mount, Word, BINHOST_CERTS_MOUNT, RIG_MIRROR, RIG_MIRROR_MOUNT, RIG_REPOSITORY};
use crate::settings::{BinhostTls, RepositorySource, Settings};

/// `emerge` of the packages from the shared binary package cache, building (and caching) what it
/// lacks; `extra` options come before the atoms.
pub(super) fn emerge_argv(packages: &[Atom<'static>], settings: &Settings, extra: &[&str]) -> Vec<String> {
    let mut argv = vec![
        "emerge",
        "--verbose",
        "--color=n",
        "--nospinner",
        "--update",
        "--deep",
        "--newuse",
        "--buildpkg",
        "--usepkg",
        "--binpkg-respect-use=y",
    ];
    if !settings.binhosts.is_empty() {
        argv.push("--getbinpkg");
    }
    argv.extend_from_slice(extra);
    argv.extend(packages.iter().map(|atom| atom.as_str()));
    argv.into_iter().map(str::to_owned).collect()
}

/// The ebuild repositories, read-only: the main one (the rig's for rig images) at
/// `/var/db/repos/gentoo` and each of `extra` at its location.
pub(super) fn repository_mounts(root: Root, settings: &Settings, extra: &[Repository]) -> Vec<Mount> {
    let main = match (root, &settings.repository) {
        (Root::Rig, _) => Word::var_then(WORKSPACE, format!("/{RIG_REPOSITORY}")),
        (_, RepositorySource::Folder(path)) => Word::text(path.as_str()),
        (_, RepositorySource::Image(_)) => Word::var_then(REPOSITORY_MOUNT, "/var/db/repos/gentoo"),
    };
    let mut mounts = vec![Mount { source: main, target: "/var/db/repos/gentoo".into(), read_only: true }];
    for repository in extra {
        let location = repository.location().to_string();
        let source = match repository.source {
            RepositoryFrom::Folder(path) if path.starts_with('/') => Word::text(path),
            RepositoryFrom::Folder(path) => Word::var_then(WORKSPACE, format!("/{path}")),
            RepositoryFrom::Image(_) => Word::var_then(extra_repository_vars(repository.name).1, location.clone()),
        };
        mounts.push(Mount { source, target: location, read_only: true });
    }
    mounts
}

/// The shared caches emerge writes to: the binary package folder of the build's flags (see
/// [`binpkg_cache`]), the distfiles, and with binhosts their packages and keyring.
pub(super) fn cache_mounts(settings: &Settings) -> Vec<Mount> {
    let mut mounts = vec![
        Mount {
            source: binpkg_cache::keyed_folder(settings, "binpkgs"),
            target: "/var/cache/binpkgs".into(),
            read_only: false,
        },
        Mount {
            source: Word::text(settings.cache_dir.join("distfiles").as_str()),
            target: "/var/cache/distfiles".into(),
            read_only: false,
        },
    ];
    if !settings.binhosts.is_empty() {
        // Packages fetched from a binhost are cached outside the image, like the local ones.
        mounts.push(Mount {
            source: binpkg_cache::keyed_folder(settings, "binhost"),
            target: "/var/cache/binhost".into(),
            read_only: false,
        });
        if let Some(keyring) = &settings.binhost_keyring {
            // Mounted, never copied: the keyring stays out of every layer.
            mounts.push(Mount {
                source: Word::text(keyring.as_str()),
                target: "/etc/portage/gnupg".into(),
                read_only: true,
            });
        }
    }
    mounts
}

/// The distfiles mirrors the install step mounts: for rig images the rig's own, read-only, so that
/// its source packages build offline (the rig root's make.conf names it as its GENTOO_MIRRORS).
pub(super) fn mirror_mounts(root: Root) -> Vec<Mount> {
    match root {
        Root::Rig => vec![Mount {
            source: Word::var_then(WORKSPACE, format!("/{RIG_MIRROR}")),
            target: RIG_MIRROR_MOUNT.into(),
            read_only: true,
        }],
        _ => Vec::new(),
    }
}

/// The variable that carries the site's mirrors into the emerge step.
pub(super) const GENTOO_MIRRORS: &str = "GENTOO_MIRRORS";

/// Variables of a step's environment that are no input of the image (left out of its input hash):
/// where distfiles are fetched from does not change what is built, since the repository's Manifests
/// pin every distfile's size and digests, and a file that differs is refused.
pub const NOT_INPUTS: &[&str] = &[GENTOO_MIRRORS];

/// The emerge step's environment for the site's mirrors: `GENTOO_MIRRORS` (portage takes it from the
/// environment over make.conf) when the settings name any. Only the step that fetches gets it: no
/// layer of the image holds it.
pub(super) fn mirrors_env(settings: &Settings) -> Option<(String, String)> {
    (!settings.gentoo_mirrors.is_empty()).then(|| (GENTOO_MIRRORS.to_owned(), settings.gentoo_mirrors.join(" ")))
}

/// The certificates folders of the binhosts that have one, mounted read-only (never copied: no
/// layer gets them, and their contents are no input of the image's hash), and for each such binhost
/// the wget options its binrepos.conf fetch command takes from the environment (see
/// [`portage_files::wget_command`]).
pub(super) fn binhost_tls(
    settings: &Settings,
    tls_files: &BTreeMap<String, BinhostTls>,
) -> (Vec<Mount>, Vec<(String, String)>) {
    let mut mounts: Vec<Mount> = Vec::new();
    let mut env = Vec::new();
    for binhost in &settings.binhosts {
        let Some((authority, tls)) =
            binhost.https_authority().and_then(|authority| Some((authority, tls_files.get(authority)?)))
        else {
            continue;
        };
        let target = format!("{BINHOST_CERTS_MOUNT}/{authority}");
        if !mounts.iter().any(|mount| mount.target == target) {
            mounts.push(Mount { source: Word::text(tls.dir.as_str()), target: target.clone(), read_only: true });
        }
        let mut options = Vec::new();
        if let Some(ca) = &tls.ca {
            options.push(format!("--ca-certificate={target}/{ca}"));
        }
        if let Some((cert, key)) = &tls.client {
            options.push(format!("--certificate={target}/{cert}"));
            options.push(format!("--private-key={target}/{key}"));
        }
        env.push((binhost.wget_tls_var(), options.join(" ")));
    }
    (mounts, env)
}

/// The root's part of a binary package folder's name (see [`binpkg_cache`] for the rest).
pub fn root_key(root: Root) -> String {
    match root {
        Root::Rig => "rig".to_owned(),
        Root::Registry(reference) | Root::Tarball { path: reference, .. } => {
            reference.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '_' }).collect()
        }
    }
}
