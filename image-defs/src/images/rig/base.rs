use crate::{atom, image, Parent, Root, Spec};

image! {
    /// The rig's base: a library the other rig images build on.
    pub RigBase = Spec {
        name: "rig/base",
        parent: Parent::Root(Root::Rig),
        description: "rig: libgreet on the rig root",
        packages: &[atom!("dev-libs/libgreet")],
        labels: &[("org.opencontainers.image.description", "buildah-gentoo test rig base")],
        test: Some(&["test", "-f", "/usr/share/libgreet/greeting"]),
        ..Spec::DEFAULT
    };
}
