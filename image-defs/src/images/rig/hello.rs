use super::RigBase;
use crate::{atom, package_use, Atom, Image, PackageUse, Parent};

/// `hello`, with the USE flag that installs its extra file.
pub struct RigHello;

impl Image for RigHello {
    fn name(&self) -> &'static str {
        "rig/hello"
    }
    fn parent(&self) -> Parent {
        Parent::image::<RigBase>()
    }
    fn description(&self) -> &'static str {
        "rig: app-misc/hello with USE=extra"
    }
    fn packages(&self) -> Vec<Atom<'static>> {
        vec![atom!("app-misc/hello")]
    }
    fn package_use(&self) -> Vec<PackageUse> {
        vec![package_use!("app-misc/hello" => "extra")]
    }
    fn env(&self) -> Vec<(&'static str, &'static str)> {
        vec![("GREETING", "hello from the rig")]
    }
    fn test(&self) -> Option<Vec<&'static str>> {
        Some(vec!["hello"])
    }
}
