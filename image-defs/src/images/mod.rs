//! The image definitions: Gentoo examples under [`gentoo`], the offline test rig's images under
//! [`rig`]. Register a new image by adding it to [`all`].

use crate::Image;

pub mod gentoo;
pub mod rig;

/// Every image the driver knows about.
pub fn all() -> Vec<&'static dyn Image> {
    let mut images = gentoo::all();
    images.extend(rig::all());
    images
}
