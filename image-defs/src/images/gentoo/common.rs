//! Choices shared by the Gentoo example images, kept in one place.

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
