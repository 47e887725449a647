//! Where `binhost sync` publishes, and the rsync command lines it runs (built here, without running
//! them, so `--dry-run` prints exactly what would run).

use std::fmt;

use anyhow::{bail, Result};
use camino::{Utf8Path, Utf8PathBuf};

/// A binhost's root: one package folder per root key below it (`<target>/<root key>/`), mirroring the
/// local `<cache-dir>/binpkgs/<root key>/`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A local or mounted folder (also `file:///...`).
    Folder(Utf8PathBuf),
    /// rsync to a daemon (`rsync://host[:port]/module/path`) or over ssh (`[user@]host:path`).
    Rsync(String),
}

impl Target {
    /// `rsync://...`, `[user@]host:path` (a `:` before any `/`, as rsync decides), `file:///path` or
    /// an absolute folder.
    pub fn parse(text: &str) -> Result<Target> {
        if text.trim().is_empty() || text.contains(['\n', '\0']) {
            bail!("binhost target `{text}` is empty or has a line break");
        }
        if let Some(rest) = text.strip_prefix("rsync://") {
            if rest.split('/').filter(|part| !part.is_empty()).count() < 2 {
                bail!("binhost target `{text}`: expected rsync://host[:port]/module[/path]");
            }
            return Ok(Target::Rsync(text.to_owned()));
        }
        if let Some(path) = text.strip_prefix("file://") {
            return Target::folder(path, text);
        }
        match (text.find(':'), text.find('/')) {
            (Some(colon), slash) if colon > 0 && slash.is_none_or(|slash| colon < slash) => {
                Ok(Target::Rsync(text.to_owned()))
            }
            _ => Target::folder(text, text),
        }
    }

    fn folder(path: &str, text: &str) -> Result<Target> {
        let path = Utf8Path::new(path);
        if path.is_relative() {
            bail!("binhost target `{text}` must be an absolute folder, rsync://host/module/path or [user@]host:path");
        }
        Ok(Target::Folder(path.to_owned()))
    }

    /// The package folder of one root key.
    pub fn join(&self, key: &str) -> Target {
        match self {
            Target::Folder(path) => Target::Folder(path.join(key)),
            Target::Rsync(url) if url.ends_with(':') => Target::Rsync(format!("{url}{key}")),
            Target::Rsync(url) => Target::Rsync(format!("{}/{key}", url.trim_end_matches('/'))),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Folder(path) => write!(f, "{path}"),
            Target::Rsync(url) => f.write_str(url),
        }
    }
}

/// `url` as an rsync directory argument (with the trailing `/` that means "its content").
fn dir_arg(url: &str) -> String {
    if url.ends_with('/') || url.ends_with(':') {
        url.to_owned()
    } else {
        format!("{url}/")
    }
}

fn dir_src(dir: &Utf8Path) -> String {
    format!("{}/", dir.as_str().trim_end_matches('/'))
}

/// Creates the package folder and its `Packages.d/` on the binhost when they are not there (sends an
/// empty folder's content), so that uploading a fragment later never has to make a folder.
pub fn rsync_mkpath(empty: &Utf8Path, url: &str) -> Vec<String> {
    let fragments = format!("{}{}/", dir_arg(url), super::fragments::FOLDER);
    vec!["rsync".into(), "--mkpath".into(), "--dirs".into(), dir_src(empty), fragments]
}

/// Lists the package folder recursively, sizes as plain numbers.
pub fn rsync_list(url: &str) -> Vec<String> {
    vec!["rsync".into(), "--recursive".into(), "--list-only".into(), "--no-human-readable".into(), dir_arg(url)]
}

/// Copies one file from the package folder (`path` relative to it) into `dest`.
pub fn rsync_fetch(url: &str, path: &str, dest: &Utf8Path) -> Vec<String> {
    vec!["rsync".into(), "--times".into(), format!("{}{path}", dir_arg(url)), dest.to_string()]
}

/// Uploads the staged packages (symlinks laid out as on the binhost, `--copy-links` sends their
/// content). `--ignore-existing` never replaces a file the binhost has, whatever its content; the
/// receiver writes each file under a temporary name and renames it into place when complete, so a
/// package is never seen half-written under its name. `--out-format=%n` prints every file sent, which
/// tells a file skipped because it appeared meanwhile.
pub fn rsync_packages(staging: &Utf8Path, url: &str) -> Vec<String> {
    [
        "rsync",
        "--recursive",
        "--copy-links",
        "--times",
        "--omit-dir-times",
        "--ignore-existing",
        "--chmod=D755,F644",
        "--out-format=%n",
    ]
    .into_iter()
    .map(String::from)
    .chain([dir_src(staging), dir_arg(url)])
    .collect()
}

/// Uploads the new index files. The receiver writes each to a temporary file and swaps it in with
/// rename(2) (rsync does that for every file unless told `--inplace`), so a reader opens either the
/// old or the new index, whole; `--delay-updates` defers both renames to the end of the transfer, so
/// `Packages` and `Packages.gz` change together, and `--ignore-times` sends them even when size and
/// mtime look unchanged.
pub fn rsync_index(files: &[Utf8PathBuf], url: &str) -> Vec<String> {
    ["rsync", "--times", "--ignore-times", "--delay-updates", "--chmod=F644"]
        .into_iter()
        .map(String::from)
        .chain(files.iter().map(|file| file.to_string()))
        .chain([dir_arg(url)])
        .collect()
}

