use super::Base;
use crate::{atom, package_use, Atom, Image, PackageUse, Parent};

/// CPython 3.13 with pip.
pub struct Python;

impl Image for Python {
    fn name(&self) -> &'static str {
        "python"
    }
    fn parent(&self) -> Parent {
        Parent::image::<Base>()
    }
    fn description(&self) -> &'static str {
        "CPython 3.13 with pip"
    }
    fn packages(&self) -> Vec<Atom<'static>> {
        vec![atom!("dev-lang/python:3.13"), atom!("dev-python/pip")]
    }
    fn package_use(&self) -> Vec<PackageUse> {
        vec![package_use!("dev-lang/python:3.13" => "sqlite readline -tk -examples")]
    }
    fn make_conf(&self) -> Vec<(&'static str, &'static str)> {
        vec![("PYTHON_TARGETS", "python3_13"), ("PYTHON_SINGLE_TARGET", "python3_13")]
    }
    fn env(&self) -> Vec<(&'static str, &'static str)> {
        vec![("PYTHONDONTWRITEBYTECODE", "1")]
    }
    fn cmd(&self) -> Option<Vec<&'static str>> {
        Some(vec!["python3"])
    }
    fn test(&self) -> Option<Vec<&'static str>> {
        Some(vec!["python3", "-c", "import sqlite3, ssl; print(ssl.OPENSSL_VERSION)"])
    }
}
