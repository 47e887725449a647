use super::RigGreeterMin;
use crate::{atom, package_use, Atom, Image, Layout, PackageUse, Parent};

/// A minimal child of a minimal image: `hello` on `rig/greeter-min`. It asks for libgreet too, which
/// its parent already holds: package.provided keeps it out of this image's layer.
pub struct RigHelloMin;

impl Image for RigHelloMin {
    fn name(&self) -> &'static str {
        "rig/hello-min"
    }
    fn parent(&self) -> Parent {
        Parent::image::<RigGreeterMin>()
    }
    fn layout(&self) -> Layout {
        Layout::Minimal
    }
    fn description(&self) -> &'static str {
        "rig: minimal app-misc/hello with USE=extra on rig/greeter-min"
    }
    fn packages(&self) -> Vec<Atom<'static>> {
        vec![atom!("app-misc/hello"), atom!("dev-libs/libgreet")]
    }
    fn package_use(&self) -> Vec<PackageUse> {
        vec![package_use!("app-misc/hello" => "extra")]
    }
    fn test(&self) -> Option<Vec<&'static str>> {
        Some(vec!["hello"])
    }
}
