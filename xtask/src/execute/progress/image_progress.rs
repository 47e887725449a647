//! Where one image's emerge stands, from the lines of its output: the packages emerging now, and
//! those merged, how (binary or compiled) and in how long. Pure: each line comes with the time it
//! was read, so tests feed lines and times without a clock.

use std::time::{Duration, Instant};

use super::emerge_line::{self, Origin, Position, Stage};
use crate::execute::summary::{Packages, SlowestPackage};

/// A package emerge started and has not completed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmergingPackage {
    /// `CATEGORY/PF`.
    pub package: String,
    pub position: Position,
    pub origin: Origin,
    /// Being merged into the root (`>>> Installing`).
    pub installing: bool,
    pub since: Instant,
}

impl EmergingPackage {
    /// `(1 of 2) dev-util/buildtool-1 (compiling)`.
    pub fn describe(&self) -> String {
        let doing = match (self.origin, self.installing) {
            (Origin::Binary, _) => "binary",
            (Origin::Compiled, false) => "compiling",
            (Origin::Compiled, true) => "installing",
        };
        format!("{} {} ({doing})", self.position, self.package)
    }
}

/// A package emerge merged.
#[derive(Clone, Debug, PartialEq, Eq)]
struct MergedPackage {
    package: String,
    origin: Origin,
    took: Duration,
}

/// What a line changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// Nothing: not a line about a package.
    None,
    /// A package started: the current package is another one.
    Started,
    /// A package went on to its merge, or completed.
    Progressed,
}

/// One image's emerge progress.
#[derive(Clone, Debug)]
pub struct ImageProgress {
    started: Instant,
    /// In the order they started (one at a time, unless emerge runs with `--jobs`).
    emerging: Vec<EmergingPackage>,
    merged: Vec<MergedPackage>,
}

impl ImageProgress {
    pub fn new(started: Instant) -> ImageProgress {
        ImageProgress { started, emerging: Vec::new(), merged: Vec::new() }
    }

    /// Reads one line of output, read at `now`.
    pub fn feed(&mut self, line: &str, now: Instant) -> Change {
        let Some(line) = emerge_line::parse(line) else { return Change::None };
        let found = self.emerging.iter().position(|emerging| emerging.package == line.package);
        match line.stage {
            Stage::Emerging(origin) => {
                // A package emerge starts again (a second emerge of the same image) starts afresh.
                if let Some(index) = found {
                    self.emerging.remove(index);
                }
                self.emerging.push(EmergingPackage {
                    package: line.package.to_owned(),
                    position: line.position,
                    origin,
                    installing: false,
                    since: now,
                });
                Change::Started
            }
            Stage::Installing => match found {
                Some(index) => {
                    self.emerging[index].installing = true;
                    self.emerging[index].position = line.position;
                    Change::Progressed
                }
                None => Change::None,
            },
            Stage::Completed => match found {
                Some(index) => {
                    let done = self.emerging.remove(index);
                    let took = now.saturating_duration_since(done.since);
                    self.merged.push(MergedPackage { package: done.package, origin: done.origin, took });
                    Change::Progressed
                }
                // Its start was not seen: how it came is not known, so it is not counted.
                None => Change::None,
            },
        }
    }

    /// The package shown: the last one started that has not completed.
    pub fn current(&self) -> Option<&EmergingPackage> {
        self.emerging.last()
    }

    /// How long the image has been building at `now`.
    pub fn elapsed(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.started)
    }

    /// What the image is doing at `now`, for a progress line: `(1 of 2) dev-util/buildtool-1
    /// (compiling) 12s`, or how many packages it merged when none is emerging.
    pub fn describe(&self, now: Instant) -> String {
        match self.current() {
            Some(current) => {
                format!("{} {}", current.describe(), short_duration(now.saturating_duration_since(current.since)))
            }
            None if self.merged.is_empty() => "no package emerging".to_owned(),
            None => format!("{} merged, no package emerging", count(self.merged.len(), "package")),
        }
    }

    /// The packages merged so far: how many from binary packages, how many compiled, the slowest.
    pub fn packages(&self) -> Packages {
        let of = |origin| self.merged.iter().filter(|merged| merged.origin == origin).count();
        // The first of equally slow packages.
        let slowest = self.merged.iter().rev().max_by_key(|merged| merged.took).map(|merged| SlowestPackage {
            package: merged.package.clone(),
            origin: merged.origin,
            seconds: (merged.took.as_secs_f64() * 10.0).round() / 10.0,
        });
        Packages { binary: of(Origin::Binary), compiled: of(Origin::Compiled), slowest }
    }
}

