use super::Base;
use crate::{accept_keywords, atom, image, Parent, Spec};

image! {
    /// The Go toolchain, following the testing branch for the newest release.
    pub Go = Spec {
        name: "go",
        parent: Parent::image(&Base),
        description: "The Go toolchain (testing keyword)",
        packages: &[atom!("dev-lang/go"), atom!("dev-vcs/git")],
        accept_keywords: &[accept_keywords!("dev-lang/go" => "~amd64")],
        env: &[("GOPATH", "/go"), ("GOFLAGS", "-trimpath")],
        workdir: Some("/go"),
        test: Some(&["go", "version"]),
        ..Spec::DEFAULT
    };
}
