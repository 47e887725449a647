use super::RigBase;
use crate::{atom, image, Parent, Spec};

image! {
    /// `rigsay`, compiled from its source tarball: emerge fetches the distfile from a mirror (the
    /// settings' `gentoo-mirrors`, else the rig's own), checks it against the Manifest and builds it
    /// with the rig root's gcc through the repository's `rig-cc` eclass.
    pub RigRigsay = Spec {
        name: "rig/rigsay",
        parent: Parent::image(&RigBase),
        description: "rig: app-misc/rigsay, compiled from a fetched source tarball",
        packages: &[atom!("app-misc/rigsay")],
        test: Some(&["rigsay"]),
        ..Spec::DEFAULT
    };
}
