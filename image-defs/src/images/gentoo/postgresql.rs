use super::Base;
use crate::{atom, package_use, Atom, Image, PackageUse, Parent, Port};

/// A PostgreSQL 17 server.
pub struct PostgreSql;

impl Image for PostgreSql {
    fn name(&self) -> &'static str {
        "postgresql"
    }
    fn parent(&self) -> Parent {
        Parent::image::<Base>()
    }
    fn description(&self) -> &'static str {
        "PostgreSQL 17 server"
    }
    fn packages(&self) -> Vec<Atom<'static>> {
        vec![atom!("dev-db/postgresql:17")]
    }
    fn package_use(&self) -> Vec<PackageUse> {
        vec![package_use!("dev-db/postgresql:17" => "server ssl icu lz4 zstd -perl -python -tcl -ldap")]
    }
    fn env(&self) -> Vec<(&'static str, &'static str)> {
        vec![
            ("PGDATA", "/var/lib/postgresql/17/data"),
            ("PATH", "/usr/lib64/postgresql-17/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
        ]
    }
    fn ports(&self) -> Vec<Port> {
        vec![Port::tcp(5432)]
    }
    fn user(&self) -> Option<&'static str> {
        Some("postgres")
    }
    fn cmd(&self) -> Option<Vec<&'static str>> {
        Some(vec!["postgres"])
    }
    fn test(&self) -> Option<Vec<&'static str>> {
        Some(vec!["postgres", "--version"])
    }
}
