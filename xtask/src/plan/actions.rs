//! Post-install actions as steps. A full image's run in its working container with the image's own
//! tools; a minimal image's run in the builder, on the new root mounted at `/emerge-root`, with the
//! builder's tools (`groupadd --prefix`, `localedef --prefix`, ...), but for
//! [`Action::RunInImage`], which runs in the new root itself once the builder is gone.
//!
//! Every value is an argument: the scripts below are fixed, and take the root and the values as `$1`,
//! `$2`, ...; no value of an image is ever part of a script.

use image_defs::{Action, User};

use super::step::EMERGE_ROOT;
use super::{Mount, Step, Var};
use crate::settings::Settings;

/// Compiles a locale into the root's archive (`localedef` exits 1 after mere warnings) and checks
/// the archive lists it: `$1` root, `$2` locale, `$3` charset, `$4` `locale.charset`, `$5` the
/// archive's name for it.
pub const LOCALE: &str = "mkdir -p \"$1/usr/lib/locale\" && \
    { localedef --prefix=\"$1\" -i \"$2\" -f \"$3\" \"$4\" || [ $? -eq 1 ]; } && \
    { localedef --prefix=\"$1\" --list-archive | grep -qx \"$5\" || \
    { echo \"locale $4 is not in the locale archive of $1 after localedef\" >&2; exit 1; }; }";

/// `/etc/localtime` and `/etc/timezone` of the zone `$2` in the root `$1`.
pub const TIMEZONE: &str = "[ -e \"$1/usr/share/zoneinfo/$2\" ] || \
    { echo \"time zone $2: $1/usr/share/zoneinfo/$2 does not exist (install sys-libs/timezone-data)\" >&2; exit 1; }; \
    mkdir -p \"$1/etc\" && ln -sfn \"../usr/share/zoneinfo/$2\" \"$1/etc/localtime\" && \
    printf '%s\\n' \"$2\" > \"$1/etc/timezone\"";

/// A folder `$2` in the root `$1` with mode `$3`, owned by `$4:$5` (names of the root's accounts, or
/// ids).
pub const MKDIR: &str = "id_of() { case $1 in *[!0-9]*) awk -F: -v n=\"$1\" '$1 == n { print $3; found = 1 } \
    END { exit !found }' \"$2\" || { echo \"no $3 $1 in $2\" >&2; return 1; } ;; *) echo \"$1\" ;; esac; }; \
    u=$(id_of \"$4\" \"$1/etc/passwd\" user) && g=$(id_of \"$5\" \"$1/etc/group\" group) && \
    mkdir -p \"$1$2\" && chown \"$u:$g\" \"$1$2\" && chmod \"$3\" \"$1$2\"";

/// A symbolic link `$2` in the root `$1` to `$3`.
pub const SYMLINK: &str = "mkdir -p \"$1${2%/*}\" && ln -sfn \"$3\" \"$1$2\"";

/// A file `$2` in the root `$1` holding `$3` and a newline, with mode `$4`.
pub const WRITE_FILE: &str = "mkdir -p \"$1${2%/*}\" && printf '%s\\n' \"$3\" > \"$1$2\" && chmod \"$4\" \"$1$2\"";

/// The shared libraries (`.so*`) and `/etc/ld.so.conf.d` entries the builder's package `$2` owns,
/// copied into the root `$1` (links as links), which then gets an `ld.so.conf` reading that folder
/// (when it has none) and a fresh `ld.so.cache`.
pub const RUNTIME_LIBRARIES: &str = "cpv=$(portageq best_version / \"$2\") && [ -n \"$cpv\" ] || \
    { echo \"runtime libraries: $2 is not installed in the builder\" >&2; exit 1; }; \
    files=$(portageq contents / \"$cpv\" | grep -E '[.]so([.][0-9]+)*$|^/etc/ld[.]so[.]conf[.]d/') || \
    { echo \"runtime libraries: $cpv owns no shared library\" >&2; exit 1; }; \
    for f in $files; do mkdir -p \"$1${f%/*}\" && cp -a \"$f\" \"$1$f\" || exit 1; done; \
    [ -e \"$1/etc/ld.so.conf\" ] || printf 'include ld.so.conf.d/*.conf\\n' > \"$1/etc/ld.so.conf\"; \
    ldconfig -r \"$1\"";

/// Root's shell in a root without bash: `/bin/sh` (what the busybox of a minimal image gives).
pub const ROOT_SHELL: &str = "[ -e \"$1/bin/bash\" ] || [ ! -f \"$1/etc/passwd\" ] || \
    sed -i 's#^\\(root:[^:]*:[^:]*:[^:]*:[^:]*:[^:]*:\\)/bin/bash$#\\1/bin/sh#' \"$1/etc/passwd\"";

