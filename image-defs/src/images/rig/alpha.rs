use super::RigBase;
use crate::{atom, image, Parent, Spec};

image! {
    /// A branch of its own beside `rig/hello`, for parallel builds.
    pub RigAlpha = Spec {
        name: "rig/alpha",
        parent: Parent::image(&RigBase),
        description: "rig: app-misc/alpha",
        packages: &[atom!("app-misc/alpha")],
        ..Spec::DEFAULT
    };
}
