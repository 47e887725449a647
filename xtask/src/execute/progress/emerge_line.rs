//! emerge's lines about where a merge stands, read from its output: pure, no I/O.
//!
//! ```text
//! >>> Emerging (1 of 2) dev-util/buildtool-1::gentoo                    built from source
//! >>> Emerging binary (2 of 4) dev-libs/libgreet-1::gentoo for /emerge-root/   from a binary package
//! >>> Installing (1 of 2) dev-util/buildtool-1::gentoo [to /emerge-root/]
//! >>> Completed (1 of 2) dev-util/buildtool-1::gentoo [to /emerge-root/]
//! ```
//!
//! Other `>>>` lines (`>>> Completed installing CPV into ...`, `>>> Jobs: ...`, `>>> Unmerging ...`)
//! are not these.

use serde::Serialize;

/// Where a package comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// A binary package (`>>> Emerging binary`).
    Binary,
    /// Built from source (`>>> Emerging`).
    Compiled,
}

/// `(3 of 47)`: the package's place in one emerge's merge list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    pub index: u32,
    pub total: u32,
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "({} of {})", self.index, self.total)
    }
}

/// What a line says happens to a package.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// emerge starts the package: fetching, building or extracting it.
    Emerging(Origin),
    /// The package is being merged into the root.
    Installing,
    /// The package is merged.
    Completed,
}

/// One line of emerge about a package: the stage, the position and the package (`CATEGORY/PF`,
/// without its `::repo`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EmergeLine<'a> {
    pub stage: Stage,
    pub position: Position,
    pub package: &'a str,
}

/// Reads one line of emerge's output; `None` for every line that is not about a package's stage.
pub fn parse(line: &str) -> Option<EmergeLine<'_>> {
    let rest = line.trim_end().strip_prefix(">>> ")?;
    let (stage, rest) = if let Some(rest) = rest.strip_prefix("Emerging binary (") {
        (Stage::Emerging(Origin::Binary), rest)
    } else if let Some(rest) = rest.strip_prefix("Emerging (") {
        (Stage::Emerging(Origin::Compiled), rest)
    } else if let Some(rest) = rest.strip_prefix("Installing (") {
        (Stage::Installing, rest)
    } else if let Some(rest) = rest.strip_prefix("Completed (") {
        (Stage::Completed, rest)
    } else {
        return None;
    };
    let (counts, rest) = rest.split_once(") ")?;
    let (index, total) = counts.split_once(" of ")?;
    let position = Position { index: index.parse().ok()?, total: total.parse().ok()? };
    // `cat/pf::repo`, then perhaps ` for /root/` or ` to /root/`.
    let word = rest.split_whitespace().next()?;
    let package = word.split_once("::").map_or(word, |(package, _)| package);
    let (category, pf) = package.split_once('/')?;
    if category.is_empty() || pf.is_empty() || pf.contains('/') || position.index == 0 {
        return None;
    }
    Some(EmergeLine { stage, position, package })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(index: u32, total: u32) -> Position {
        Position { index, total }
    }

    #[test]
    fn a_source_build_starts_installs_and_completes() {
        let emerging = parse(">>> Emerging (1 of 2) dev-util/buildtool-1::gentoo").unwrap();
        assert_eq!(
            emerging,
            EmergeLine {
                stage: Stage::Emerging(Origin::Compiled),
                position: at(1, 2),
                package: "dev-util/buildtool-1"
            }
        );
        let installing = parse(">>> Installing (1 of 2) dev-util/buildtool-1::gentoo").unwrap();
        assert_eq!((installing.stage, installing.package), (Stage::Installing, "dev-util/buildtool-1"));
        let completed = parse(">>> Completed (2 of 2) app-misc/greeter-1::gentoo").unwrap();
        assert_eq!((completed.stage, completed.position), (Stage::Completed, at(2, 2)));
    }

    #[test]
    fn a_binary_package_into_another_root_keeps_its_name_without_repo_and_root() {
        let line = parse(">>> Emerging binary (2 of 4) dev-libs/libgreet-1::gentoo for /emerge-root/").unwrap();
        assert_eq!(
            line,
            EmergeLine { stage: Stage::Emerging(Origin::Binary), position: at(2, 4), package: "dev-libs/libgreet-1" }
        );
        let line = parse(">>> Installing (3 of 4) app-misc/greeter-1::gentoo to /emerge-root/").unwrap();
        assert_eq!((line.stage, line.package), (Stage::Installing, "app-misc/greeter-1"));
        let line = parse(">>> Completed (4 of 4) acct-user/rig-0::gentoo to /emerge-root/").unwrap();
        assert_eq!((line.stage, line.position, line.package), (Stage::Completed, at(4, 4), "acct-user/rig-0"));
    }

    #[test]
    fn repositories_revisions_and_big_lists() {
        let line = parse(">>> Emerging (37 of 147) dev-libs/openssl-3.3.2-r1::gentoo\r").unwrap();
        assert_eq!((line.position, line.package), (at(37, 147), "dev-libs/openssl-3.3.2-r1"));
        let line = parse(">>> Emerging binary (2 of 2) app-misc/motd-1::overlay").unwrap();
        assert_eq!(line.package, "app-misc/motd-1");
        let line = parse(">>> Emerging (1 of 1) app-admin/syslog-stdout-1.0.0::kubler").unwrap();
        assert_eq!(line.package, "app-admin/syslog-stdout-1.0.0");
        // Without a repository (old portage).
        assert_eq!(parse(">>> Emerging (1 of 1) app-misc/hello-1").unwrap().package, "app-misc/hello-1");
    }

    #[test]
    fn other_lines_are_not_stages() {
        for line in [
            ">>> Completed installing app-misc/greeter-1 into /var/tmp/portage/app-misc/greeter-1/image",
            ">>> Install app-misc/greeter-1 into /var/tmp/portage/app-misc/greeter-1/image",
            ">>> Jobs: 1 of 2 complete, 1 running                Load avg: 1.02, 0.80, 0.66",
            ">>> Unmerging (1 of 1) dev-util/buildtool-1...",
            ">>> Emerging (1 of 2)",
            ">>> Emerging (x of 2) app-misc/hello-1::gentoo",
            ">>> Emerging (0 of 2) app-misc/hello-1::gentoo",
            ">>> Emerging (1 of 2) not-a-package::gentoo",
            ">>> app-misc/greeter-1 merged.",
            "echo '>>> Emerging (1 of 2) app-misc/hello-1::gentoo'",
            " * Fetching files in the background.",
            "",
        ] {
            assert_eq!(parse(line), None, "{line}");
        }
    }
}
