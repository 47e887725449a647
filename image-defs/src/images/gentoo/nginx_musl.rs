use super::common::{NGINX_MODULES, NGINX_USE};
use super::Stage3Musl;
use crate::{atom, copy_file, image, Cleanup, Layout, Parent, Port, Spec};

image! {
    /// nginx linked against musl: a minimal image on scratch, built in the musl stage3.
    pub NginxMusl = Spec {
        name: "nginx-musl",
        parent: Parent::image(&Stage3Musl),
        layout: Layout::Minimal,
        builder: Some(Parent::image(&Stage3Musl)),
        description: "nginx (stable branch), minimal, musl",
        packages: &[atom!("www-servers/nginx:0")],
        package_use: &[NGINX_USE],
        make_conf: &[NGINX_MODULES],
        files: &[copy_file!("nginx/nginx.conf" => "/etc/nginx/nginx.conf")],
        ports: &[Port::tcp(80)],
        entrypoint: Some(&["/usr/sbin/nginx", "-g", "daemon off;"]),
        cleanups: &Cleanup::ALL,
        test: Some(&["/usr/sbin/nginx", "-t"]),
        ..Spec::DEFAULT
    };
}
