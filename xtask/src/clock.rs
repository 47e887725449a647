//! The clock, read once by the commands that need a date (the planner never reads it).

use std::time::{SystemTime, UNIX_EPOCH};

/// Today's date in UTC as `YYYYMMDD`.
pub fn today_utc() -> String {
    let seconds = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    date_tag(seconds / 86_400)
}

/// `YYYYMMDD` for a day count since 1970-01-01.
pub fn date_tag(days_since_epoch: u64) -> String {
    let (year, month, day) = civil_from_days(days_since_epoch as i64);
    format!("{year:04}{month:02}{day:02}")
}

/// `YYYY-MM-DDTHH:MM:SSZ` (RFC 3339, UTC) for seconds since 1970-01-01.
pub fn rfc3339(epoch: i64) -> String {
    let (year, month, day) = civil_from_days(epoch.div_euclid(86_400));
    let seconds = epoch.rem_euclid(86_400);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", seconds / 3600, seconds / 60 % 60, seconds % 60)
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's `days_from_civil`).
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The civil date of a day count since 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days_since_epoch: i64) -> (i64, i64, i64) {
    let z = days_since_epoch + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    #[test]
    fn known_dates() {
        assert_eq!(super::date_tag(0), "19700101");
        assert_eq!(super::date_tag(11_016), "20000229");
        assert_eq!(super::date_tag(20_415), "20251123");
        assert_eq!(super::date_tag(20_515), "20260303");
    }

    #[test]
    fn rfc3339_and_back() {
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::rfc3339(1_763_858_701), "2025-11-23T00:45:01Z");
        assert_eq!(super::days_from_civil(2025, 11, 23), 20_415);
        assert_eq!(super::days_from_civil(2000, 2, 29), 11_016);
    }
}
