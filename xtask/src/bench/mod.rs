//! `cargo xtask bench`: figures that show how close the orchestrator comes to its limits. Every
//! figure that matters is a ratio of two things measured alternately in the same run, with medians
//! over the rounds (machines are noisy); BENCHMARKS.md explains each one.

pub mod scenarios;
pub mod stats;
pub mod synthetic;
pub mod table;

use anyhow::Result;
use camino::Utf8Path;

use scenarios::Bench;
use stats::Target;
use table::Row;

/// The figures, in the order they run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Figure {
    /// 1: no-op rebuild of the rig images against one `buildah images`, and a forced build against it.
    NoOp,
    /// 2: a forced build through `build` against `sh` running the plan script.
    Overhead,
    /// 3: `--jobs 2` against `--jobs 1` on two independent images.
    Parallel,
    /// 4: `cargo xtask plan` after editing an image definition; a cold `cargo build`.
    Authoring,
    /// 5: planning 1,000 and 10,000 synthetic images, in process.
    Scale,
    /// 7: a forced build of one image installing one binary package against its floor by hand
    /// (`buildah from`, the same emerge run, `buildah commit`).
    FixedCost,
}

impl Figure {
    pub const ALL: [Figure; 6] =
        [Figure::NoOp, Figure::Overhead, Figure::Parallel, Figure::Authoring, Figure::Scale, Figure::FixedCost];

    /// Whether the figure builds images (and needs buildah and the warmed-up rig images).
    pub fn builds(self) -> bool {
        matches!(self, Figure::NoOp | Figure::Overhead | Figure::Parallel | Figure::FixedCost)
    }
}

/// How much to measure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rounds {
    /// Rounds of the quick measurements (a no-op build, planning, `cargo xtask plan`).
    pub light: usize,
    /// Rounds of the ones that build images for real (several seconds each).
    pub heavy: usize,
}

impl Rounds {
    /// `runs` rounds of everything, at most 3 of the builds (5 → 5 and 3); `--quick`: 3 and 1.
    pub fn new(runs: Option<usize>, quick: bool) -> Rounds {
        match (runs, quick) {
            (Some(runs), _) => Rounds { light: runs.max(1), heavy: runs.clamp(1, 3) },
            (None, true) => Rounds { light: 3, heavy: 1 },
            (None, false) => Rounds { light: 5, heavy: 3 },
        }
    }
}

/// The image counts of figure 5.
pub const SCALE_SIZES: (usize, usize) = (1_000, 10_000);

/// Runs the figures (all when `only` is empty) and returns the table's rows.
pub fn run(workspace: &Utf8Path, only: &[Figure], rounds: &Rounds) -> Result<Vec<Row>> {
    let figures: Vec<Figure> =
        Figure::ALL.into_iter().filter(|figure| only.is_empty() || only.contains(figure)).collect();
    crate::execute::interrupt::install();
    let bench = Bench::new(workspace)?;
    if figures.iter().any(|figure| figure.builds()) {
        bench.warm_up()?;
    }
    let mut rows = Vec::new();
    for figure in figures {
        rows.extend(match figure {
            Figure::NoOp => bench.no_op_rebuild(rounds.light, rounds.heavy)?,
            Figure::Overhead => bench.orchestration_overhead(rounds.heavy)?,
            Figure::Parallel => bench.parallelism(rounds.heavy)?,
            Figure::Authoring => bench.authoring_loop(rounds.light)?,
            Figure::Scale => planning_scale(rounds.light)?,
            Figure::FixedCost => bench.fixed_cost(rounds.heavy.max(3))?,
        });
    }
    Ok(rows)
}

/// Figure 5: planning 1,000 and 10,000 synthetic images in process.
pub fn planning_scale(rounds: usize) -> Result<Vec<Row>> {
    let (small, large) = SCALE_SIZES;
    eprintln!("bench: figure 5: plan {small} against {large} synthetic images, {rounds} round(s)");
    let (small_times, large_times) = synthetic::measure(small, large, rounds)?;
    Ok(vec![
        Row::plain(format!("5 plan {} synthetic images", thousands(small)), small_times.clone()),
        Row {
            figure: format!("5 plan {} synthetic images", thousands(large)),
            ratio: None,
            samples: large_times.clone(),
            target: Some(Target::MedianAtMost(std::time::Duration::from_secs(1))),
        },
        Row {
            figure: format!("5 growth for {}x the images", large / small),
            ratio: Some(large_times.ratio_to(&small_times)),
            samples: large_times,
            target: Some(Target::RatioAtMost(11.0)),
        },
    ])
}

/// What the figures were measured on: cores, memory, kernel, buildah and its storage driver.
pub fn machine(with_buildah: bool) -> String {
    let cores = std::thread::available_parallelism().map_or_else(|_| "?".to_owned(), |n| n.to_string());
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|line| Some(line.strip_prefix("model name")?.trim_start_matches([' ', '\t', ':']).to_owned()))
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            let kib: f64 = info
                .lines()
                .find_map(|line| line.strip_prefix("MemTotal:"))?
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse()
                .ok()?;
            Some(format!("{:.1} GiB", kib / 1024.0 / 1024.0))
        })
        .unwrap_or_else(|| "?".to_owned());
    let kernel =
        std::fs::read_to_string("/proc/sys/kernel/osrelease").map_or_else(|_| "?".to_owned(), |k| k.trim().to_owned());
    let profile = if cfg!(debug_assertions) { "dev profile (as `cargo xtask` runs it)" } else { "release profile" };
    let mut out = format!("machine: {cores} cores ({cpu}), {memory} memory, Linux {kernel}; xtask {profile}\n");
    if with_buildah {
        let read = |args: &[&str]| {
            crate::execute::storage::buildah(args)
                .output()
                .ok()
                .filter(|output| output.status.success())
                .map_or_else(|| "?".to_owned(), |output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        };
        let version = read(&["--version"]);
        let driver = read(&["info", "--format", "{{.store.GraphDriverName}}"]);
        out.push_str(&format!("{version}, storage driver {driver}\n"));
    }
    out
}

/// `10000` as `10,000`.
fn thousands(number: usize) -> String {
    let digits = number.to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_of_a_run() {
        assert_eq!(Rounds::new(None, false), Rounds { light: 5, heavy: 3 });
        assert_eq!(Rounds::new(None, true), Rounds { light: 3, heavy: 1 });
        assert_eq!(Rounds::new(Some(9), true), Rounds { light: 9, heavy: 3 }, "--runs wins");
        assert_eq!(Rounds::new(Some(2), false), Rounds { light: 2, heavy: 2 });
        assert_eq!(Rounds::new(Some(0), false), Rounds { light: 1, heavy: 1 });
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(10_000), "10,000");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn only_the_figures_that_build_need_the_rig() {
        let building: Vec<Figure> = Figure::ALL.into_iter().filter(|figure| figure.builds()).collect();
        assert_eq!(building, [Figure::NoOp, Figure::Overhead, Figure::Parallel, Figure::FixedCost]);
    }
}
