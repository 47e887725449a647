use super::common::{NGINX_MODULES, NGINX_USE};
use super::Base;
use crate::{atom, copy_file, image, Parent, Port, Spec};

image! {
    /// nginx with HTTP/2 and a small module set, on the stable branch.
    pub Nginx = Spec {
        name: "nginx",
        parent: Parent::image(&Base),
        description: "nginx (stable branch) with HTTP/2",
        packages: &[atom!("www-servers/nginx:0")],
        package_use: &[NGINX_USE],
        masks: &[atom!(">=www-servers/nginx-1.29:mainline")],
        make_conf: &[NGINX_MODULES],
        files: &[copy_file!("nginx/nginx.conf" => "/etc/nginx/nginx.conf")],
        ports: &[Port::tcp(80), Port::tcp(443)],
        entrypoint: Some(&["/usr/sbin/nginx", "-g", "daemon off;"]),
        test: Some(&["/usr/sbin/nginx", "-t"]),
        ..Spec::DEFAULT
    };
}
