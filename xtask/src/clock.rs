//! The clock, read once by the commands that need a date (the planner never reads it).

use std::time::{SystemTime, UNIX_EPOCH};

/// Today's date in UTC as `YYYYMMDD`.
pub fn today_utc() -> String {
    let seconds = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    date_tag(seconds / 86_400)
}

/// `YYYYMMDD` for a day count since 1970-01-01 (Howard Hinnant's `civil_from_days`).
pub fn date_tag(days_since_epoch: u64) -> String {
    let z = days_since_epoch as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!("{year:04}{month:02}{day:02}")
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
}
