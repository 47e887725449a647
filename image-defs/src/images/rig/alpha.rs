use super::RigBase;
use crate::{atom, Atom, Image, Parent};

/// A branch of its own beside `rig/hello`, for parallel builds.
pub struct RigAlpha;

impl Image for RigAlpha {
    fn name(&self) -> &'static str {
        "rig/alpha"
    }
    fn parent(&self) -> Parent {
        Parent::image::<RigBase>()
    }
    fn description(&self) -> &'static str {
        "rig: app-misc/alpha"
    }
    fn packages(&self) -> Vec<Atom<'static>> {
        vec![atom!("app-misc/alpha")]
    }
}
