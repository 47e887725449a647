//! How a build run ended: one result per image, as the table printed at the end and as JSON
//! (`build --json`, and `summary.json` next to the logs), which tests and tools read.

use std::time::Duration;

use camino::Utf8PathBuf;
use serde::Serialize;

use super::human_size;
use super::progress::Origin;
use super::runner::PackageLog;

/// How one image's build ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Outcome {
    Built {
        id: String,
        input_hash: String,
        /// Every reference the image was tagged with.
        tags: Vec<String>,
        /// Bytes of the root filesystem at the end of the build.
        size: Option<u64>,
        /// Bytes before depclean and the cleanups, when the image has them.
        size_before: Option<u64>,
    },
    UpToDate {
        id: String,
        input_hash: String,
    },
    Failed {
        /// What failed, as printed.
        error: String,
        /// Portage's own logs of the packages that failed, copied out of the container before it
        /// was removed.
        package_logs: Vec<PackageLog>,
        /// Binary packages that failed their checksum in this build (portage renamed them
        /// `*._checksum_failure_*` in the binary package folder).
        checksum_failures: Vec<Utf8PathBuf>,
        /// Distfiles portage refused in this build because they did not match their Manifest
        /// (renamed `*._checksum_failure_*` in the distfiles folder).
        distfile_failures: Vec<Utf8PathBuf>,
    },
    /// Not built because a parent failed, or the run stopped at a failure or an interrupt.
    Skipped {
        why: String,
    },
}

impl Outcome {
    fn word(&self) -> &'static str {
        match self {
            Outcome::Built { .. } => "built",
            Outcome::UpToDate { .. } => "up to date",
            Outcome::Failed { .. } => "FAILED",
            Outcome::Skipped { .. } => "skipped",
        }
    }

    /// Built or up to date: children may build on it.
    pub fn succeeded(&self) -> bool {
        matches!(self, Outcome::Built { .. } | Outcome::UpToDate { .. })
    }
}

/// One image's line of the summary.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ImageResult {
    pub name: String,
    #[serde(flatten)]
    pub outcome: Outcome,
    /// Wall-clock seconds the image took.
    pub seconds: f64,
    /// The image's log, relative to where the build ran or absolute.
    pub log: Utf8PathBuf,
    /// The packages its emerge merged (none when it did not build).
    pub packages: Packages,
}

/// The packages an image's emerge merged, read from emerge's output as it ran.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Packages {
    /// Merged from binary packages (`>>> Emerging binary`).
    pub binary: usize,
    /// Built from source.
    pub compiled: usize,
    /// The package that took longest from its `>>> Emerging` line to its `>>> Completed` line.
    pub slowest: Option<SlowestPackage>,
}

/// The package of an image that took longest to emerge.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SlowestPackage {
    /// `CATEGORY/PF`.
    pub package: String,
    pub origin: Origin,
    /// Wall-clock seconds, to a tenth.
    pub seconds: f64,
}

impl Packages {
    /// `1 binary, 2 compiled, slowest dev-util/buildtool-1 (12.3s)`; empty when nothing merged.
    fn describe(&self) -> String {
        match &self.slowest {
            None => String::new(),
            Some(slowest) => format!(
                "{} binary, {} compiled, slowest {} ({:.1}s)",
                self.binary, self.compiled, slowest.package, slowest.seconds
            ),
        }
    }
}

/// The result of a build run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    pub images: Vec<ImageResult>,
    pub interrupted: bool,
    /// Wall-clock seconds of the whole run.
    pub seconds: f64,
}

impl Summary {
    pub fn succeeded(&self) -> bool {
        !self.interrupted && self.images.iter().all(|image| image.outcome.succeeded())
    }

    /// The result of `name`.
    pub fn outcome(&self, name: &str) -> Option<&Outcome> {
        self.images.iter().find(|image| image.name == name).map(|image| &image.outcome)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a summary serializes")
    }

    /// The table printed at the end.
    pub fn table(&self) -> String {
        let width = self.images.iter().map(|image| image.name.len()).max().unwrap_or(5).max(5);
        let mut out = format!("\n{:width$}  {:10}  {:>8}  details\n", "image", "result", "time");
        for image in &self.images {
            let details = match &image.outcome {
                Outcome::Built { id, size, size_before, .. } => {
                    let mut details = format!("id {}", &id[..12.min(id.len())]);
                    if let Some(size) = size {
                        details.push_str(&format!(", {}", human_size(*size)));
                    }
                    if let Some(before) = size_before {
                        details.push_str(&format!(" (before finalize {})", human_size(*before)));
                    }
                    details
                }
                Outcome::UpToDate { id, .. } => format!("id {}", &id[..12.min(id.len())]),
                Outcome::Failed { .. } => format!("log {}", image.log),
                Outcome::Skipped { why } => why.clone(),
            };
            let details = match image.packages.describe() {
                packages if packages.is_empty() => details,
                packages => format!("{details}; packages: {packages}"),
            };
            out.push_str(&format!(
                "{:width$}  {:10}  {:>7.1}s  {details}\n",
                image.name,
                image.outcome.word(),
                image.seconds
            ));
        }
        let count = |word: &str| self.images.iter().filter(|image| image.outcome.word() == word).count();
        out.push_str(&format!(
            "{} built, {} up to date, {} failed, {} skipped in {:.1}s{}\n",
            count("built"),
            count("up to date"),
            count("FAILED"),
            count("skipped"),
            self.seconds,
            if self.interrupted { " (interrupted)" } else { "" }
        ));
        out
    }
}

/// Seconds of a duration, for the summary.
pub(super) fn seconds(duration: Duration) -> f64 {
    duration.as_secs_f64()
}
