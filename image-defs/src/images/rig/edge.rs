use super::RigBase;
use crate::{accept_keywords, atom, image, Parent, Spec};

image! {
    /// A package keyworded for the testing branch only (`~amd64`): the image accepts that keyword
    /// for it, as an image taking one package from `~arch` would.
    pub RigEdge = Spec {
        name: "rig/edge",
        parent: Parent::image(&RigBase),
        description: "rig: app-misc/edge from ~amd64",
        packages: &[atom!("app-misc/edge")],
        accept_keywords: &[accept_keywords!("app-misc/edge" => "~amd64")],
        test: Some(&["test", "-f", "/usr/share/edge/version"]),
        ..Spec::DEFAULT
    };
}
