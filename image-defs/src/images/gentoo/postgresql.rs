use super::common::POSTGRESQL_USE;
use super::Base;
use crate::{atom, image, Parent, Port, Spec};

image! {
    /// A PostgreSQL 17 server.
    pub PostgreSql = Spec {
        name: "postgresql",
        parent: Parent::image(&Base),
        description: "PostgreSQL 17 server",
        packages: &[atom!("dev-db/postgresql:17")],
        package_use: &[POSTGRESQL_USE],
        env: &[
            ("PGDATA", "/var/lib/postgresql/17/data"),
            ("PATH", "/usr/lib64/postgresql-17/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
        ],
        ports: &[Port::tcp(5432)],
        user: Some("postgres"),
        cmd: Some(&["postgres"]),
        test: Some(&["postgres", "--version"]),
        ..Spec::DEFAULT
    };
}
