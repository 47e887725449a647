//! Images on the offline test rig (a Debian root with portage from PyPI and the tiny ebuild
//! repository in `tests/rig/repo`). They live under the `rig/` name prefix, apart from the Gentoo
//! examples, and build on any machine without Gentoo or internet:
//!
//! rig root → `rig/base` → {`rig/hello` → `rig/greeter`, `rig/alpha`, `rig/beta`}

use crate::Image;

mod alpha;
mod base;
mod beta;
mod greeter;
mod hello;

pub use alpha::RigAlpha;
pub use base::RigBase;
pub use beta::RigBeta;
pub use greeter::RigGreeter;
pub use hello::RigHello;

pub fn all() -> Vec<&'static dyn Image> {
    vec![&RigBase, &RigHello, &RigGreeter, &RigAlpha, &RigBeta]
}