/// Where actions run.
pub(super) struct Place {
    /// The container the commands run in (the working container of a full image, a minimal image's
    /// builder).
    pub container: Var,
    /// The root the actions change, as the commands see it: `` for `/`, `/emerge-root`.
    pub root: &'static str,
    /// Mounts every command needs (the new root, in a builder).
    pub mounts: Vec<Mount>,
}

/// The steps of the actions that run at `place` (all but [`Action::RunInImage`] in a minimal
/// image, whose steps [`in_image`] gives).
pub(super) fn steps(actions: &[Action], place: &Place, settings: &Settings, minimal: bool) -> Vec<Step> {
    let run = |argv: Vec<String>, env: Vec<(String, String)>| Step::Run {
        container: place.container,
        isolation: settings.isolation,
        mounts: place.mounts.clone(),
        env,
        argv,
    };
    let script = |script: &str, args: &[&str]| -> Vec<String> {
        let mut argv: Vec<String> = vec!["sh".into(), "-c".into(), script.into(), "sh".into(), place.root.into()];
        argv.extend(args.iter().map(|arg| arg.to_string()));
        argv
    };
    let prefix = |mut argv: Vec<String>| {
        if minimal {
            argv.insert(1, format!("--prefix={}", place.root));
        }
        argv
    };
    let mut steps = Vec::new();
    for action in actions {
        match *action {
            Action::Group { name, gid } => {
                steps.push(run(prefix(strings(&["groupadd", "--gid", &gid.to_string(), name])), vec![]));
            }
            Action::User(user) => steps.push(run(prefix(useradd(&user)), vec![])),
            Action::Locale { locale, charset } => {
                let full = match locale.split_once('@') {
                    Some((language, modifier)) => format!("{language}.{charset}@{modifier}"),
                    None => format!("{locale}.{charset}"),
                };
                steps.push(run(script(LOCALE, &[locale, charset, &full, &archive_name(locale, charset)]), vec![]));
            }
            Action::Timezone(zone) => steps.push(run(script(TIMEZONE, &[zone]), vec![])),
            Action::Mkdir { path, mode, owner } => {
                let (user, group) = owner.split_once(':').expect("checked at compile time");
                steps.push(run(script(MKDIR, &[path, &format!("{mode:o}"), user, group]), vec![]));
            }
            Action::Symlink { path, target } => steps.push(run(script(SYMLINK, &[path, target]), vec![])),
            Action::WriteFile { path, contents, mode } => {
                steps.push(run(script(WRITE_FILE, &[path, contents, &format!("{mode:o}")]), vec![]))
            }
            Action::RuntimeLibraries(atom) => {
                steps.push(run(script(RUNTIME_LIBRARIES, &[atom.as_str()]), vec![]));
            }
            Action::RunInBuilder(argv) => steps.push(run(strings(argv), vec![("ROOT".into(), EMERGE_ROOT.into())])),
            Action::RunInImage(argv) if !minimal => steps.push(run(strings(argv), vec![])),
            Action::RunInImage(_) => {}
        }
    }
    if minimal {
        steps.push(run(script(ROOT_SHELL, &[]), vec![]));
    }
    steps
}

/// A minimal image's [`Action::RunInImage`] steps: in its working container, after the builder.
pub(super) fn in_image(actions: &[Action], container: Var, settings: &Settings) -> Vec<Step> {
    actions
        .iter()
        .filter_map(|action| match action {
            Action::RunInImage(argv) => Some(Step::Run {
                container,
                isolation: settings.isolation,
                mounts: vec![],
                env: vec![],
                argv: strings(argv),
            }),
            _ => None,
        })
        .collect()
}

/// `useradd` of a user with fixed ids and no home created (an [`Action::Mkdir`] makes one).
fn useradd(user: &User) -> Vec<String> {
    let mut argv = strings(&[
        "useradd",
        "--uid",
        &user.uid.to_string(),
        "--gid",
        &user.gid.to_string(),
        "--home-dir",
        user.home,
        "--shell",
        user.shell,
        "--no-create-home",
    ]);
    if !user.groups.is_empty() {
        argv.push("--groups".into());
        argv.push(user.groups.join(","));
    }
    argv.push(user.name.into());
    argv
}

/// The name glibc gives a locale in its archive: the charset lower-cased, without `-` or `_`
/// (`en_US` + `UTF-8` → `en_US.utf8`), the modifier after it.
pub fn archive_name(locale: &str, charset: &str) -> String {
    let (language, modifier) = match locale.split_once('@') {
        Some((language, modifier)) => (language, format!("@{modifier}")),
        None => (locale, String::new()),
    };
    let charset: String =
        charset.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_lowercase()).collect();
    format!("{language}.{charset}{modifier}")
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| item.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_names_are_glibcs() {
        assert_eq!(archive_name("en_US", "UTF-8"), "en_US.utf8");
        assert_eq!(archive_name("de_DE@euro", "ISO-8859-15"), "de_DE.iso885915@euro");
    }
}
