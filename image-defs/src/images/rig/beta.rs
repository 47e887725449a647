use super::RigBase;
use crate::{atom, image, Parent, Spec};

image! {
    /// A branch of its own beside `rig/hello`, for parallel builds.
    pub RigBeta = Spec {
        name: "rig/beta",
        parent: Parent::image(&RigBase),
        description: "rig: app-misc/beta",
        packages: &[atom!("app-misc/beta")],
        ..Spec::DEFAULT
    };
}
