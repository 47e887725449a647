//! Running commands: finished ones with their output (and a build's JSON summary), and running
//! ones whose output arrives line by line.

#[allow(unused_imports)]
use super::*;

/// A finished command: its argv, exit code and output.
#[derive(Debug, Clone)]
pub struct Finished {
    pub argv: Vec<String>,
    /// `None` when killed by a signal.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
    /// The build's machine-readable summary (`target/buildah-gentoo/logs/summary.json` of the
    /// workspace), when the command was a build that wrote one.
    pub summary_json: Option<Value>,
}

impl Finished {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// Everything the command said, for messages.
    pub fn describe(&self) -> String {
        format!(
            "$ {}\nexit code {:?} after {:.1}s\n--- stdout ---\n{}\n--- stderr ---\n{}\n--------------",
            self.argv.join(" "),
            self.code,
            self.elapsed.as_secs_f64(),
            self.stdout.trim_end(),
            self.stderr.trim_end()
        )
    }

    /// Panics (with the whole output) unless the command exited 0.
    #[track_caller]
    pub fn expect_success(&self) -> &Finished {
        assert!(self.success(), "command failed:\n{}", self.describe());
        self
    }

    /// Panics (with the whole output) if the command exited 0.
    #[track_caller]
    pub fn expect_failure(&self) -> &Finished {
        assert!(!self.success(), "command unexpectedly succeeded:\n{}", self.describe());
        self
    }

    /// stdout then stderr.
    pub fn output(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// The executor's progress lines (`==> [i/n] NAME: text`), in order.
    pub fn progress(&self) -> Vec<Progress> {
        self.stdout.lines().filter_map(Progress::parse).collect()
    }

    /// The progress texts of one image.
    pub fn progress_of(&self, image: &str) -> Vec<String> {
        self.progress().into_iter().filter(|p| p.image == image).map(|p| p.text).collect()
    }

    /// The images of the JSON summary, in build order.
    fn summary_images(&self) -> Vec<Value> {
        self.summary_json.as_ref().and_then(|json| json["images"].as_array().cloned()).unwrap_or_default()
    }

    /// The JSON summary's entry of `image`.
    pub fn summary_entry(&self, image: &str) -> Option<Value> {
        self.summary_images().into_iter().find(|entry| entry["name"] == image)
    }

    /// The result of `image` in the JSON summary, with the table's words: `built`, `up to date`,
    /// `FAILED` or `skipped`.
    pub fn result_of(&self, image: &str) -> Option<&'static str> {
        self.summary_entry(image).and_then(|entry| result_word(&entry))
    }

    /// The summary's rows (image, result word), in order.
    pub fn summary(&self) -> Vec<(String, String)> {
        self.summary_images()
            .iter()
            .filter_map(|entry| Some((entry["name"].as_str()?.to_owned(), result_word(entry)?.to_owned())))
            .collect()
    }

    /// The counts of the summary: `2 built, 1 up to date, 0 failed, 0 skipped`.
    pub fn totals(&self) -> Option<String> {
        self.summary_json.as_ref()?;
        let rows = self.summary();
        let count = |word: &str| rows.iter().filter(|(_, result)| result == word).count();
        Some(format!(
            "{} built, {} up to date, {} failed, {} skipped",
            count("built"),
            count("up to date"),
            count("FAILED"),
            count("skipped")
        ))
    }

    /// The log path printed in the image's `building (log PATH)` line.
    pub fn printed_log_path(&self, image: &str) -> Option<Utf8PathBuf> {
        self.progress_of(image).iter().find_map(|text| {
            text.strip_prefix("building (log ").and_then(|rest| rest.strip_suffix(')')).map(Utf8PathBuf::from)
        })
    }
}

/// The summary's `result` as the table's word.
fn result_word(entry: &Value) -> Option<&'static str> {
    match entry["result"].as_str()? {
        "built" => Some("built"),
        "up_to_date" => Some("up to date"),
        "failed" => Some("FAILED"),
        "skipped" => Some("skipped"),
        _ => None,
    }
}

