use super::common::{COMPILER_FLAGS, STAGE3_MUSL};
use crate::{image, Parent, Spec};

image! {
    /// The official musl stage3 with the shared compiler flags: the builder of the musl images.
    /// Its binary packages never mix with the glibc ones (another root, another CHOST).
    pub Stage3Musl = Spec {
        name: "stage3-musl",
        parent: Parent::registry(STAGE3_MUSL),
        description: "Gentoo stage3 (amd64, musl, OpenRC) with the shared compiler flags",
        make_conf: &COMPILER_FLAGS,
        cmd: Some(&["/bin/sh"]),
        test: Some(&["emerge", "--info"]),
        ..Spec::DEFAULT
    };
}
