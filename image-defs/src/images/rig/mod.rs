//! Images on the offline test rig (a Debian root with portage from PyPI and the tiny ebuild
//! repository in `tests/rig/repo`). They live under the `rig/` name prefix, apart from the Gentoo
//! examples, and build on any machine without Gentoo or internet.

use crate::Image;

pub fn all() -> Vec<&'static dyn Image> {
    vec![]
}
