use super::RigBase;
use crate::{atom, image, package_use, Parent, Spec};

image! {
    /// `hello`, with the USE flag that installs its extra file.
    pub RigHello = Spec {
        name: "rig/hello",
        parent: Parent::image(&RigBase),
        description: "rig: app-misc/hello with USE=extra",
        packages: &[atom!("app-misc/hello")],
        package_use: &[package_use!("app-misc/hello" => "extra")],
        env: &[("GREETING", "hello from the rig")],
        test: Some(&["hello"]),
        ..Spec::DEFAULT
    };
}
