use super::RigBusybox;
use crate::{atom, image, Cleanup, Layout, Parent, Spec};

image! {
    /// `greeter` as a minimal service: its run-time dependency (libgreet) and its user, but not its
    /// build-time dependency (buildtool), portage or python. On `rig/busybox`, built in `rig/base`.
    pub RigGreeterMin = Spec {
        name: "rig/greeter-min",
        parent: Parent::image(&RigBusybox),
        layout: Layout::Minimal,
        description: "rig: minimal app-misc/greeter run as user rig, without its package database",
        packages: &[atom!("app-misc/greeter"), atom!("acct-user/rig")],
        cleanups: &[Cleanup::Docs, Cleanup::ManPages, Cleanup::Headers, Cleanup::StaticLibraries, Cleanup::PackageDatabase],
        user: Some("rig"),
        entrypoint: Some(&["/usr/bin/greeter"]),
        test: Some(&["/usr/bin/greeter"]),
        ..Spec::DEFAULT
    };
}
