use super::Base;
use crate::{atom, copy_file, image, package_use, Parent, Port, Spec};

image! {
    /// nginx with HTTP/2 and a small module set, on the stable branch.
    pub Nginx = Spec {
        name: "nginx",
        parent: Parent::image(&Base),
        description: "nginx (stable branch) with HTTP/2",
        packages: &[atom!("www-servers/nginx:0")],
        package_use: &[package_use!("www-servers/nginx" => "http2 ssl threads pcre2 -http3 -debug")],
        masks: &[atom!(">=www-servers/nginx-1.29:mainline")],
        make_conf: &[("NGINX_MODULES_HTTP", "access gzip gunzip proxy rewrite realip stub_status headers_more")],
        files: &[copy_file!("nginx/nginx.conf" => "/etc/nginx/nginx.conf")],
        ports: &[Port::tcp(80), Port::tcp(443)],
        entrypoint: Some(&["/usr/sbin/nginx", "-g", "daemon off;"]),
        test: Some(&["/usr/sbin/nginx", "-t"]),
        ..Spec::DEFAULT
    };
}
