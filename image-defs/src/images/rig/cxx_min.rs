use super::RigGlibcMin;
use crate::{atom, image, Action, Healthcheck, Layout, Parent, Spec};

image! {
    /// A C++ program in a minimal image: its run-time libraries come from the builder's gcc.
    pub RigCxxMin = Spec {
        name: "rig/cxx-min",
        parent: Parent::image(&RigGlibcMin),
        layout: Layout::Minimal,
        description: "rig: minimal pzstd (C++) with gcc's runtime libraries, a health check and a volume",
        packages: &[atom!("app-arch/pzstd")],
        actions: &[Action::RuntimeLibraries(atom!("sys-devel/gcc"))],
        healthcheck: Some(Healthcheck { start_period: 5, ..Healthcheck::new(&["/usr/bin/pzstd", "--version"]) }),
        volumes: &["/srv/data"],
        stop_signal: Some("SIGQUIT"),
        user: Some("svc"),
        test: Some(&["/usr/bin/pzstd", "--version"]),
        ..Spec::DEFAULT
    };
}
