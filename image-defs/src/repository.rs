//! Ebuild repositories besides `gentoo` (overlays), declared once and named by the images that use
//! them.
//!
//! ```ignore
//! pub const KUBLER: Repository = Repository::folder("kubler", "overlays/kubler").checked();
//! ```
//!
//! An image lists the repositories it needs in [`Spec::repositories`](crate::Spec::repositories);
//! an atom `cat/pkg::name` whose repository the image does not list is a compile error. During a
//! build each repository of the image and of its ancestors is mounted read-only at
//! `/var/db/repos/<name>`, with a generated `repos.conf` entry, and its state enters the input hash
//! like the main repository's.

use crate::const_text::str_eq;

/// An ebuild repository other than `gentoo`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Repository {
    /// Its name: what `profiles/repo_name` holds and what `::name` atoms say.
    pub name: &'static str,
    /// Where it comes from.
    pub source: RepositoryFrom,
}

/// Where an extra repository comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RepositoryFrom {
    /// A folder on the build machine: absolute, or relative to the workspace root.
    Folder(&'static str),
    /// An image (by reference) holding the repository at `/var/db/repos/<name>`.
    Image(&'static str),
}

impl Repository {
    /// A repository in a folder (absolute, or relative to the workspace root).
    pub const fn folder(name: &'static str, path: &'static str) -> Repository {
        Repository { name, source: RepositoryFrom::Folder(path) }
    }

    /// A repository inside an image, at `/var/db/repos/<name>`.
    pub const fn image(name: &'static str, reference: &'static str) -> Repository {
        Repository { name, source: RepositoryFrom::Image(reference) }
    }

    /// Where builds mount it.
    pub const fn location(&self) -> RepositoryLocation {
        RepositoryLocation(self.name)
    }

    /// The declaration, checked: a const panic (a compile error in a `const`) names the repository,
    /// the value and what was expected.
    #[track_caller]
    pub const fn checked(self) -> Repository {
        if !is_repository_name(self.name) {
            refuse_repository(
                "name",
                self.name,
                "a repository name of [A-Za-z0-9_][A-Za-z0-9_-]*, as in `profiles/repo_name`",
            );
        }
        if str_eq(self.name, "gentoo") {
            refuse_repository(
                "name",
                self.name,
                "another name: `gentoo` is the main repository (the `repository` setting)",
            );
        }
        match self.source {
            RepositoryFrom::Folder(path) => {
                let bytes = path.as_bytes();
                if bytes.is_empty() || has_control(path) || has_dot_dot(path) {
                    refuse_repository(
                        "folder",
                        path,
                        "an absolute path, or one relative to the workspace root, without `..`",
                    );
                }
            }
            RepositoryFrom::Image(reference) => {
                if reference.is_empty() || has_control(reference) || crate::image::contains(reference, b' ') {
                    refuse_repository("image", reference, "an image reference such as `registry/overlay:tag`");
                }
            }
        }
        self
    }
}

impl std::fmt::Display for RepositoryFrom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RepositoryFrom::Folder(path) => write!(f, "folder {path}"),
            RepositoryFrom::Image(reference) => write!(f, "image {reference}"),
        }
    }
}

/// Where a repository is mounted in a build: `/var/db/repos/<name>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RepositoryLocation(&'static str);

impl std::fmt::Display for RepositoryLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "/var/db/repos/{}", self.0)
    }
}

/// `[A-Za-z0-9_][A-Za-z0-9_-]*` (portage's repository names).
pub(crate) const fn is_repository_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    if bytes.is_empty() || !(bytes[0].is_ascii_alphanumeric() || bytes[0] == b'_') {
        return false;
    }
    let mut i = 1;
    while i < bytes.len() {
        if !(bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b'-') {
            return false;
        }
        i += 1;
    }
    true
}

const fn has_control(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] < 0x20 || bytes[i] == 0x7f {
            return true;
        }
        i += 1;
    }
    false
}

/// Whether a path has a `..` component.
const fn has_dot_dot(path: &str) -> bool {
    let bytes = path.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i <= bytes.len() {
        if i == bytes.len() || bytes[i] == b'/' {
            if i - start == 2 && bytes[start] == b'.' && bytes[start + 1] == b'.' {
                return true;
            }
            start = i + 1;
        }
        i += 1;
    }
    false
}

/// Panics with `invalid repository {what} `{value}`: expected {expected}`.
#[track_caller]
const fn refuse_repository(what: &str, value: &str, expected: &str) -> ! {
    crate::const_text::invalid_value("repository", what, value, expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_sources() {
        assert!(is_repository_name("kubler"));
        assert!(is_repository_name("my_overlay-2"));
        assert!(!is_repository_name("-x"));
        assert!(!is_repository_name("a.b"));
        assert!(!is_repository_name(""));
        assert!(has_dot_dot("a/../b"));
        assert!(has_dot_dot(".."));
        assert!(!has_dot_dot("a/..b/c"));
        const OVERLAY: Repository = Repository::folder("overlay", "tests/rig/overlay").checked();
        assert_eq!(OVERLAY.location().to_string(), "/var/db/repos/overlay");
        assert_eq!(OVERLAY.source.to_string(), "folder tests/rig/overlay");
    }

    #[test]
    #[should_panic(expected = "invalid repository name `gentoo`")]
    fn gentoo_is_not_an_extra_repository() {
        Repository::folder("gentoo", "/srv/gentoo").checked();
    }

    #[test]
    #[should_panic(expected = "invalid repository folder `../x`")]
    fn folders_stay_inside() {
        Repository::folder("x", "../x").checked();
    }
}
