use super::common::KUBLER;
use super::GlibcBase;
use crate::{atom, image, Layout, Parent, Spec};

image! {
    /// A package from kubler's overlay: syslog-stdout forwards syslog messages to stdout.
    pub SyslogStdout = Spec {
        name: "syslog-stdout",
        parent: Parent::image(&GlibcBase),
        layout: Layout::Minimal,
        description: "syslog-stdout from the kubler overlay, minimal",
        repositories: &[KUBLER],
        packages: &[atom!("app-containers/syslog-stdout::kubler")],
        entrypoint: Some(&["/usr/bin/syslog-stdout"]),
        ..Spec::DEFAULT
    };
}
