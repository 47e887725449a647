use super::common::{COMPILER_FLAGS, STAGE3};
use crate::{image, use_flags, Parent, Spec};

image! {
    /// The official stage3 with the compiler flags and global USE every example shares.
    pub Stage3 = Spec {
        name: "stage3",
        parent: Parent::registry(STAGE3),
        description: "Gentoo stage3 (amd64, OpenRC) with the shared compiler flags",
        use_flags: use_flags!("-X -gtk -qt5 -qt6 -wayland -doc"),
        make_conf: &COMPILER_FLAGS,
        cmd: Some(&["/bin/bash"]),
        test: Some(&["emerge", "--info"]),
        ..Spec::DEFAULT
    };
}