/// Uploads one index fragment into the package folder's `Packages.d/` (made when missing); the
/// receiver writes it under a temporary name and renames it, so no one reads half a fragment.
pub fn rsync_fragment(file: &Utf8Path, url: &str) -> Vec<String> {
    ["rsync", "--times", "--mkpath", "--chmod=F644"]
        .into_iter()
        .map(String::from)
        .chain([file.to_string(), format!("{}{}/", dir_arg(url), super::fragments::FOLDER)])
        .collect()
}

/// Copies every fragment of the package folder into `dest`.
pub fn rsync_fetch_fragments(url: &str, dest: &Utf8Path) -> Vec<String> {
    vec!["rsync".into(), "--recursive".into(), format!("{}{}/", dir_arg(url), super::fragments::FOLDER), dir_src(dest)]
}

/// Files of an `rsync --list-only --no-human-readable --recursive` listing: path → size.
/// Lines look like `-rw-r--r--          10240 2026/11/23 21:44:06 app-misc/hello/hello-1-1.gpkg.tar`.
pub fn parse_listing(text: &str) -> Result<Vec<(String, u64)>> {
    let mut files = Vec::new();
    for line in text.lines().filter(|line| !line.trim().is_empty()) {
        let mut rest = line;
        let mut fields = Vec::new();
        for _ in 0..4 {
            let trimmed = rest.trim_start();
            let end = trimmed.find(' ').unwrap_or(trimmed.len());
            fields.push(&trimmed[..end]);
            rest = &trimmed[end..];
        }
        let name = rest.strip_prefix(' ').unwrap_or(rest);
        let (Some(kind), Some(size)) = (fields[0].chars().next(), fields.get(1)) else {
            bail!("unexpected rsync listing line `{line}`");
        };
        if kind != '-' {
            continue; // folders, symlinks, devices
        }
        let Ok(size) = size.parse::<u64>() else { bail!("unexpected rsync listing line `{line}`") };
        if name.is_empty() {
            bail!("unexpected rsync listing line `{line}`");
        }
        files.push((name.to_owned(), size));
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        assert_eq!(Target::parse("/srv/binhost").unwrap(), Target::Folder("/srv/binhost".into()));
        assert_eq!(Target::parse("file:///srv/binhost").unwrap(), Target::Folder("/srv/binhost".into()));
        assert_eq!(Target::parse("rsync://h:873/mod/x").unwrap(), Target::Rsync("rsync://h:873/mod/x".into()));
        assert_eq!(Target::parse("me@host:srv/bin").unwrap(), Target::Rsync("me@host:srv/bin".into()));
        assert_eq!(Target::parse("host:").unwrap(), Target::Rsync("host:".into()));
        for bad in ["", "relative/dir", "./a:b", "rsync://hostonly", "rsync://host/", "/a\nb"] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn one_folder_per_root_key() {
        assert_eq!(Target::parse("/srv/b/").unwrap().join("rig").to_string(), "/srv/b/rig");
        assert_eq!(Target::parse("rsync://h/m/").unwrap().join("rig").to_string(), "rsync://h/m/rig");
        assert_eq!(Target::parse("h:").unwrap().join("rig").to_string(), "h:rig");
        assert_eq!(Target::parse("h:/srv").unwrap().join("rig").to_string(), "h:/srv/rig");
    }

    #[test]
    fn command_lines() {
        let url = "rsync://127.0.0.1:8873/bin/rig";
        assert_eq!(
            rsync_list(url).join(" "),
            "rsync --recursive --list-only --no-human-readable rsync://127.0.0.1:8873/bin/rig/"
        );
        assert_eq!(
            rsync_packages("/tmp/s".into(), url).join(" "),
            "rsync --recursive --copy-links --times --omit-dir-times --ignore-existing --chmod=D755,F644 \
             --out-format=%n /tmp/s/ rsync://127.0.0.1:8873/bin/rig/"
        );
        assert_eq!(
            rsync_index(&["/tmp/i/Packages".into(), "/tmp/i/Packages.gz".into()], url).join(" "),
            "rsync --times --ignore-times --delay-updates --chmod=F644 /tmp/i/Packages /tmp/i/Packages.gz \
             rsync://127.0.0.1:8873/bin/rig/"
        );
        assert_eq!(
            rsync_fetch(url, "a/b/c.gpkg.tar", "/tmp/f".into()).join(" "),
            "rsync --times rsync://127.0.0.1:8873/bin/rig/a/b/c.gpkg.tar /tmp/f"
        );
        assert_eq!(rsync_mkpath("/tmp/e".into(), "h:").join(" "), "rsync --mkpath --dirs /tmp/e/ h:Packages.d/");
        assert_eq!(
            rsync_mkpath("/tmp/e".into(), url).join(" "),
            "rsync --mkpath --dirs /tmp/e/ rsync://127.0.0.1:8873/bin/rig/Packages.d/"
        );
    }

    #[test]
    fn listings() {
        let text = "drwxr-xr-x           4096 2026/11/23 21:44:11 .\n\
                    -rw-r--r--           3220 2026/11/23 21:44:11 Packages\n\
                    lrwxrwxrwx              7 2026/11/23 21:44:11 link\n\
                    -rw-r--r--          10240 2026/11/23 21:44:06 app-misc/hello/hello-1-1.gpkg.tar\n\
                    -rw-r--r--              1 2026/11/23 21:44:06 a dir/with  spaces\n";
        assert_eq!(
            parse_listing(text).unwrap(),
            vec![
                ("Packages".to_owned(), 3220),
                ("app-misc/hello/hello-1-1.gpkg.tar".to_owned(), 10240),
                ("a dir/with  spaces".to_owned(), 1)
            ]
        );
        assert!(parse_listing("-rw-r--r-- 1,024 2026/11/23 21:44:06 x\n").is_err());
    }
}
