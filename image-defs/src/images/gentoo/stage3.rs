use crate::images::gentoo::common::{COMPILER_FLAGS, STAGE3};
use crate::{use_flags, Image, Parent, UseList};

/// The official stage3 with the compiler flags and global USE every example shares.
pub struct Stage3;

impl Image for Stage3 {
    fn name(&self) -> &'static str {
        "stage3"
    }
    fn parent(&self) -> Parent {
        Parent::registry(STAGE3)
    }
    fn description(&self) -> &'static str {
        "Gentoo stage3 (amd64, OpenRC) with the shared compiler flags"
    }
    fn use_flags(&self) -> UseList<'static> {
        use_flags!("-X -gtk -qt5 -qt6 -wayland -doc")
    }
    fn make_conf(&self) -> Vec<(&'static str, &'static str)> {
        COMPILER_FLAGS.to_vec()
    }
    fn cmd(&self) -> Option<Vec<&'static str>> {
        Some(vec!["/bin/bash"])
    }
    fn test(&self) -> Option<Vec<&'static str>> {
        Some(vec!["emerge", "--info"])
    }
}
