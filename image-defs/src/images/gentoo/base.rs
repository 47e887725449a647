use super::Stage3;
use crate::{atom, image, package_use, Parent, Spec};

image! {
    /// OpenSSL and the CA bundle: what nearly every service image needs.
    pub Base = Spec {
        name: "base",
        parent: Parent::image(&Stage3),
        description: "OpenSSL and CA certificates",
        packages: &[atom!("dev-libs/openssl"), atom!("app-misc/ca-certificates")],
        package_use: &[package_use!("dev-libs/openssl" => "asm -static-libs -test")],
        env: &[("LANG", "C.UTF-8"), ("SSL_CERT_DIR", "/etc/ssl/certs")],
        test: Some(&["openssl", "version"]),
        ..Spec::DEFAULT
    };
}
