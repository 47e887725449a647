//! Choices shared by the Gentoo example images, kept in one place.

use crate::{package_use, PackageUse, Repository};

/// The official stage3 the example tree starts from.
pub const STAGE3: &str = "docker.io/gentoo/stage3:amd64-openrc";

/// Compiler flags every example image builds with. Binary packages are only reused between
/// builders that agree on these.
pub const COMPILER_FLAGS: [(&str, &str); 4] = [
    ("COMMON_FLAGS", "-O2 -pipe -march=x86-64-v2"),
    ("CFLAGS", "${COMMON_FLAGS}"),
    ("CXXFLAGS", "${COMMON_FLAGS}"),
    ("FCFLAGS", "${COMMON_FLAGS}"),
];

/// The official musl stage3, root of the musl variants.
pub const STAGE3_MUSL: &str = "docker.io/gentoo/stage3:amd64-musl";

/// nginx's USE, the same for the full, minimal and musl images.
pub const NGINX_USE: PackageUse = package_use!("www-servers/nginx" => "http2 ssl threads pcre2 -http3 -debug");

/// nginx's HTTP modules (a make.conf variable).
pub const NGINX_MODULES: (&str, &str) =
    ("NGINX_MODULES_HTTP", "access gzip gunzip proxy rewrite realip stub_status headers_more");

/// PostgreSQL's USE, the same for the full and minimal images.
pub const POSTGRESQL_USE: PackageUse =
    package_use!("dev-db/postgresql:17" => "server ssl icu lz4 zstd -perl -python -tcl -ldap");

/// kubler's overlay (github.com/edannenberg/kubler-overlay), checked out on the build machine.
pub const KUBLER: Repository = Repository::folder("kubler", "/var/db/repos/kubler").checked();
