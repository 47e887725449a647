//! Workspace copies: the files git knows, in a temporary folder, where the CLI runs.

#[allow(unused_imports)]
use super::*;

/// A copy of the workspace in a temporary folder: the files git knows (tracked and untracked, not
/// ignored), symlinks copied as symlinks.
pub struct Workspace {
    root: Utf8PathBuf,
    /// Whether a test edited a file of the copy: edited copies build in their own target folder.
    edited: std::cell::Cell<bool>,
    _dir: TempDir,
}

impl Workspace {
    #[track_caller]
    pub fn copy() -> Workspace {
        let source = workspace_root();
        let dir = tempfile::Builder::new().prefix("buildah-gentoo-e2e-ws-").tempdir().unwrap();
        let root = Utf8PathBuf::from_path_buf(dir.path().to_owned()).expect("a UTF-8 temporary folder");
        let listing = Command::new("git")
            .args(["ls-files", "-z", "--cached", "--others", "--exclude-standard"])
            .current_dir(&source)
            .output()
            .expect("running git ls-files");
        assert!(listing.status.success(), "git ls-files failed: {}", String::from_utf8_lossy(&listing.stderr));
        let mut copied = 0;
        for relative in listing.stdout.split(|byte| *byte == 0).filter(|path| !path.is_empty()) {
            let relative = std::str::from_utf8(relative).expect("UTF-8 paths");
            if relative == xtask::settings::SETTINGS_FILE {
                continue; // a developer's own settings file: the suite runs on the defaults and its flags
            }
            let from = source.join(relative);
            let to = root.join(relative);
            let Ok(metadata) = std::fs::symlink_metadata(&from) else {
                continue; // deleted in the work tree but still in the index
            };
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            if metadata.file_type().is_symlink() {
                std::os::unix::fs::symlink(std::fs::read_link(&from).unwrap(), &to).unwrap();
            } else if metadata.is_file() {
                std::fs::copy(&from, &to).unwrap_or_else(|error| panic!("copying {from}: {error}"));
            } else {
                continue;
            }
            copied += 1;
        }
        assert!(copied > 10, "git ls-files listed only {copied} files in {source}");
        assert!(root.join("Cargo.toml").is_file() && root.join("tests/rig/repo").is_dir());
        Workspace { root, edited: std::cell::Cell::new(false), _dir: dir }
    }

    pub fn root(&self) -> &Utf8Path {
        &self.root
    }

    /// Replaces the one occurrence of `from` with `to` in a file of the copy; panics unless `from`
    /// occurs exactly once.
    #[track_caller]
    pub fn edit(&self, relative: &str, from: &str, to: &str) {
        let path = self.root.join(relative);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("reading {path}: {error}"));
        let count = text.matches(from).count();
        assert!(count == 1, "{relative}: expected exactly one occurrence of {from:?}, found {count} in:\n{text}");
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
        self.edited.set(true);
    }

    /// Where the executor logs an image: `target/buildah-gentoo/logs/<name with / as +>.log`.
    pub fn log_path(&self, image: &str) -> Utf8PathBuf {
        self.root.join("target/buildah-gentoo/logs").join(format!("{}.log", image.replace('/', "+")))
    }

    /// The image's log.
    #[track_caller]
    pub fn log(&self, image: &str) -> String {
        let path = self.log_path(image);
        std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("reading the log {path}: {error}"))
    }

    /// The image's log, parsed for emerge's merge lines.
    #[track_caller]
    pub fn emerged(&self, image: &str) -> Emerged {
        Emerged::parse(&self.log(image))
    }

    /// Where a build writes its JSON summary.
    pub fn summary_path(&self) -> Utf8PathBuf {
        self.root.join("target/buildah-gentoo/logs/summary.json")
    }

    /// `cargo xtask ARGS` in this workspace (no namespace or cache flags of its own).
    pub fn xtask_command(&self, args: &[&str]) -> Command {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let mut command = Command::new(cargo);
        command
            .arg("xtask")
            .args(args)
            .current_dir(&self.root)
            .env("BUILDAH_ISOLATION", ISOLATION)
            .env("CARGO_TARGET_DIR", if self.edited.get() { edited_cargo_target_dir() } else { cargo_target_dir() })
            .env("CARGO_TERM_COLOR", "never");
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("BUILDAH_GENTOO_") {
                command.env_remove(key);
            }
        }
        command
    }
}

impl Drop for Workspace {
    /// When a test fails, its logs are kept in `target/e2e/failed/` (the copy itself is removed).
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        let logs = self.root.join("target/buildah-gentoo/logs");
        let keep = e2e_dir().join("failed").join(self.root.file_name().unwrap_or("workspace"));
        let Ok(entries) = std::fs::read_dir(&logs) else { return };
        if std::fs::create_dir_all(&keep).is_err() {
            return;
        }
        for entry in entries.flatten() {
            let _ = std::fs::copy(entry.path(), keep.as_std_path().join(entry.file_name()));
        }
        eprintln!("e2e: the failed test's logs are in {keep}");
    }
}
