//! Example images on the official Gentoo stage3: the documentation by example.
//!
//! `stage3` → `base` → {`python` → `ansible`, `go`, `openjdk`, `nginx`, `postgresql`}

use crate::Image;

mod ansible;
mod base;
pub mod common;
mod go;
mod nginx;
mod openjdk;
mod postgresql;
mod python;
mod stage3;

pub use ansible::Ansible;
pub use base::Base;
pub use go::Go;
pub use nginx::Nginx;
pub use openjdk::OpenJdk;
pub use postgresql::PostgreSql;
pub use python::Python;
pub use stage3::Stage3;

pub fn all() -> Vec<&'static dyn Image> {
    vec![&Stage3, &Base, &Python, &Ansible, &Go, &OpenJdk, &Nginx, &PostgreSql]
}
