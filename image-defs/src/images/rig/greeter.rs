use super::RigHello;
use crate::{atom, image, Parent, Spec};

image! {
    /// `greeter`: a run-time dependency (libgreet) and a build-time one (buildtool). Third in its chain.
    pub RigGreeter = Spec {
        name: "rig/greeter",
        parent: Parent::image(&RigHello),
        description: "rig: app-misc/greeter (RDEPEND libgreet, BDEPEND buildtool)",
        packages: &[atom!("app-misc/greeter")],
        entrypoint: Some(&["/usr/bin/greeter"]),
        test: Some(&["/usr/bin/greeter"]),
        ..Spec::DEFAULT
    };
}
