//! buildah-gentoo's driver: the planner (pure), the executor (the only code that spawns buildah)
//! and the commands of `cargo xtask`.

pub mod bench;
pub mod binhost;
pub mod build_context;
pub mod catalyst;
pub mod cli;
pub mod clock;
pub mod execute;
pub mod hash;
pub mod package_list;
pub mod pipeline;
pub mod plan;
pub mod prerequisites;
pub mod sbom;
pub mod settings;
pub mod workspace;
