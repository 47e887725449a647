use super::RigBusybox;
use crate::{atom, Atom, Cleanup, Image, Layout, Parent};

/// `greeter` as a minimal service: its run-time dependency (libgreet) and its user, but not its
/// build-time dependency (buildtool), portage or python. On `rig/busybox`, built in `rig/base`.
pub struct RigGreeterMin;

impl Image for RigGreeterMin {
    fn name(&self) -> &'static str {
        "rig/greeter-min"
    }
    fn parent(&self) -> Parent {
        Parent::image::<RigBusybox>()
    }
    fn layout(&self) -> Layout {
        Layout::Minimal
    }
    fn description(&self) -> &'static str {
        "rig: minimal app-misc/greeter run as user rig, without its package database"
    }
    fn packages(&self) -> Vec<Atom<'static>> {
        vec![atom!("app-misc/greeter"), atom!("acct-user/rig")]
    }
    fn cleanups(&self) -> Vec<Cleanup> {
        vec![Cleanup::Docs, Cleanup::ManPages, Cleanup::Headers, Cleanup::StaticLibraries, Cleanup::PackageDatabase]
    }
    fn user(&self) -> Option<&'static str> {
        Some("rig")
    }
    fn entrypoint(&self) -> Option<Vec<&'static str>> {
        Some(vec!["/usr/bin/greeter"])
    }
    fn test(&self) -> Option<Vec<&'static str>> {
        Some(vec!["/usr/bin/greeter"])
    }
}
