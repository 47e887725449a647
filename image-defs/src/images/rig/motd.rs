use super::{RigBase, OVERLAY};
use crate::{atom, image, Parent, Spec};

image! {
    /// A package from the rig's overlay (`tests/rig/overlay`), beside one from `gentoo`.
    pub RigMotd = Spec {
        name: "rig/motd",
        parent: Parent::image(&RigBase),
        description: "rig: app-misc/motd from the overlay",
        repositories: &[OVERLAY],
        packages: &[atom!("app-misc/motd::overlay")],
        ..Spec::DEFAULT
    };
}
