use super::Stage3;
use crate::{atom, package_use, Atom, Image, PackageUse, Parent};

/// OpenSSL and the CA bundle: what nearly every service image needs.
pub struct Base;

impl Image for Base {
    fn name(&self) -> &'static str {
        "base"
    }
    fn parent(&self) -> Parent {
        Parent::image::<Stage3>()
    }
    fn description(&self) -> &'static str {
        "OpenSSL and CA certificates"
    }
    fn packages(&self) -> Vec<Atom<'static>> {
        vec![atom!("dev-libs/openssl"), atom!("app-misc/ca-certificates")]
    }
    fn package_use(&self) -> Vec<PackageUse> {
        vec![package_use!("dev-libs/openssl" => "asm -static-libs -test")]
    }
    fn env(&self) -> Vec<(&'static str, &'static str)> {
        vec![("LANG", "C.UTF-8"), ("SSL_CERT_DIR", "/etc/ssl/certs")]
    }
    fn test(&self) -> Option<Vec<&'static str>> {
        Some(vec!["openssl", "version"])
    }
}
