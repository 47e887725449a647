//! Figure 5: planning at scale. Synthetic images in a chain-and-fan graph (a chain of images, each
//! with a fan of leaf children) are registered and planned in process, as `plan` and `build` do.

use std::time::Duration;

use anyhow::Result;
use camino::Utf8Path;
use image_defs::{atom, Image, Parent, Registry, Root, Spec};

use super::stats::{self, Samples};
use crate::plan::{self, PlanInputs};
use crate::settings::Settings;

/// How many leaf children each image of the chain has.
pub const FAN: usize = 9;

/// A generated image: a name, a parent and one package (its spec made, checked and leaked at run
/// time, like the image itself).
struct Synthetic {
    spec: &'static Spec,
}

impl Synthetic {
    fn new(name: &'static str, parent: Parent) -> Synthetic {
        let spec = Spec {
            name,
            parent,
            packages: &[atom!("app-misc/hello")],
            labels: &[("org.opencontainers.image.description", "synthetic")],
            ..Spec::DEFAULT
        };
        Synthetic { spec: Box::leak(Box::new(spec.checked())) }
    }
}

impl Image for Synthetic {
    fn spec(&self) -> &'static Spec {
        self.spec
    }
}

/// `count` images: a chain `synthetic/chain-00000` (on the rig root) → `synthetic/chain-00001` → ...,
/// each followed by up to `fan` leaves `synthetic/chain-NNNNN-fan-J` until there are `count`. The
/// images are leaked: they live as long as the process, like the registered ones.
pub fn chain_and_fan(count: usize, fan: usize) -> Vec<&'static dyn Image> {
    let leak = |name: String| -> &'static str { Box::leak(name.into_boxed_str()) };
    let mut images: Vec<&'static dyn Image> = Vec::with_capacity(count);
    let mut previous: Option<&'static str> = None;
    let mut link = 0;
    while images.len() < count {
        let name = leak(format!("synthetic/chain-{link:05}"));
        let parent = previous.map_or(Parent::Root(Root::Rig), Parent::named);
        images.push(Box::leak(Box::new(Synthetic::new(name, parent))));
        for leaf in 0..fan {
            if images.len() == count {
                break;
            }
            let leaf = leak(format!("synthetic/chain-{link:05}-fan-{leaf}"));
            images.push(Box::leak(Box::new(Synthetic::new(leaf, Parent::named(name)))));
        }
        previous = Some(name);
        link += 1;
    }
    images
}

/// Registers `images` and plans all of them, in build order; returns how many were planned.
pub fn register_and_plan(images: &[&'static dyn Image]) -> Result<usize> {
    let registry = Registry::new(images.to_vec())?;
    let settings = Settings::defaults(Utf8Path::new("/var/cache/buildah-gentoo"));
    let inputs = PlanInputs {
        registry: &registry,
        settings: &settings,
        date_tag: "20260101".into(),
        rig_root: "localhost/buildah-gentoo/rig-root:bench".into(),
        tarballs: Default::default(),
        source_dates: crate::plan::SourceDates { rig: 0, repository: 0 },
        storage: Default::default(),
        repositories: Default::default(),
        copied_files: Default::default(),
        binhost_tls: Default::default(),
        force: true,
    };
    let ordered: Vec<&'static dyn Image> = registry.in_order().collect();
    let plan = plan::plan(&ordered, &inputs)?;
    Ok(plan.images.len())
}

/// Times planning `small` and `large` synthetic images, alternately, over `rounds` rounds.
pub fn measure(small: usize, large: usize, rounds: usize) -> Result<(Samples, Samples)> {
    let small_images = chain_and_fan(small, FAN);
    let large_images = chain_and_fan(large, FAN);
    let run = |images: &[&'static dyn Image]| -> Result<Duration> {
        let mut planned = 0;
        let time = stats::time(|| {
            planned = register_and_plan(images)?;
            Ok(())
        })?;
        anyhow::ensure!(planned == images.len(), "planned {planned} of {} images", images.len());
        Ok(time)
    };
    stats::alternate(rounds, |_| run(&small_images), |_| run(&large_images))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use image_defs::registry::ResolvedParent;

    use super::*;

    #[test]
    fn the_graph_is_a_chain_with_fans() {
        let images = chain_and_fan(25, 4);
        assert_eq!(images.len(), 25);
        let names: BTreeSet<&str> = images.iter().map(|image| image.name()).collect();
        assert_eq!(names.len(), 25, "unique names");
        let registry = Registry::new(images.clone()).expect("a valid registry");
        // 5 links of 1 + 4 leaves: the links are the images with children.
        let links: Vec<&str> =
            images.iter().filter(|image| registry.has_children(**image)).map(|image| image.name()).collect();
        let expected: Vec<String> = (0..5).map(|link| format!("synthetic/chain-{link:05}")).collect();
        assert_eq!(links, expected);
        let on_root: Vec<&str> = images
            .iter()
            .filter(|image| matches!(registry.parent_of(**image), ResolvedParent::Root(Root::Rig)))
            .map(|image| image.name())
            .collect();
        assert_eq!(on_root, ["synthetic/chain-00000"]);
        let leaves_of = |parent: &str| {
            images.iter().filter(|image| registry.parent_image(**image).map(|p| p.name()) == Some(parent)).count()
        };
        assert_eq!(leaves_of("synthetic/chain-00000"), 5, "4 leaves and the next link");
        assert_eq!(leaves_of("synthetic/chain-00004"), 4, "the last link has only its leaves");
        let last = registry.get("synthetic/chain-00004-fan-3").expect("the last leaf");
        assert_eq!(registry.with_ancestors(&[last.name()]).unwrap().len(), 6, "five links deep, plus itself");
        assert_eq!(registry.depth(last), 5);
        assert_eq!(registry.depth(images[0]), 0);
        assert_eq!(registry.root_of(last), Root::Rig);
    }

    #[test]
    fn a_count_that_ends_inside_a_fan_stops_there() {
        let images = chain_and_fan(12, 9);
        assert_eq!(images.len(), 12);
        assert_eq!(images[10].name(), "synthetic/chain-00001");
        assert_eq!(images[11].name(), "synthetic/chain-00001-fan-0");
    }

    #[test]
    fn every_synthetic_image_is_planned() {
        let images = chain_and_fan(50, FAN);
        assert_eq!(register_and_plan(&images).unwrap(), 50);
    }
}
