//! Reading what a build wrote: emerge's merge lines in a log.

#[allow(unused_imports)]
use super::*;

/// The lines of an emerge log that say how a package was merged: `>>> Emerging (1 of 2) CPV::repo`
/// (built from source) and `>>> Emerging binary (1 of 2) CPV::repo` (from a binary package).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Emerged {
    /// CPVs built from source, in order.
    pub source: Vec<String>,
    /// CPVs merged from binary packages, in order.
    pub binary: Vec<String>,
}

impl Emerged {
    pub fn parse(log: &str) -> Emerged {
        let cpv = |rest: &str| -> String {
            // `(1 of 2) dev-libs/libgreet-1::gentoo` → `dev-libs/libgreet-1`
            let after = rest.split_once(") ").map(|(_, after)| after).unwrap_or(rest);
            let word = after.split_whitespace().next().unwrap_or_default();
            word.split("::").next().unwrap_or_default().to_owned()
        };
        let mut emerged = Emerged::default();
        for line in log.lines() {
            if let Some(rest) = line.strip_prefix(">>> Emerging binary (") {
                emerged.binary.push(cpv(rest));
            } else if let Some(rest) = line.strip_prefix(">>> Emerging (") {
                emerged.source.push(cpv(rest));
            }
        }
        emerged
    }
}