/// `1 package`, `3 packages`.
fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// `7s`, `3m04s`, `2h05m`.
pub fn short_duration(duration: Duration) -> String {
    let seconds = duration.as_secs();
    match seconds {
        0..=59 => format!("{seconds}s"),
        60..=3599 => format!("{}m{:02}s", seconds / 60, seconds % 60),
        _ => format!("{}h{:02}m", seconds / 3600, seconds % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE_BUILD: &str = "\
>>> Verifying ebuild manifests
>>> Emerging (1 of 2) dev-util/buildtool-1::gentoo
>>> Compiling source in /var/tmp/portage/dev-util/buildtool-1/work ...
>>> Completed installing dev-util/buildtool-1 into /var/tmp/portage/dev-util/buildtool-1/image
>>> Installing (1 of 2) dev-util/buildtool-1::gentoo
>>> Completed (1 of 2) dev-util/buildtool-1::gentoo
>>> Emerging binary (2 of 2) app-misc/greeter-1::gentoo
>>> Installing (2 of 2) app-misc/greeter-1::gentoo
>>> Completed (2 of 2) app-misc/greeter-1::gentoo";

    /// Feeds `lines`, the n-th read at `t0 + seconds[n]`; returns the changes.
    fn feed(progress: &mut ImageProgress, t0: Instant, lines: &str, seconds: &[u64]) -> Vec<Change> {
        lines.lines().zip(seconds).map(|(line, s)| progress.feed(line, t0 + Duration::from_secs(*s))).collect()
    }

    #[test]
    fn a_package_is_current_from_its_start_to_its_completion() {
        let t0 = Instant::now();
        let mut progress = ImageProgress::new(t0);
        assert_eq!(progress.describe(t0), "no package emerging");
        let lines: Vec<&str> = SOURCE_BUILD.lines().collect();
        assert_eq!(progress.feed(lines[0], t0), Change::None);
        assert_eq!(progress.feed(lines[1], t0 + Duration::from_secs(2)), Change::Started);
        let current = progress.current().unwrap();
        assert_eq!((current.package.as_str(), current.origin), ("dev-util/buildtool-1", Origin::Compiled));
        assert_eq!(progress.describe(t0 + Duration::from_secs(14)), "(1 of 2) dev-util/buildtool-1 (compiling) 12s");
        // `>>> Completed installing` is a phase of the build, not the package's completion.
        assert_eq!(progress.feed(lines[2], t0 + Duration::from_secs(3)), Change::None);
        assert_eq!(progress.feed(lines[3], t0 + Duration::from_secs(4)), Change::None);
        assert!(progress.current().is_some());
        assert_eq!(progress.feed(lines[4], t0 + Duration::from_secs(5)), Change::Progressed);
        assert_eq!(progress.describe(t0 + Duration::from_secs(66)), "(1 of 2) dev-util/buildtool-1 (installing) 1m04s");
        assert_eq!(progress.feed(lines[5], t0 + Duration::from_secs(6)), Change::Progressed);
        assert_eq!(progress.current(), None);
        assert_eq!(progress.describe(t0 + Duration::from_secs(6)), "1 package merged, no package emerging");
        assert_eq!(progress.elapsed(t0 + Duration::from_secs(6)), Duration::from_secs(6));
    }

    #[test]
    fn merged_packages_are_counted_by_origin_and_the_slowest_is_named() {
        let t0 = Instant::now();
        let mut progress = ImageProgress::new(t0);
        let changes = feed(&mut progress, t0, SOURCE_BUILD, &[0, 1, 2, 3, 4, 10, 11, 12, 14]);
        assert_eq!(changes.iter().filter(|change| **change == Change::Started).count(), 2);
        let packages = progress.packages();
        assert_eq!((packages.binary, packages.compiled), (1, 1));
        let slowest = packages.slowest.unwrap();
        assert_eq!(slowest.package, "dev-util/buildtool-1");
        assert_eq!((slowest.origin, slowest.seconds), (Origin::Compiled, 9.0));
    }

    #[test]
    fn a_binary_package_shows_as_binary_and_unfinished_packages_are_not_counted() {
        let t0 = Instant::now();
        let mut progress = ImageProgress::new(t0);
        progress.feed(">>> Emerging binary (3 of 47) dev-libs/openssl-3.3.2::gentoo", t0);
        assert_eq!(progress.describe(t0 + Duration::from_secs(3)), "(3 of 47) dev-libs/openssl-3.3.2 (binary) 3s");
        progress.feed(">>> Installing (3 of 47) dev-libs/openssl-3.3.2::gentoo", t0);
        assert_eq!(progress.describe(t0), "(3 of 47) dev-libs/openssl-3.3.2 (binary) 0s");
        // A completion whose start was not seen is not counted; a start without completion neither.
        progress.feed(">>> Completed (2 of 47) dev-libs/zlib-1.3::gentoo", t0);
        assert_eq!(progress.packages(), Packages { binary: 0, compiled: 0, slowest: None });
    }

    #[test]
    fn parallel_packages_and_a_second_emerge_into_another_root() {
        let t0 = Instant::now();
        let mut progress = ImageProgress::new(t0);
        let lines = "\
>>> Emerging (1 of 3) dev-libs/a-1::gentoo
>>> Emerging (2 of 3) dev-libs/b-1::gentoo
>>> Jobs: 0 of 3 complete, 2 running
>>> Completed (2 of 3) dev-libs/b-1::gentoo
>>> Completed (1 of 3) dev-libs/a-1::gentoo
>>> Emerging binary (1 of 1) dev-libs/a-1::gentoo for /emerge-root/
>>> Completed (1 of 1) dev-libs/a-1::gentoo to /emerge-root/";
        let seconds = [0, 1, 1, 2, 30, 40, 41];
        let lines: Vec<&str> = lines.lines().collect();
        for (line, s) in lines.iter().zip(seconds).take(2) {
            progress.feed(line, t0 + Duration::from_secs(s));
        }
        assert_eq!(progress.current().unwrap().package, "dev-libs/b-1", "the last started is shown");
        progress.feed(lines[3], t0 + Duration::from_secs(2));
        assert_eq!(progress.current().unwrap().package, "dev-libs/a-1", "then the one still running");
        for (line, s) in lines.iter().zip(seconds).skip(4) {
            progress.feed(line, t0 + Duration::from_secs(s));
        }
        let packages = progress.packages();
        assert_eq!((packages.binary, packages.compiled), (1, 2));
        assert_eq!(packages.slowest.map(|s| (s.package, s.seconds)), Some(("dev-libs/a-1".to_owned(), 30.0)));
    }

    #[test]
    fn durations_are_short() {
        assert_eq!(short_duration(Duration::from_millis(7900)), "7s");
        assert_eq!(short_duration(Duration::from_secs(184)), "3m04s");
        assert_eq!(short_duration(Duration::from_secs(7500)), "2h05m");
    }
}
