use super::Stage3;
use crate::{atom, image, package_use, Action, Cleanup, Layout, Parent, Spec};

image! {
    /// The minimal root of the service images: glibc, time zones, CA certificates and a static
    /// busybox (a shell and `wget` for health checks), with a locale and the time zone set. Built in
    /// the stage3, which stays the builder of every minimal image on it.
    pub GlibcBase = Spec {
        name: "glibc-base",
        parent: Parent::image(&Stage3),
        layout: Layout::Minimal,
        description: "minimal glibc root: en_US.UTF-8, UTC, CA certificates, busybox",
        packages: &[
            atom!("sys-libs/glibc"),
            atom!("sys-libs/timezone-data"),
            atom!("app-misc/ca-certificates"),
            atom!("sys-apps/busybox"),
        ],
        package_use: &[package_use!("sys-apps/busybox" => "static -pam")],
        actions: &[Action::Locale { locale: "en_US", charset: "UTF-8" }, Action::Timezone("UTC")],
        env: &[("LANG", "en_US.utf8"), ("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")],
        cleanups: &Cleanup::ALL,
        test: Some(&["/bin/busybox", "true"]),
        ..Spec::DEFAULT
    };
}
