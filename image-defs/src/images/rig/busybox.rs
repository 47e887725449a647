use super::RigBase;
use crate::{atom, image, Cleanup, Layout, Parent, Spec};

image! {
    /// A minimal image on scratch holding a static busybox: the shell and tools of the minimal rig images.
    /// Built in its parent, `rig/base`, which has portage.
    pub RigBusybox = Spec {
        name: "rig/busybox",
        parent: Parent::image(&RigBase),
        layout: Layout::Minimal,
        description: "rig: minimal, static busybox on scratch",
        packages: &[atom!("sys-apps/busybox")],
        env: &[("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")],
        cleanups: &Cleanup::ALL,
        test: Some(&["/bin/sh", "-c", "busybox true"]),
        ..Spec::DEFAULT
    };
}