/// One progress line of the executor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    pub number: usize,
    pub total: usize,
    pub image: String,
    pub text: String,
}

impl Progress {
    /// Parses `==> [i/n] NAME: text`.
    pub fn parse(line: &str) -> Option<Progress> {
        let rest = line.strip_prefix("==> [")?;
        let (counts, rest) = rest.split_once("] ")?;
        let (number, total) = counts.split_once('/')?;
        let (image, text) = rest.split_once(": ")?;
        Some(Progress {
            number: number.parse().ok()?,
            total: total.parse().ok()?,
            image: image.to_owned(),
            text: text.to_owned(),
        })
    }
}

/// Runs a command to completion, capturing its output. Panics only if it cannot start.
pub fn run(mut command: Command) -> Finished {
    let argv = argv_of(&command);
    let clock = Instant::now();
    let output = command
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|error| panic!("cannot start `{}`: {error}", argv.join(" ")));
    Finished {
        argv,
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        elapsed: clock.elapsed(),
        summary_json: None,
    }
}

fn argv_of(command: &Command) -> Vec<String> {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|arg| arg.to_string_lossy().into_owned())
        .collect()
}

/// `buildah ARGS`, with the suite's isolation.
pub fn buildah(args: &[&str]) -> Finished {
    let mut command = Command::new("buildah");
    command.args(args).env("BUILDAH_ISOLATION", ISOLATION);
    run(command)
}

/// `buildah ARGS`; panics unless it succeeds; returns the trimmed stdout.
#[track_caller]
pub fn buildah_ok(args: &[&str]) -> String {
    let finished = buildah(args);
    finished.expect_success();
    finished.stdout.trim().to_owned()
}

/// A running `cargo xtask` whose stdout lines arrive with the time they were read.
pub struct Streaming {
    child: Option<Child>,
    argv: Vec<String>,
    started: Instant,
    lines: Receiver<(Instant, String)>,
    /// Every stdout line read so far, with when it was read.
    pub seen: Vec<(Instant, String)>,
    stderr: Option<JoinHandle<String>>,
    /// Where the command writes its JSON summary (removed before it starts).
    summary: Option<Utf8PathBuf>,
}

impl Streaming {
    pub(super) fn start(mut command: Command, summary: Option<Utf8PathBuf>) -> Streaming {
        if let Some(path) = &summary {
            let _ = std::fs::remove_file(path);
        }
        let argv = argv_of(&command);
        let mut child = command.spawn().unwrap_or_else(|error| panic!("cannot start `{}`: {error}", argv.join(" ")));
        let stdout = child.stdout.take().unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send((Instant::now(), line)).is_err() {
                    break;
                }
            }
        });
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        Streaming {
            child: Some(child),
            argv,
            started: Instant::now(),
            lines,
            seen: Vec::new(),
            stderr: Some(stderr),
            summary,
        }
    }

    /// The process (and process group) id.
    pub fn pid(&self) -> i32 {
        self.child.as_ref().unwrap().id() as i32
    }

    /// Reads lines until one satisfies `matches` (returned), the output ends or `timeout` passes.
    pub fn wait_for_line(&mut self, timeout: Duration, matches: impl Fn(&str) -> bool) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok((at, line)) => {
                    eprintln!("  | {line}");
                    self.seen.push((at, line.clone()));
                    if matches(&line) {
                        return Some(line);
                    }
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return None,
            }
        }
    }

    /// Sends `signal` to the whole process group.
    pub fn signal_group(&self, signal: libc::c_int) {
        // SAFETY: kill(2) on our own child's process group.
        let result = unsafe { libc::kill(-self.pid(), signal) };
        assert_eq!(result, 0, "kill(-{}, {signal}) failed: {}", self.pid(), std::io::Error::last_os_error());
    }

    /// Waits for the exit (killing the group after `timeout`), reading the rest of the output.
    /// Returns the result and every stdout line with when it was read.
    pub fn finish(mut self, timeout: Duration) -> (Finished, Vec<(Instant, String)>) {
        let deadline = Instant::now() + timeout;
        let mut child = self.child.take().unwrap();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                // SAFETY: kill(2) on our own child's process group.
                unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
                let _ = child.wait();
                panic!("`{}` did not exit within {timeout:?}; output so far:\n{:#?}", self.argv.join(" "), self.seen);
            }
            while let Ok((at, line)) = self.lines.try_recv() {
                eprintln!("  | {line}");
                self.seen.push((at, line));
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        while let Ok((at, line)) = self.lines.recv_timeout(Duration::from_secs(5)) {
            eprintln!("  | {line}");
            self.seen.push((at, line));
        }
        let stderr = self.stderr.take().unwrap().join().unwrap_or_default();
        let summary_json = self.summary.as_ref().and_then(|path| std::fs::read_to_string(path).ok()).map(|text| {
            serde_json::from_str(&text).unwrap_or_else(|error| panic!("the summary is not JSON: {error}\n{text}"))
        });
        let finished = Finished {
            argv: self.argv.clone(),
            code: status.code(),
            stdout: self.seen.iter().map(|(_, line)| format!("{line}\n")).collect(),
            stderr,
            elapsed: self.started.elapsed(),
            summary_json,
        };
        (finished, std::mem::take(&mut self.seen))
    }

    /// Whether the process still runs.
    pub fn running(&mut self) -> bool {
        self.child.as_mut().is_some_and(|child| child.try_wait().ok().flatten().is_none())
    }

    /// When the first line satisfying `matches` was read.
    pub fn when(&self, matches: impl Fn(&str) -> bool) -> Option<Instant> {
        self.seen.iter().find(|(_, line)| matches(line)).map(|(at, _)| *at)
    }
}

