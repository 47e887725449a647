use super::Base;
use crate::{atom, copy_file, package_use, Atom, CopyFile, Image, PackageUse, Parent, Port};

/// nginx with HTTP/2 and a small module set, on the stable branch.
pub struct Nginx;

impl Image for Nginx {
    fn name(&self) -> &'static str {
        "nginx"
    }
    fn parent(&self) -> Parent {
        Parent::image::<Base>()
    }
    fn description(&self) -> &'static str {
        "nginx (stable branch) with HTTP/2"
    }
    fn packages(&self) -> Vec<Atom<'static>> {
        vec![atom!("www-servers/nginx:0")]
    }
    fn package_use(&self) -> Vec<PackageUse> {
        vec![package_use!("www-servers/nginx" => "http2 ssl threads pcre2 -http3 -debug")]
    }
    fn masks(&self) -> Vec<Atom<'static>> {
        vec![atom!(">=www-servers/nginx-1.29:mainline")]
    }
    fn make_conf(&self) -> Vec<(&'static str, &'static str)> {
        vec![("NGINX_MODULES_HTTP", "access gzip gunzip proxy rewrite realip stub_status headers_more")]
    }
    fn files(&self) -> Vec<CopyFile> {
        vec![copy_file!("nginx/nginx.conf" => "/etc/nginx/nginx.conf")]
    }
    fn ports(&self) -> Vec<Port> {
        vec![Port::tcp(80), Port::tcp(443)]
    }
    fn entrypoint(&self) -> Option<Vec<&'static str>> {
        Some(vec!["/usr/sbin/nginx", "-g", "daemon off;"])
    }
    fn test(&self) -> Option<Vec<&'static str>> {
        Some(vec!["/usr/sbin/nginx", "-t"])
    }
}
