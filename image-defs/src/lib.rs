//! The authoring API of buildah-gentoo and the image definitions.
//!
//! An image is a Rust type implementing [`Image`]: its parent, its packages (Gentoo atoms), USE flags,
//! keywords, masks, make.conf additions, container config and a post-build test. Atoms, USE flags and
//! keywords are checked by `const fn` parsers behind the [`atom!`], [`use_flag!`], [`keyword!`],
//! [`package_use!`] and [`accept_keywords!`] macros, so a typo fails `cargo build`.
//!
//! Catalyst releases (stage1 → stage3 builds) are [`Release`] values in [`releases`], checked by
//! the same kind of `const fn`s ([`subarch!`], [`profile!`], [`Release::checked`]).
//!
//! The driver (`xtask`) depends on this crate; this crate never depends on the driver.

pub mod atom;
mod const_text;
pub mod image;
pub mod images;
pub mod keyword;
pub mod package_config;
pub mod registry;
pub mod release;
pub mod releases;
pub mod repository;
pub mod use_flag;

pub use atom::{Atom, AtomError, Blocker, Operator, SlotOperator};
pub use image::{
    Action, Cleanup, CopyFile, Healthcheck, Image, Layout, Parent, ParentImage, Port, Protocol, Root, Spec, TypeRef,
    User,
};
pub use keyword::{Keyword, KeywordError};
pub use package_config::{KeywordList, PackageKeywords, PackageUse, UseList};
pub use registry::{Registry, RegistryError};
pub use release::{CatalystOption, Compression, Profile, Release, ReleaseError, Stage, Stages, Subarch};
pub use repository::{Repository, RepositoryFrom};
pub use use_flag::{FlagError, UseFlag};
