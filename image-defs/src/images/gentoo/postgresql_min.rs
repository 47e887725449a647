use super::common::POSTGRESQL_USE;
use super::GlibcBase;
use crate::{atom, image, Action, Cleanup, Healthcheck, Layout, Parent, Port, Spec};

image! {
    /// A PostgreSQL 17 server in a minimal image: the slot is selected by eselect in the builder
    /// (on the new root), acct-user/postgres makes the user, the data folder is a volume.
    pub PostgreSqlMin = Spec {
        name: "postgresql-min",
        parent: Parent::image(&GlibcBase),
        layout: Layout::Minimal,
        description: "PostgreSQL 17 server, minimal",
        packages: &[atom!("dev-db/postgresql:17")],
        package_use: &[POSTGRESQL_USE],
        actions: &[
            Action::RunInBuilder(&["eselect", "postgresql", "set", "17"]),
            Action::Mkdir { path: "/var/lib/postgresql/17/data", mode: 0o700, owner: "postgres:postgres" },
            Action::Mkdir { path: "/run/postgresql", mode: 0o2775, owner: "postgres:postgres" },
        ],
        env: &[("PGDATA", "/var/lib/postgresql/17/data"), ("PATH", "/usr/lib64/postgresql-17/bin:/usr/bin:/bin")],
        volumes: &["/var/lib/postgresql/17/data"],
        healthcheck: Some(Healthcheck::new(&["pg_isready", "-h", "/run/postgresql"])),
        ports: &[Port::tcp(5432)],
        stop_signal: Some("SIGINT"),
        user: Some("postgres"),
        cmd: Some(&["postgres"]),
        cleanups: &Cleanup::ALL,
        test: Some(&["postgres", "--version"]),
        ..Spec::DEFAULT
    };
}
