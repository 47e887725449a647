use super::Base;
use crate::{atom, image, package_use, Parent, Spec};

image! {
    /// CPython 3.13 with pip.
    pub Python = Spec {
        name: "python",
        parent: Parent::image(&Base),
        description: "CPython 3.13 with pip",
        packages: &[atom!("dev-lang/python:3.13"), atom!("dev-python/pip")],
        package_use: &[package_use!("dev-lang/python:3.13" => "sqlite readline -tk -examples")],
        make_conf: &[("PYTHON_TARGETS", "python3_13"), ("PYTHON_SINGLE_TARGET", "python3_13")],
        env: &[("PYTHONDONTWRITEBYTECODE", "1")],
        cmd: Some(&["python3"]),
        test: Some(&["python3", "-c", "import sqlite3, ssl; print(ssl.OPENSSL_VERSION)"]),
        ..Spec::DEFAULT
    };
}
