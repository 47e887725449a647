//! Measurement helpers: two things timed alternately round by round (so that a noisy machine slows
//! both alike), medians over the rounds, ratios of medians and the targets they are held to.

use std::time::{Duration, Instant};

use anyhow::{ensure, Result};

/// The times of one thing over the rounds of a measurement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Samples {
    times: Vec<Duration>,
}

impl Samples {
    /// At least one time.
    pub fn new(times: Vec<Duration>) -> Result<Samples> {
        ensure!(!times.is_empty(), "no measurement: at least one run is needed");
        Ok(Samples { times })
    }

    /// The middle time; for an even count, the mean of the two middle ones.
    pub fn median(&self) -> Duration {
        let mut sorted = self.times.clone();
        sorted.sort();
        let middle = sorted.len() / 2;
        if sorted.len() % 2 == 1 {
            sorted[middle]
        } else {
            (sorted[middle - 1] + sorted[middle]) / 2
        }
    }

    pub fn min(&self) -> Duration {
        *self.times.iter().min().expect("not empty")
    }

    pub fn max(&self) -> Duration {
        *self.times.iter().max().expect("not empty")
    }

    pub fn runs(&self) -> usize {
        self.times.len()
    }

    /// How many times longer this median is than `other`'s.
    pub fn ratio_to(&self, other: &Samples) -> f64 {
        self.median().as_secs_f64() / other.median().as_secs_f64().max(f64::MIN_POSITIVE)
    }
}

/// Runs `first` then `second` in each of `rounds` rounds (given the round's number); each returns
/// the time it measured, so it can leave its set-up and clean-up outside the measurement.
pub fn alternate(
    rounds: usize,
    mut first: impl FnMut(usize) -> Result<Duration>,
    mut second: impl FnMut(usize) -> Result<Duration>,
) -> Result<(Samples, Samples)> {
    let mut a = Vec::with_capacity(rounds);
    let mut b = Vec::with_capacity(rounds);
    for round in 0..rounds {
        a.push(first(round)?);
        b.push(second(round)?);
    }
    Ok((Samples::new(a)?, Samples::new(b)?))
}

/// Times `work`.
pub fn time(work: impl FnOnce() -> Result<()>) -> Result<Duration> {
    let start = Instant::now();
    work()?;
    Ok(start.elapsed())
}

/// What a figure is held to.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Target {
    /// The ratio is at most this.
    RatioAtMost(f64),
    /// The ratio is at least this.
    RatioAtLeast(f64),
    /// The median is at most this long.
    MedianAtMost(Duration),
}

impl Target {
    /// Whether the figure (its median and, for ratio targets, its ratio) meets the target. A ratio
    /// target without a ratio is not met.
    pub fn met(&self, median: Duration, ratio: Option<f64>) -> bool {
        match (*self, ratio) {
            (Target::RatioAtMost(limit), Some(ratio)) => ratio <= limit,
            (Target::RatioAtLeast(limit), Some(ratio)) => ratio >= limit,
            (Target::MedianAtMost(limit), _) => median <= limit,
            (_, None) => false,
        }
    }

    /// `≤ 1.5×`, `≥ 50×`, `≤ 3 s`.
    pub fn describe(&self) -> String {
        match self {
            Target::RatioAtMost(limit) => format!("<= {}x", trim_float(*limit)),
            Target::RatioAtLeast(limit) => format!(">= {}x", trim_float(*limit)),
            Target::MedianAtMost(limit) => format!("<= {}", super::table::duration(*limit)),
        }
    }
}

/// `1.5` as `1.5`, `50.0` as `50`.
fn trim_float(value: f64) -> String {
    let text = format!("{value:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(values: &[u64]) -> Samples {
        Samples::new(values.iter().map(|&v| Duration::from_millis(v)).collect()).unwrap()
    }

    #[test]
    fn median_min_max_of_odd_and_even_counts() {
        let odd = ms(&[30, 10, 20, 50, 40]);
        assert_eq!(odd.median(), Duration::from_millis(30));
        assert_eq!(odd.min(), Duration::from_millis(10));
        assert_eq!(odd.max(), Duration::from_millis(50));
        assert_eq!(odd.runs(), 5);
        assert_eq!(ms(&[40, 10, 20, 1000]).median(), Duration::from_millis(30), "mean of the middle two");
        assert_eq!(ms(&[7]).median(), Duration::from_millis(7));
    }

    #[test]
    fn no_samples_is_an_error() {
        let error = Samples::new(vec![]).unwrap_err().to_string();
        assert!(error.contains("at least one run"), "{error}");
    }

    #[test]
    fn the_ratio_is_of_medians() {
        // An outlier in either set does not move the ratio.
        let subject = ms(&[30, 31, 29, 900, 30]);
        let reference = ms(&[20, 20, 1, 20, 25]);
        assert!((subject.ratio_to(&reference) - 1.5).abs() < 1e-9, "{}", subject.ratio_to(&reference));
    }

    #[test]
    fn alternate_runs_first_then_second_in_every_round() {
        let order = std::cell::RefCell::new(Vec::new());
        let (a, b) = alternate(
            3,
            |round| {
                order.borrow_mut().push(format!("a{round}"));
                Ok(Duration::from_millis(10 + round as u64))
            },
            |round| {
                order.borrow_mut().push(format!("b{round}"));
                Ok(Duration::from_millis(100))
            },
        )
        .unwrap();
        assert_eq!(order.into_inner(), ["a0", "b0", "a1", "b1", "a2", "b2"]);
        assert_eq!(a.median(), Duration::from_millis(11));
        assert_eq!(b.runs(), 3);
    }

    #[test]
    fn a_failed_run_stops_the_measurement() {
        let result = alternate(
            3,
            |_| Ok(Duration::ZERO),
            |round| {
                anyhow::ensure!(round < 1, "broke");
                Ok(Duration::ZERO)
            },
        );
        assert_eq!(result.unwrap_err().to_string(), "broke");
    }

    #[test]
    fn targets_check_ratios_and_medians() {
        let median = Duration::from_millis(900);
        assert!(Target::RatioAtMost(1.5).met(median, Some(1.5)));
        assert!(!Target::RatioAtMost(1.5).met(median, Some(1.51)));
        assert!(Target::RatioAtLeast(50.0).met(median, Some(50.0)));
        assert!(!Target::RatioAtLeast(50.0).met(median, Some(49.9)));
        assert!(!Target::RatioAtLeast(1.7).met(median, None), "no ratio, not met");
        assert!(Target::MedianAtMost(Duration::from_secs(1)).met(median, None));
        assert!(!Target::MedianAtMost(Duration::from_millis(899)).met(median, Some(0.1)));
    }

    #[test]
    fn targets_describe_themselves() {
        assert_eq!(Target::RatioAtMost(1.5).describe(), "<= 1.5x");
        assert_eq!(Target::RatioAtLeast(50.0).describe(), ">= 50x");
        assert_eq!(Target::RatioAtMost(1.05).describe(), "<= 1.05x");
        assert_eq!(Target::MedianAtMost(Duration::from_secs(3)).describe(), "<= 3.00 s");
    }
}
