//! The catalyst releases: stage1 → stage3 builds that `cargo xtask catalyst` turns into catalyst
//! spec files, runs, and imports as root images. Register a new release by adding it to [`all`].

use crate::release::Release;

mod amd64_hardened;
mod amd64_openrc;

pub use amd64_hardened::AMD64_HARDENED;
pub use amd64_openrc::AMD64_OPENRC;

/// The ebuild repository commit the example releases are built from. Pin the commit your catalyst
/// repository has (`catalyst -s stable` prints it and names the snapshot after it).
pub const SNAPSHOT: &str = "da31ee840e7887feb345ce81fb714853c2fc940c";

/// Every release the driver knows about, in the order `cargo xtask catalyst` builds them.
pub fn all() -> Vec<&'static Release> {
    vec![&AMD64_OPENRC, &AMD64_HARDENED]
}

/// The release called `name`.
pub fn get(name: &str) -> Option<&'static Release> {
    all().into_iter().find(|release| release.name == name)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    #[test]
    fn names_are_unique_and_every_release_is_valid() {
        let mut names = BTreeSet::new();
        for release in super::all() {
            assert!(names.insert(release.name), "two releases are called `{}`", release.name);
            assert_eq!(release.validate(), Ok(()), "{}", release.name);
        }
        assert_eq!(super::get("amd64-hardened").map(|r| r.rel_type), Some("23.0-hardened"));
        assert!(super::get("amd64").is_none());
    }
}
