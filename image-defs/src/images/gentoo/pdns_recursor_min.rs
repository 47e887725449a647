use super::GlibcBase;
use crate::{atom, image, Action, Cleanup, Layout, Parent, Port, Spec};

image! {
    /// A C++ service in a minimal image: PowerDNS Recursor, with gcc's run-time libraries
    /// (libstdc++, libgcc_s) taken from the builder, where sys-devel/gcc stays.
    pub PdnsRecursorMin = Spec {
        name: "pdns-recursor-min",
        parent: Parent::image(&GlibcBase),
        layout: Layout::Minimal,
        description: "PowerDNS Recursor (C++), minimal, with gcc's runtime libraries",
        packages: &[atom!("net-dns/pdns-recursor")],
        actions: &[Action::RuntimeLibraries(atom!("sys-devel/gcc"))],
        ports: &[Port::udp(53), Port::tcp(53)],
        user: Some("pdns"),
        entrypoint: Some(&["/usr/sbin/pdns_recursor", "--daemon=no", "--disable-syslog"]),
        cleanups: &Cleanup::ALL,
        test: Some(&["/usr/sbin/pdns_recursor", "--version"]),
        ..Spec::DEFAULT
    };
}
