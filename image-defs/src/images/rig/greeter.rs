use super::RigHello;
use crate::{atom, Atom, Image, Parent};

/// `greeter`: a run-time dependency (libgreet) and a build-time one (buildtool). Third in its chain.
pub struct RigGreeter;

impl Image for RigGreeter {
    fn name(&self) -> &'static str {
        "rig/greeter"
    }
    fn parent(&self) -> Parent {
        Parent::image::<RigHello>()
    }
    fn description(&self) -> &'static str {
        "rig: app-misc/greeter (RDEPEND libgreet, BDEPEND buildtool)"
    }
    fn packages(&self) -> Vec<Atom<'static>> {
        vec![atom!("app-misc/greeter")]
    }
    fn entrypoint(&self) -> Option<Vec<&'static str>> {
        Some(vec!["/usr/bin/greeter"])
    }
    fn test(&self) -> Option<Vec<&'static str>> {
        Some(vec!["/usr/bin/greeter"])
    }
}
