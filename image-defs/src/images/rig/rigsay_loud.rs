use super::RigBase;
use crate::{atom, image, package_use, Parent, Spec};

image! {
    /// `rigsay` with USE=loud: the same distfile as `rig/rigsay`, compiled again with other flags
    /// (its binary package does not match this USE).
    pub RigRigsayLoud = Spec {
        name: "rig/rigsay-loud",
        parent: Parent::image(&RigBase),
        description: "rig: app-misc/rigsay with USE=loud",
        packages: &[atom!("app-misc/rigsay")],
        package_use: &[package_use!("app-misc/rigsay" => "loud")],
        test: Some(&["rigsay"]),
        ..Spec::DEFAULT
    };
}
