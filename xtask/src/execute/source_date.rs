//! SOURCE_DATE_EPOCH: the one date an image carries (its creation time, every file's mtime, the
//! SBOM's creation date). Given by the user, or derived from the ebuild repository's snapshot, so two
//! builds from the same inputs carry the same date.

use camino::Utf8Path;

use crate::plan::SourceDates;
use crate::settings::{RepositorySource, Settings};

/// Where a repository records when it was snapshotted, in the order they are tried: rsync and
/// webrsync snapshots (`timestamp.chk`: an RFC 2822 date), git mirrors (`timestamp.commit`:
/// `<commit> <seconds> ...`), and `timestamp.x` (`<seconds> ...`).
pub const TIMESTAMP_FILES: &[&str] = &["metadata/timestamp.chk", "metadata/timestamp.commit", "metadata/timestamp.x"];

/// The dates of one run: the setting (`source-date-epoch`, or the `SOURCE_DATE_EPOCH` environment
/// variable) for every image; else each repository's snapshot date ([`snapshot_date`]); else 0
/// (1970-01-01), e.g. for a repository image, whose files are not on the host before the build.
pub fn source_dates(workspace: &Utf8Path, settings: &Settings) -> SourceDates {
    if let Some(epoch) = settings.source_date_epoch {
        return SourceDates { rig: epoch, repository: epoch };
    }
    let rig = snapshot_date(&workspace.join(crate::plan::RIG_REPOSITORY)).unwrap_or(0);
    let repository = match &settings.repository {
        RepositorySource::Folder(path) => snapshot_date(path).unwrap_or(0),
        RepositorySource::Image(_) => 0,
    };
    SourceDates { rig, repository }
}

/// The snapshot date of the repository at `dir`, from the first of [`TIMESTAMP_FILES`] that it has
/// and that parses.
pub fn snapshot_date(dir: &Utf8Path) -> Option<i64> {
    TIMESTAMP_FILES.iter().find_map(|file| {
        let text = std::fs::read_to_string(dir.join(file)).ok()?;
        if file.ends_with(".chk") {
            parse_rfc2822(text.trim())
        } else {
            text.split_whitespace()
                .find(|word| word.len() >= 9 && word.bytes().all(|b| b.is_ascii_digit()))?
                .parse()
                .ok()
        }
    })
}

/// `Sun, 23 Nov 2025 00:45:01 +0000` (the weekday optional) → seconds since 1970.
pub fn parse_rfc2822(text: &str) -> Option<i64> {
    let text = text.split_once(", ").map_or(text, |(_, rest)| rest);
    let mut words = text.split_whitespace();
    let day: i64 = words.next()?.parse().ok()?;
    let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        .iter()
        .position(|name| Some(*name) == words.clone().next())? as i64
        + 1;
    words.next();
    let year: i64 = words.next()?.parse().ok()?;
    let mut time = words.next()?.split(':').map(|part| part.parse::<i64>().ok());
    let (hours, minutes, seconds) = (time.next()??, time.next()??, time.next().flatten().unwrap_or(0));
    let zone = words.next().unwrap_or("+0000");
    let (sign, digits) = match zone.split_at(1) {
        ("-", digits) => (-1, digits),
        ("+", digits) => (1, digits),
        _ => (1, "0000"),
    };
    let offset = digits.get(..2)?.parse::<i64>().ok()? * 3600 + digits.get(2..4)?.parse::<i64>().ok()? * 60;
    let days = crate::clock::days_from_civil(year, month, day);
    Some(days * 86_400 + hours * 3600 + minutes * 60 + seconds - sign * offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_dates_parse() {
        assert_eq!(parse_rfc2822("Sun, 23 Nov 2025 00:45:01 +0000"), Some(1_763_858_701));
        assert_eq!(parse_rfc2822("23 Nov 2025 01:45:01 +0100"), Some(1_763_858_701));
        assert_eq!(parse_rfc2822("yesterday"), None);
        let dir = tempfile::tempdir().unwrap();
        let root = Utf8Path::from_path(dir.path()).unwrap();
        assert_eq!(snapshot_date(root), None);
        std::fs::create_dir(root.join("metadata")).unwrap();
        std::fs::write(root.join("metadata/timestamp.commit"), "0a1b2c 1763858701 2025-11-23\n").unwrap();
        assert_eq!(snapshot_date(root), Some(1_763_858_701));
        std::fs::write(root.join("metadata/timestamp.chk"), "Mon, 24 Nov 2025 00:00:00 +0000\n").unwrap();
        assert_eq!(snapshot_date(root), Some(1_763_942_400));
    }

    #[test]
    fn the_rig_repository_has_a_snapshot_date() {
        let rig = Utf8Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(crate::plan::RIG_REPOSITORY);
        assert!(snapshot_date(&rig).is_some_and(|date| date > 1_700_000_000));
    }
}
