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

/// The fixed script of [`remove_leftovers_argv`]: `rm` of its arguments after the third, then, when
/// the package database (`$1`) exists, `find` deleting its `$2` files and setting the times `sed`
/// expression `$3` in its CONTENTS files. One container run instead of two.
const REMOVE_LEFTOVERS: &str = "vdb=$1 metadata=$2 times=$3; shift 3; rm -rf --one-file-system \"$@\" || exit; \
[ ! -d \"$vdb\" ] || { find \"$vdb\" -mindepth 3 -maxdepth 3 -type f -name \"$metadata\" -delete && \
find \"$vdb\" -mindepth 3 -maxdepth 3 -type f -name CONTENTS -exec sed -i -E \"$times\" {} +; }";

/// `rm` of [`RUN_LEFTOVERS`] and `find -delete` of the [`VDB_METADATA_CACHE`] files in the root
/// filesystem at `root`, with CONTENTS' times set to `source_date`: one fixed script, the paths and
/// values its arguments.
pub(super) fn remove_leftovers_argv(root: &str, source_date: i64) -> Vec<String> {
    let at = |path: &str| if root == "/" { path.to_owned() } else { format!("{root}{path}") };
    // Portage records each merged file's and symlink's mtime in CONTENTS (a symlink's is the merge
    // time); the commit sets every file's time to SOURCE_DATE_EPOCH, so CONTENTS says the same: the
    // image is reproducible, and a later unmerge finds the times it recorded.
    let contents_times = format!("/^(obj|sym) /s/ [0-9]+$/ {source_date}/");
    let mut argv: Vec<String> = ["sh", "-c", REMOVE_LEFTOVERS, "sh"].map(str::to_owned).to_vec();
    argv.extend([at("/var/db/pkg"), VDB_METADATA_CACHE.to_owned(), contents_times]);
    argv.extend(RUN_LEFTOVERS.iter().map(|path| at(path)));
    argv
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
