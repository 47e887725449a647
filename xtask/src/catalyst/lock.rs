//! `releases.lock`, at the workspace root: the ebuild repository commit the releases are built from
//! and its commit date. `cargo xtask catalyst --snapshot stable` writes it after `catalyst -s stable`;
//! the user commits it, so a release is rebuilt from the same tree by anyone, without editing code.
//!
//! ```toml
//! [snapshot]
//! commit = "<40 hex digits>"
//! date = "2026-01-01T12:34:56Z"
//! ```

use anyhow::{bail, Context as _, Result};
use camino::{Utf8Path, Utf8PathBuf};
use serde::Deserialize;

use crate::clock;

/// The lock file's name, at the workspace root.
pub const LOCK_FILE: &str = "releases.lock";

/// The command that records a snapshot, for error messages.
pub const SNAPSHOT_COMMAND: &str = "cargo xtask catalyst --snapshot stable";

/// One snapshot of the ebuild repository: catalyst's `snapshot_treeish` and its commit date.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// The full commit id (40 lowercase hex digits).
    pub commit: String,
    /// The commit date, seconds since 1970-01-01 (UTC).
    pub date: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LockFile {
    snapshot: SnapshotTable,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SnapshotTable {
    commit: String,
    date: String,
}

impl Snapshot {
    /// A snapshot from a commit id and its date; checks the id.
    pub fn new(commit: &str, date: i64) -> Result<Snapshot> {
        if commit.len() != 40 || !commit.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            bail!("`{commit}` is not a full commit id (40 lowercase hex digits)");
        }
        if date < 0 {
            bail!("commit date {date} is before 1970");
        }
        Ok(Snapshot { commit: commit.to_owned(), date })
    }

    /// The version stamp releng's catalyst-auto uses, `%Y%m%dT%H%M%SZ` (UTC), of the commit date.
    pub fn stamp(&self) -> String {
        clock::rfc3339(self.date).replace(['-', ':'], "")
    }

    /// The lock file's text.
    pub fn render(&self) -> String {
        format!(
            "# The ebuild repository snapshot `cargo xtask catalyst` builds the releases from.\n# Written by `{SNAPSHOT_COMMAND}`; commit it.\n[snapshot]\ncommit = \"{}\"\ndate = \"{}\"\n",
            self.commit,
            clock::rfc3339(self.date)
        )
    }

    /// Parses the lock file's text.
    pub fn parse(text: &str) -> Result<Snapshot> {
        let file: LockFile = toml::from_str(text)?;
        let date = parse_rfc3339_utc(&file.snapshot.date)
            .with_context(|| format!("date `{}` is not YYYY-MM-DDTHH:MM:SSZ", file.snapshot.date))?;
        Snapshot::new(&file.snapshot.commit, date)
    }

    /// Reads the lock file at `path` (normally `<workspace>/releases.lock`); a missing file is an
    /// error naming the command that writes it.
    pub fn read(path: &Utf8Path) -> Result<Snapshot> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => bail!(
                "no snapshot is recorded: {path} is missing. Run `{SNAPSHOT_COMMAND}` (on the catalyst host) to make \
                 one and record it, then commit {LOCK_FILE}"
            ),
            Err(error) => return Err(error).with_context(|| format!("reading {path}")),
        };
        Snapshot::parse(&text).with_context(|| format!("in {path} (written by `{SNAPSHOT_COMMAND}`)"))
    }

    /// Writes the lock file at `path` (whole, then renamed into place).
    pub fn write(&self, path: &Utf8Path) -> Result<()> {
        let temporary = Utf8PathBuf::from(format!("{path}.tmp"));
        std::fs::write(&temporary, self.render()).with_context(|| format!("writing {temporary}"))?;
        std::fs::rename(&temporary, path).with_context(|| format!("writing {path}"))
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` → seconds since 1970-01-01.
fn parse_rfc3339_utc(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let shape_ok = b.len() == 20
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'Z',
            _ => c.is_ascii_digit(),
        });
    if !shape_ok {
        return None;
    }
    let number = |range: std::ops::Range<usize>| text[range].parse::<i64>().ok();
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let epoch = clock::days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
    (clock::rfc3339(epoch) == text).then_some(epoch)
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMMIT: &str = "da31ee840e7887feb345ce81fb714853c2fc940c";

    #[test]
    fn round_trips_and_stamps_like_catalyst_auto() {
        let snapshot = Snapshot::new(COMMIT, 1_767_271_496).unwrap();
        assert_eq!(snapshot.stamp(), "20260101T124456Z");
        let text = snapshot.render();
        assert!(text.contains("date = \"2026-01-01T12:44:56Z\"\n"), "{text}");
        assert_eq!(Snapshot::parse(&text).unwrap(), snapshot);
    }

    #[test]
    fn bad_locks_say_what_is_wrong() {
        let lock = |commit: &str, date: &str| format!("[snapshot]\ncommit = \"{commit}\"\ndate = \"{date}\"\n");
        let error = Snapshot::parse(&lock("stable", "2026-01-01T00:00:00Z")).unwrap_err();
        assert_eq!(error.to_string(), "`stable` is not a full commit id (40 lowercase hex digits)");
        for date in ["2026-02-30T00:00:00Z", "2026-01-01 00:00:00Z", "2026-01-01T00:00:00+01:00", ""] {
            assert!(Snapshot::parse(&lock(COMMIT, date)).is_err(), "{date}");
        }
        assert!(Snapshot::parse("[snapshot]\ncommit = \"x\"\n").is_err());
        assert!(Snapshot::parse(&format!("{}extra = 1\n", lock(COMMIT, "2026-01-01T00:00:00Z"))).is_err());
    }

    #[test]
    fn a_missing_lock_names_the_command_to_run() {
        let dir = tempfile::tempdir().unwrap();
        let path = Utf8Path::from_path(dir.path()).unwrap().join(LOCK_FILE);
        let error = Snapshot::read(&path).unwrap_err().to_string();
        assert_eq!(
            error,
            format!(
                "no snapshot is recorded: {path} is missing. Run `cargo xtask catalyst --snapshot stable` (on the \
                 catalyst host) to make one and record it, then commit releases.lock"
            )
        );
        let snapshot = Snapshot::new(COMMIT, 0).unwrap();
        snapshot.write(&path).unwrap();
        assert_eq!(Snapshot::read(&path).unwrap(), snapshot);
        assert!(!Utf8PathBuf::from(format!("{path}.tmp")).exists());
    }
}
