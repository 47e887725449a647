//! `cargo xtask catalyst` through the real binary (the one cargo builds for this package's tests, so
//! no nested cargo build): `--spec-only` writes the files without catalyst, from a lock file; without
//! a recorded snapshot it names the command that records one; without catalyst on PATH a build or a
//! snapshot stops before running anything and says how to install it.

use std::process::{Command, Output};

use camino::{Utf8Path, Utf8PathBuf};
use image_defs::releases;
use xtask::catalyst::{Inputs, Snapshot};
use xtask::settings::Settings;

/// The test's own work folder inside the workspace's `target/`, removed when the test ends.
struct WorkDir {
    workspace: Utf8PathBuf,
    relative: Utf8PathBuf,
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(self.workspace.join(&self.relative));
    }
}

/// PATH without any folder holding a `catalyst`, so the test means the same on a Gentoo host.
fn path_without_catalyst() -> std::ffi::OsString {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs: Vec<_> = std::env::split_paths(&path).filter(|dir| !dir.join("catalyst").exists()).collect();
    std::env::join_paths(dirs).unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn spec_only_works_without_catalyst_and_a_build_says_how_to_install_it() {
    let workspace = Utf8PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned();
    let work = WorkDir {
        workspace: workspace.clone(),
        relative: format!("target/catalyst-cli-{}", std::process::id()).into(),
    };
    let temp = tempfile::tempdir().unwrap();
    let temp = Utf8Path::from_path(temp.path()).unwrap();
    let settings_file = temp.join("settings.toml");
    std::fs::write(&settings_file, format!("work-dir = \"{}\"\n", work.relative)).unwrap();
    let store = temp.join("store");
    let xtask = |args: &[&str]| -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
        command.arg("--settings").arg(&settings_file).args(args).current_dir(&workspace);
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("BUILDAH_GENTOO_") {
                command.env_remove(key);
            }
        }
        command.env("PATH", path_without_catalyst()).env("BUILDAH_GENTOO_CATALYST_STOREDIR", &store);
        command.output().expect("running xtask")
    };

    let missing_lock = temp.join("releases.lock");
    let output = xtask(&["catalyst", "--spec-only", "--lock", missing_lock.as_str()]);
    assert!(!output.status.success(), "{}", text(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no snapshot is recorded") && stderr.contains("Run `cargo xtask catalyst --snapshot stable`"),
        "{}",
        text(&output)
    );

    let lock = temp.join("test.lock");
    let snapshot = Snapshot::new("da31ee840e7887feb345ce81fb714853c2fc940c", 1_767_225_600).unwrap();
    snapshot.write(&lock).unwrap();
    let output = xtask(&["catalyst", "--spec-only", "--lock", lock.as_str()]);
    assert!(output.status.success(), "{}", text(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut settings = Settings::defaults("/var/cache".into());
    settings.work_dir = work.relative.clone();
    settings.catalyst_storedir = store.clone();
    let mut files = 0;
    // The cores only change catalyst.conf's jobs and load-average, which are compared apart.
    let inputs = Inputs { workspace: &workspace, snapshot: &snapshot, stamp: None, cores: 1 };
    for release in releases::all() {
        let plan = xtask::catalyst::plan(release, &settings, &inputs, false).unwrap();
        for file in &plan.files {
            let written = std::fs::read_to_string(workspace.join(&file.path))
                .unwrap_or_else(|error| panic!("{}: {error}\n{}", file.path, text(&output)));
            if file.path.as_str().ends_with("catalyst.conf") {
                let conf: toml::Table = toml::from_str(&written).unwrap();
                let cores = std::thread::available_parallelism().unwrap().get() as i64;
                assert_eq!(conf["jobs"].as_integer(), Some(cores), "jobs = this host's cores");
                let ours: Vec<&str> =
                    file.text.lines().filter(|line| !line.starts_with("jobs") && !line.starts_with("load")).collect();
                let theirs: Vec<&str> =
                    written.lines().filter(|line| !line.starts_with("jobs") && !line.starts_with("load")).collect();
                assert_eq!(theirs, ours, "{}", file.path);
            } else {
                assert_eq!(written, file.text, "{}", file.path);
            }
            if file.path.as_str().ends_with("stage1.spec") {
                let confdir = format!("portage_confdir: {workspace}/releases/portage/stages\n");
                assert!(written.contains(&confdir), "absolute, as catalyst needs: {written}");
            }
            assert!(stdout.contains(&format!("wrote {}\n", file.path)), "{}", text(&output));
            files += 1;
        }
    }
    assert_eq!(files, 9, "three confs, six specs");

    let output = xtask(&["catalyst", "amd64-openrc", "--lock", lock.as_str()]);
    assert!(!output.status.success(), "{}", text(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("catalyst is not installed") && stderr.contains("emerge dev-util/catalyst"),
        "{}",
        text(&output)
    );
    assert!(!workspace.join(&work.relative).join("logs").exists(), "nothing may run without catalyst");

    let new_lock = temp.join("new.lock");
    let output = xtask(&["catalyst", "--snapshot", "stable", "--lock", new_lock.as_str()]);
    assert!(!output.status.success(), "{}", text(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("catalyst is not installed"), "{}", text(&output));
    assert!(!new_lock.exists() && !workspace.join(&work.relative).join("logs").exists());
    let output = xtask(&["catalyst", "--snapshot", "latest"]);
    assert!(!output.status.success(), "only `stable` is taken: {}", text(&output));

    let output = xtask(&["catalyst", "amd64-opnrc", "--spec-only", "--lock", lock.as_str()]);
    assert!(!output.status.success(), "{}", text(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no release `amd64-opnrc`; known releases: amd64-openrc, amd64-hardened, amd64-systemd"),
        "{}",
        text(&output)
    );
}
