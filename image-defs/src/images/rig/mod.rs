//! Images on the offline test rig (a Debian root with portage from PyPI and the tiny ebuild
//! repository in `tests/rig/repo`). They live under the `rig/` name prefix, apart from the Gentoo
//! examples, and build on any machine without Gentoo or internet:
//!
//! rig root → `rig/base` → {`rig/hello` → `rig/greeter`, `rig/alpha`, `rig/beta`}
//!
//! and on `rig/base` the images of the repository's Gentoo behaviours: `rig/rigsay` and
//! `rig/rigsay-loud` (a C program compiled from a distfile fetched from a mirror and checked
//! against its Manifest), `rig/edge` (a `~amd64` package) and `rig/pinned` (a masked newer version);
//!
//! and the minimal images, built in `rig/base`: scratch → `rig/busybox` → `rig/greeter-min` →
//! `rig/hello-min`; and the service images, built in `rig/toolchain` (rig/base with gcc): scratch →
//! `rig/glibc-min` (actions: locale, time zone, account, folder, link, file) → `rig/cxx-min` (gcc's
//! runtime libraries, a health check, a volume); and `rig/motd`, from the rig's overlay (`::overlay`).

use crate::{Image, Repository};

mod alpha;
mod base;
mod beta;
mod busybox;
mod cxx_min;
mod edge;
mod glibc_min;
mod greeter;
mod greeter_min;
mod hello;
mod hello_min;
mod motd;
mod pinned;
mod rigsay;
mod rigsay_loud;
mod toolchain;

pub use alpha::RigAlpha;
pub use base::RigBase;
pub use beta::RigBeta;
pub use busybox::RigBusybox;
pub use cxx_min::RigCxxMin;
pub use edge::RigEdge;
pub use glibc_min::RigGlibcMin;
pub use greeter::RigGreeter;
pub use greeter_min::RigGreeterMin;
pub use hello::RigHello;
pub use hello_min::RigHelloMin;
pub use motd::RigMotd;
pub use pinned::RigPinned;
pub use rigsay::RigRigsay;
pub use rigsay_loud::RigRigsayLoud;
pub use toolchain::RigToolchain;

/// The rig's overlay: a second ebuild repository, `::overlay` (its `masters` is `gentoo`).
pub const OVERLAY: Repository = Repository::folder("overlay", "tests/rig/overlay").checked();

pub fn all() -> Vec<&'static dyn Image> {
    vec![
        &RigBase,
        &RigHello,
        &RigGreeter,
        &RigAlpha,
        &RigBeta,
        &RigBusybox,
        &RigGreeterMin,
        &RigHelloMin,
        &RigToolchain,
        &RigGlibcMin,
        &RigCxxMin,
        &RigRigsay,
        &RigRigsayLoud,
        &RigEdge,
        &RigPinned,
        &RigMotd,
    ]
}
