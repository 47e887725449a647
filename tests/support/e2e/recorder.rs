//! A recorder in front of the real buildah and skopeo: every call's argv, and a pause at a chosen step.

#[allow(unused_imports)]
use super::*;

/// A folder with a `buildah` and a `skopeo` that record every call's argv (NUL-separated, one record a
/// call, without the program's name) in a log, then run the real tool: put it first on `PATH` to see
/// exactly what a process ran.
pub struct BuildahRecorder {
    dir: TempDir,
}

impl BuildahRecorder {
    pub fn new() -> BuildahRecorder {
        let dir = tempfile::Builder::new().prefix("buildah-recorder-").tempdir().unwrap();
        for tool in ["buildah", "skopeo"] {
            let real = std::env::var_os("PATH")
                .and_then(|path| std::env::split_paths(&path).map(|dir| dir.join(tool)).find(|path| path.is_file()))
                .unwrap_or_else(|| panic!("{tool} on PATH"));
            // With BUILDAH_PAUSE_ON=<subcommand>, the first such call makes `$BUILDAH_PAUSE_DIR/paused`
            // (mkdir: atomic, so two calls at once cannot both be first) and waits for a writer on the
            // fifo `$BUILDAH_PAUSE_DIR/go` before it runs: a test stops a build or a push at a known step.
            let script = format!(
                "#!/bin/sh\n\
                 log=\"${{BUILDAH_ARGV_LOG:-/dev/null}}\"\n\
                 printf '%s\\0' \"$@\" >> \"$log\"\n\
                 printf 'END\\0' >> \"$log\"\n\
                 if [ -n \"${{BUILDAH_PAUSE_ON:-}}\" ] && [ \"$1\" = \"$BUILDAH_PAUSE_ON\" ] && mkdir \"$BUILDAH_PAUSE_DIR/paused\" 2>/dev/null; then\n\
                 \x20 printf '%s\\0' \"$@\" > \"$BUILDAH_PAUSE_DIR/paused/argv.tmp\"\n\
                 \x20 mv \"$BUILDAH_PAUSE_DIR/paused/argv.tmp\" \"$BUILDAH_PAUSE_DIR/paused/argv\"\n\
                 \x20 read -r _ < \"$BUILDAH_PAUSE_DIR/go\"\n\
                 fi\n\
                 exec '{}' \"$@\"\n",
                real.display()
            );
            let shim = dir.path().join(tool);
            std::fs::write(&shim, script).unwrap();
            std::fs::set_permissions(&shim, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        }
        BuildahRecorder { dir }
    }

    /// `PATH` with the recorder first.
    pub fn path(&self) -> String {
        format!("{}:{}", self.dir.path().display(), std::env::var("PATH").unwrap_or_default())
    }

    /// A new log file for one process's calls.
    pub fn log(&self, name: &str) -> Utf8PathBuf {
        Utf8PathBuf::from_path_buf(self.dir.path().join(format!("{name}.argv"))).unwrap()
    }

    /// A folder for one pause: `paused` appears when the paused call starts waiting; writing a line
    /// to the fifo `go` lets it run.
    pub fn pause_dir(&self, name: &str) -> Utf8PathBuf {
        let dir = Utf8PathBuf::from_path_buf(self.dir.path().join(format!("pause-{name}"))).unwrap();
        std::fs::create_dir_all(&dir).unwrap();
        let fifo = std::ffi::CString::new(dir.join("go").as_str()).unwrap();
        // SAFETY: mkfifo(3) with a valid C string.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0, "mkfifo: {}", std::io::Error::last_os_error());
        dir
    }

    /// Waits until a call is held in `pause_dir` and returns its argv (after the program's name).
    #[track_caller]
    pub fn wait_paused(pause_dir: &Utf8Path) -> Vec<String> {
        let argv = pause_dir.join("paused/argv");
        wait_for_file(&argv, Duration::from_secs(300));
        let bytes = std::fs::read(&argv).unwrap();
        bytes
            .split(|&b| b == 0)
            .filter(|field| !field.is_empty())
            .map(|f| String::from_utf8_lossy(f).into_owned())
            .collect()
    }

    /// The calls recorded in `log`, each its argv after `buildah`.
    pub fn calls(log: &Utf8Path) -> Vec<Vec<String>> {
        let bytes = std::fs::read(log).unwrap_or_default();
        let mut calls = vec![Vec::new()];
        for field in bytes.split(|&b| b == 0) {
            let field = String::from_utf8_lossy(field).into_owned();
            if field == "END" {
                calls.push(Vec::new());
            } else {
                calls.last_mut().unwrap().push(field);
            }
        }
        calls.pop();
        calls
    }
}

impl Default for BuildahRecorder {
    fn default() -> Self {
        BuildahRecorder::new()
    }
}
