use super::Base;
use crate::{atom, image, package_use, Action, Parent, Spec, User};

image! {
    /// CPython 3.13 with pip.
    pub Python = Spec {
        name: "python",
        parent: Parent::image(&Base),
        description: "CPython 3.13 with pip",
        packages: &[atom!("dev-lang/python:3.13"), atom!("dev-python/pip")],
        package_use: &[package_use!("dev-lang/python:3.13" => "sqlite readline -tk -examples")],
        make_conf: &[("PYTHON_TARGETS", "python3_13"), ("PYTHON_SINGLE_TARGET", "python3_13")],
        // An account with fixed ids for the applications built on it (`user: Some("app")` there), so
        // volumes keep their owner across rebuilds.
        actions: &[
            Action::Group { name: "app", gid: 1000 },
            Action::User(User::new("app", 1000, 1000).home("/home/app").shell("/bin/sh")),
            Action::Mkdir { path: "/home/app", mode: 0o750, owner: "app:app" },
        ],
        env: &[("PYTHONDONTWRITEBYTECODE", "1")],
        cmd: Some(&["python3"]),
        test: Some(&["python3", "-c", "import sqlite3, ssl; print(ssl.OPENSSL_VERSION)"]),
        ..Spec::DEFAULT
    };
}
