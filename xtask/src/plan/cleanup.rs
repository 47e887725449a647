//! What a build removes from a root before the commit: the image's declared cleanups and the
//! leftovers of the run itself (see README, "Reproducible images").

use image_defs::Cleanup;

/// What a build leaves in a root that differs from build to build and is no part of the image:
/// portage's logs and its merge-time state (`mtimedb` holds the library folders' mtimes), the dynamic
/// linker's cache of file times (rebuilt by ldconfig on the next run), and leftovers in the temporary
/// folders. Removed before every commit, with [`VDB_METADATA_CACHE`] (see README, "Reproducible images").
pub const RUN_LEFTOVERS: &[&str] = &[
    "/var/log/emerge.log",
    "/var/log/emerge-fetch.log",
    "/var/log/portage",
    "/var/cache/edb/mtimedb",
    "/var/cache/ldconfig/aux-cache",
    "/var/tmp/portage",
];
/// Portage's per-package cache of the package database entry (`/var/db/pkg/CAT/PF/metadata`). It records
/// the entry folder's mtime in nanoseconds at merge time and is used only while the folder still has
/// that mtime — never in a committed image, whose file times are all SOURCE_DATE_EPOCH — so it is
/// removed (portage reads the entry's own files instead).
pub const VDB_METADATA_CACHE: &str = "metadata";
/// The command that removes one kind of file the image does not want, from the root filesystem at
/// `root` (`/`, or a minimal image's new root in its builder).
pub(super) fn cleanup_argv(cleanup: Cleanup, root: &str) -> Vec<String> {
    let at = |path: &str| if root == "/" { path.to_owned() } else { format!("{root}{path}") };
    let remove = |paths: &[&str]| {
        let mut argv: Vec<String> = ["rm", "-rf", "--one-file-system"].map(str::to_owned).to_vec();
        argv.extend(paths.iter().map(|path| at(path)));
        argv
    };
    match cleanup {
        Cleanup::Docs => remove(&["/usr/share/doc", "/usr/share/info", "/usr/share/gtk-doc"]),
        Cleanup::ManPages => remove(&["/usr/share/man"]),
        Cleanup::Headers => remove(&["/usr/include"]),
        Cleanup::StaticLibraries => {
            // A minimal root is small and may have no /usr at all: search all of it.
            let top = if root == "/" { "/usr".to_owned() } else { root.to_owned() };
            [top.as_str(), "-xdev", "-type", "f", "(", "-name", "*.a", "-o", "-name", "*.la", ")", "-delete"]
                .iter()
                .fold(vec!["find".to_owned()], |mut argv, arg| {
                    argv.push(arg.to_string());
                    argv
                })
        }
        Cleanup::PackageDatabase => remove(&["/var/db/pkg", "/var/lib/portage", "/var/cache/edb"]),
    }
}

/// `rm` of [`RUN_LEFTOVERS`] and `find -delete` of the [`VDB_METADATA_CACHE`] files in the root
/// filesystem at `root`.
pub(super) fn remove_leftovers_argvs(root: &str, source_date: i64) -> Vec<Vec<String>> {
    let at = |path: &str| if root == "/" { path.to_owned() } else { format!("{root}{path}") };
    let mut remove: Vec<String> = ["rm", "-rf", "--one-file-system"].map(str::to_owned).to_vec();
    remove.extend(RUN_LEFTOVERS.iter().map(|path| at(path)));
    let vdb = at("/var/db/pkg");
    // A fixed script running its arguments: a root without a package database has nothing to find.
    let mut find: Vec<String> =
        ["sh", "-c", "[ ! -d \"$2\" ] || exec \"$@\"", "sh", "find"].map(str::to_owned).to_vec();
    find.push(vdb);
    // Portage records each merged file's and symlink's mtime in CONTENTS (a symlink's is the merge
    // time); the commit sets every file's time to SOURCE_DATE_EPOCH, so CONTENTS says the same: the
    // image is reproducible, and a later unmerge finds the times it recorded.
    let contents_times = format!("/^(obj|sym) /s/ [0-9]+$/ {source_date}/");
    find.extend(
        [
            "-mindepth",
            "3",
            "-maxdepth",
            "3",
            "-type",
            "f",
            "(",
            "-name",
            VDB_METADATA_CACHE,
            "-delete",
            ")",
            "-o",
            "(",
            "-name",
            "CONTENTS",
            "-exec",
            "sed",
            "-i",
            "-E",
            &contents_times,
            "{}",
            "+",
            ")",
        ]
        .map(str::to_owned),
    );
    vec![remove, find]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleanups_of_a_full_image_stay_where_they_were() {
        assert_eq!(cleanup_argv(Cleanup::ManPages, "/"), ["rm", "-rf", "--one-file-system", "/usr/share/man"]);
        assert_eq!(cleanup_argv(Cleanup::StaticLibraries, "/")[1], "/usr");
        assert_eq!(
            cleanup_argv(Cleanup::PackageDatabase, "/emerge-root")[3..],
            ["/emerge-root/var/db/pkg", "/emerge-root/var/lib/portage", "/emerge-root/var/cache/edb"]
        );
    }
}
