use crate::{atom, Atom, Image, Parent, Root};

/// The rig's base: a library the other rig images build on.
pub struct RigBase;

impl Image for RigBase {
    fn name(&self) -> &'static str {
        "rig/base"
    }
    fn parent(&self) -> Parent {
        Parent::Root(Root::Rig)
    }
    fn description(&self) -> &'static str {
        "rig: libgreet on the rig root"
    }
    fn packages(&self) -> Vec<Atom<'static>> {
        vec![atom!("dev-libs/libgreet")]
    }
    fn labels(&self) -> Vec<(&'static str, &'static str)> {
        vec![("org.opencontainers.image.description", "buildah-gentoo test rig base")]
    }
    fn test(&self) -> Option<Vec<&'static str>> {
        Some(vec!["test", "-f", "/usr/share/libgreet/greeting"])
    }
}
