use super::Base;
use crate::{accept_keywords, atom, Atom, Image, PackageKeywords, Parent};

/// The Go toolchain, following the testing branch for the newest release.
pub struct Go;

impl Image for Go {
    fn name(&self) -> &'static str {
        "go"
    }
    fn parent(&self) -> Parent {
        Parent::image::<Base>()
    }
    fn description(&self) -> &'static str {
        "The Go toolchain (testing keyword)"
    }
    fn packages(&self) -> Vec<Atom<'static>> {
        vec![atom!("dev-lang/go"), atom!("dev-vcs/git")]
    }
    fn accept_keywords(&self) -> Vec<PackageKeywords> {
        vec![accept_keywords!("dev-lang/go" => "~amd64")]
    }
    fn env(&self) -> Vec<(&'static str, &'static str)> {
        vec![("GOPATH", "/go"), ("GOFLAGS", "-trimpath")]
    }
    fn workdir(&self) -> Option<&'static str> {
        Some("/go")
    }
    fn test(&self) -> Option<Vec<&'static str>> {
        Some(vec!["go", "version"])
    }
}
