use super::common::{NGINX_MODULES, NGINX_USE};
use super::GlibcBase;
use crate::{atom, copy_file, image, Action, Cleanup, Healthcheck, Layout, Parent, Port, Spec};

image! {
    /// nginx in a minimal image on glibc-base: no compiler, no portage, no python. acct-user/nginx
    /// makes its user; the cache folder is made for it.
    pub NginxMin = Spec {
        name: "nginx-min",
        parent: Parent::image(&GlibcBase),
        layout: Layout::Minimal,
        description: "nginx (stable branch), minimal",
        packages: &[atom!("www-servers/nginx:0")],
        package_use: &[NGINX_USE],
        make_conf: &[NGINX_MODULES],
        files: &[copy_file!("nginx/nginx.conf" => "/etc/nginx/nginx.conf")],
        actions: &[
            Action::Mkdir { path: "/var/cache/nginx", mode: 0o750, owner: "nginx:nginx" },
            Action::Mkdir { path: "/run/nginx", mode: 0o755, owner: "nginx:nginx" },
        ],
        healthcheck: Some(Healthcheck::new(&["/bin/busybox", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1/"])),
        ports: &[Port::tcp(80), Port::tcp(443)],
        stop_signal: Some("SIGQUIT"),
        entrypoint: Some(&["/usr/sbin/nginx", "-g", "daemon off;"]),
        cleanups: &Cleanup::ALL,
        test: Some(&["/usr/sbin/nginx", "-t"]),
        ..Spec::DEFAULT
    };
}
