use super::RigBase;
use crate::{atom, Atom, Image, Parent};

/// A branch of its own beside `rig/hello`, for parallel builds.
pub struct RigBeta;

impl Image for RigBeta {
    fn name(&self) -> &'static str {
        "rig/beta"
    }
    fn parent(&self) -> Parent {
        Parent::image::<RigBase>()
    }
    fn description(&self) -> &'static str {
        "rig: app-misc/beta"
    }
    fn packages(&self) -> Vec<Atom<'static>> {
        vec![atom!("app-misc/beta")]
    }
}
