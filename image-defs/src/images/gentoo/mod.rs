//! Example images on the official Gentoo stage3: the documentation by example.
//!
//! Full images (what a builder or a development image wants):
//! `stage3` → `base` → {`python` (a user with fixed ids) → `ansible`, `go`, `openjdk`, `nginx`, `postgresql`}
//!
//! Minimal service images, built in `stage3`: scratch → `glibc-base` (locale, time zone, CA
//! certificates, busybox) → {`nginx-min` (health check, folders), `postgresql-min` (slot selected in
//! the builder, volume), `pdns-recursor-min` (C++: gcc's runtime libraries), `syslog-stdout` (from
//! kubler's overlay)}; and the musl variant: `stage3-musl` → `nginx-musl` (built in the musl stage3).

use crate::Image;

mod ansible;
mod base;
pub mod common;
mod glibc_base;
mod go;
mod nginx;
mod nginx_min;
mod nginx_musl;
mod openjdk;
mod pdns_recursor_min;
mod postgresql;
mod postgresql_min;
mod python;
mod stage3;
mod stage3_musl;
mod syslog_stdout;

pub use ansible::Ansible;
pub use base::Base;
pub use glibc_base::GlibcBase;
pub use go::Go;
pub use nginx::Nginx;
pub use nginx_min::NginxMin;
pub use nginx_musl::NginxMusl;
pub use openjdk::OpenJdk;
pub use pdns_recursor_min::PdnsRecursorMin;
pub use postgresql::PostgreSql;
pub use postgresql_min::PostgreSqlMin;
pub use python::Python;
pub use stage3::Stage3;
pub use stage3_musl::Stage3Musl;
pub use syslog_stdout::SyslogStdout;

pub fn all() -> Vec<&'static dyn Image> {
    vec![
        &Stage3,
        &Base,
        &Python,
        &Ansible,
        &Go,
        &OpenJdk,
        &Nginx,
        &PostgreSql,
        &GlibcBase,
        &NginxMin,
        &PostgreSqlMin,
        &PdnsRecursorMin,
        &SyslogStdout,
        &Stage3Musl,
        &NginxMusl,
    ]
}
