use super::RigBase;
use crate::{atom, image, Parent, Spec};

image! {
    /// A package whose newer version the repository masks (`profiles/package.mask`): emerge keeps to
    /// the older one.
    pub RigPinned = Spec {
        name: "rig/pinned",
        parent: Parent::image(&RigBase),
        description: "rig: app-misc/pinned, its masked newer version left out",
        packages: &[atom!("app-misc/pinned")],
        test: Some(&["test", "-f", "/usr/share/pinned/version"]),
        ..Spec::DEFAULT
    };
}