impl Drop for Streaming {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            if child.try_wait().ok().flatten().is_none() {
                // SAFETY: kill(2) on our own child's process group.
                unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
                let _ = child.wait();
            }
        }
    }
}

/// When the first line satisfying `matches` was read.
pub fn line_time(seen: &[(Instant, String)], matches: impl Fn(&str) -> bool) -> Option<Instant> {
    seen.iter().find(|(_, line)| matches(line)).map(|(at, _)| *at)
}

/// Scans every blob of an OCI layout (manifest, config, compressed layers) for any line of
/// `needles_file`, after checking that zgrep does see into the layers (a path every rig image has).
/// Returns zgrep's result: exit status 1 means no needle was found.
#[track_caller]
pub fn scan_oci_layout(layout: &Utf8Path, needles_file: &Utf8Path, what: &str) -> Finished {
    let blobs: Vec<String> = std::fs::read_dir(layout.join("blobs/sha256"))
        .unwrap()
        .map(|entry| entry.unwrap().path().to_string_lossy().into_owned())
        .collect();
    assert!(blobs.len() >= 3, "a manifest, a config and layers: {blobs:?}");
    let mut control = Command::new("zgrep");
    control.args(["-l", "-a", "-F", "usr/share/libgreet/greeting"]).args(&blobs);
    assert_eq!(run(control).code, Some(0), "zgrep does not see into the layers of {what}");
    let mut zgrep = Command::new("zgrep");
    zgrep.args(["-l", "-a", "-F", "-f", needles_file.as_str()]).args(&blobs);
    run(zgrep)
}

/// Files under `paths` containing any line of `needles` (grep -r, fixed strings, binary as text,
/// devices skipped). Panics when grep fails.
#[track_caller]
pub fn grep_files(needles: &Utf8Path, paths: &[&str]) -> Vec<String> {
    let mut command = Command::new("grep");
    command.args(["-r", "-l", "-a", "-F", "-D", "skip", "-f", needles.as_str()]).args(paths);
    let finished = run(command);
    match finished.code {
        Some(0) => finished.stdout.lines().map(str::to_owned).collect(),
        Some(1) => Vec::new(),
        _ => panic!("grep failed:\n{}", finished.describe()),
    }
}

/// Waits until `path` exists (an event a process signals by creating the file).
#[track_caller]
pub fn wait_for_file(path: &Utf8Path, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while !path.exists() {
        assert!(Instant::now() < deadline, "{path} did not appear within {timeout:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}
