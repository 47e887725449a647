use super::RigToolchain;
use crate::{atom, image, Action, Layout, Parent, Spec, User};

image! {
    /// A minimal glibc root for services, built in rig/toolchain: the C library, time zones and a
    /// busybox shell, with an account, a locale, a time zone and a data folder made by actions.
    pub RigGlibcMin = Spec {
        name: "rig/glibc-min",
        parent: Parent::image(&RigToolchain),
        layout: Layout::Minimal,
        description: "rig: minimal glibc, locale en_US.utf8, Europe/Berlin, user svc (4001)",
        packages: &[atom!("sys-libs/glibc"), atom!("sys-libs/timezone-data"), atom!("sys-apps/busybox")],
        actions: &[
            Action::Locale { locale: "en_US", charset: "UTF-8" },
            Action::Timezone("Europe/Berlin"),
            Action::Group { name: "svc", gid: 4001 },
            Action::User(User::new("svc", 4001, 4001).home("/srv/data").shell("/bin/sh")),
            Action::Mkdir { path: "/srv/data", mode: 0o750, owner: "svc:svc" },
            Action::Symlink { path: "/srv/current", target: "data" },
            Action::WriteFile { path: "/etc/svc/svc.conf", contents: "listen = 0.0.0.0:8080", mode: 0o640 },
            Action::RunInBuilder(&["sh", "-c", "printf '%s\\n' \"$ROOT\" > \"$ROOT/etc/builder-root\""]),
            Action::RunInImage(&["/bin/sh", "-c", "id -u svc > /etc/svc/uid"]),
        ],
        env: &[("LANG", "en_US.utf8"), ("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")],
        test: Some(&["/bin/sh", "-c", "id svc"]),
        ..Spec::DEFAULT
    };
}
