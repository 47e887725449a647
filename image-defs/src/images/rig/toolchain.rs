use super::RigBase;
use crate::{atom, image, Parent, Spec};

image! {
    /// The builder of the rig's service images: rig/base with the C++ runtime's owner, sys-devel/gcc
    /// (as on Gentoo, where it stays in the builder).
    pub RigToolchain = Spec {
        name: "rig/toolchain",
        parent: Parent::image(&RigBase),
        description: "rig: builder with sys-devel/gcc (libstdc++, libgcc_s)",
        packages: &[atom!("sys-devel/gcc")],
        ..Spec::DEFAULT
    };
}
