use super::RigGreeterMin;
use crate::{atom, image, package_use, Layout, Parent, Spec};

image! {
    /// A minimal child of a minimal image: `hello` on `rig/greeter-min`. It asks for libgreet too, which
    /// its parent already holds: package.provided keeps it out of this image's layer.
    pub RigHelloMin = Spec {
        name: "rig/hello-min",
        parent: Parent::image(&RigGreeterMin),
        layout: Layout::Minimal,
        description: "rig: minimal app-misc/hello with USE=extra on rig/greeter-min",
        packages: &[atom!("app-misc/hello"), atom!("dev-libs/libgreet")],
        package_use: &[package_use!("app-misc/hello" => "extra")],
        test: Some(&["hello"]),
        ..Spec::DEFAULT
    };
}
