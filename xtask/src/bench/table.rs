//! The table a bench run prints: one row per figure, with its median, spread, ratio and target.

use std::time::Duration;

use super::stats::{Samples, Target};

/// One line of the table.
#[derive(Clone, Debug)]
pub struct Row {
    /// What was measured, e.g. `1 no-op build / buildah images`.
    pub figure: String,
    pub samples: Samples,
    /// The ratio of this figure's median to its reference's (or the reference's to this one's, as
    /// the figure reads: "50x faster"), when it has one.
    pub ratio: Option<f64>,
    pub target: Option<Target>,
}

impl Row {
    /// A figure without a reference or target: shown for what it is.
    pub fn plain(figure: impl Into<String>, samples: Samples) -> Row {
        Row { figure: figure.into(), samples, ratio: None, target: None }
    }

    /// `yes`, `NO`, or `-` when the row has no target.
    pub fn met(&self) -> &'static str {
        match self.target {
            None => "-",
            Some(target) if target.met(self.samples.median(), self.ratio) => "yes",
            Some(_) => "NO",
        }
    }
}

const HEADER: [&str; 8] = ["figure", "median", "min", "max", "runs", "ratio", "target", "met"];

/// The rows as a table of aligned columns (the figure left-aligned, numbers right-aligned).
pub fn render(rows: &[Row]) -> String {
    let cells: Vec<[String; 8]> = rows
        .iter()
        .map(|row| {
            [
                row.figure.clone(),
                duration(row.samples.median()),
                duration(row.samples.min()),
                duration(row.samples.max()),
                row.samples.runs().to_string(),
                row.ratio.map_or_else(|| "-".to_owned(), |ratio| format!("{ratio:.2}x")),
                row.target.map_or_else(|| "-".to_owned(), |target| target.describe()),
                row.met().to_owned(),
            ]
        })
        .collect();
    let mut widths = HEADER.map(str::len);
    for line in &cells {
        for (width, cell) in widths.iter_mut().zip(line) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut push_line = |line: &[String]| {
        let mut text = String::new();
        for (column, (cell, width)) in line.iter().zip(widths).enumerate() {
            if column > 0 {
                text.push_str("  ");
            }
            let pad = " ".repeat(width - cell.chars().count());
            if column == 0 || column >= 6 {
                text.push_str(cell);
                text.push_str(&pad);
            } else {
                text.push_str(&pad);
                text.push_str(cell);
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    push_line(&HEADER.map(str::to_owned));
    for line in &cells {
        push_line(line);
    }
    out
}

/// `812 us`, `46.6 ms`, `12.30 s`.
pub fn duration(duration: Duration) -> String {
    let seconds = duration.as_secs_f64();
    if seconds >= 1.0 {
        format!("{seconds:.2} s")
    } else if seconds >= 0.001 {
        format!("{:.1} ms", seconds * 1e3)
    } else {
        format!("{:.0} us", seconds * 1e6)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples(ms: &[u64]) -> Samples {
        Samples::new(ms.iter().map(|&v| Duration::from_millis(v)).collect()).unwrap()
    }

    #[test]
    fn durations_read_in_the_unit_that_fits() {
        assert_eq!(duration(Duration::from_micros(812)), "812 us");
        assert_eq!(duration(Duration::from_micros(46_649)), "46.6 ms");
        assert_eq!(duration(Duration::from_millis(12_304)), "12.30 s");
        assert_eq!(duration(Duration::from_secs(1)), "1.00 s");
    }

    #[test]
    fn a_row_is_met_or_not_by_its_target() {
        let mut row = Row {
            figure: "x".into(),
            samples: samples(&[40, 50, 60]),
            ratio: Some(1.6),
            target: Some(Target::RatioAtMost(1.5)),
        };
        assert_eq!(row.met(), "NO");
        row.ratio = Some(1.2);
        assert_eq!(row.met(), "yes");
        assert_eq!(Row::plain("y", samples(&[1])).met(), "-");
    }

    #[test]
    fn the_table_aligns_every_column() {
        let rows = [
            Row {
                figure: "1 no-op build rig/.* / buildah images".into(),
                samples: samples(&[40, 50, 45]),
                ratio: Some(1.234),
                target: Some(Target::RatioAtMost(1.5)),
            },
            Row::plain("1 buildah images", samples(&[30, 35, 1200])),
            Row {
                figure: "5 plan 10,000 images".into(),
                samples: samples(&[1500, 1400]),
                ratio: None,
                target: Some(Target::MedianAtMost(Duration::from_secs(1))),
            },
        ];
        let table = render(&rows);
        let expected = "\
figure                                  median      min      max  runs  ratio  target     met
1 no-op build rig/.* / buildah images  45.0 ms  40.0 ms  50.0 ms     3  1.23x  <= 1.5x    yes
1 buildah images                       35.0 ms  30.0 ms   1.20 s     3      -  -          -
5 plan 10,000 images                    1.45 s   1.40 s   1.50 s     2      -  <= 1.00 s  NO
";
        assert_eq!(table, expected, "\n{table}");
    }
}
