use super::RigBase;
use crate::{atom, Atom, Cleanup, Image, Layout, Parent};

/// A minimal image on scratch holding a static busybox: the shell and tools of the minimal rig images.
/// Built in its parent, `rig/base`, which has portage.
pub struct RigBusybox;

impl Image for RigBusybox {
    fn name(&self) -> &'static str {
        "rig/busybox"
    }
    fn parent(&self) -> Parent {
        Parent::image::<RigBase>()
    }
    fn layout(&self) -> Layout {
        Layout::Minimal
    }
    fn description(&self) -> &'static str {
        "rig: minimal, static busybox on scratch"
    }
    fn packages(&self) -> Vec<Atom<'static>> {
        vec![atom!("sys-apps/busybox")]
    }
    fn env(&self) -> Vec<(&'static str, &'static str)> {
        vec![("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")]
    }
    fn cleanups(&self) -> Vec<Cleanup> {
        Cleanup::ALL.to_vec()
    }
    fn test(&self) -> Option<Vec<&'static str>> {
        Some(vec!["/bin/sh", "-c", "busybox true"])
    }
}
