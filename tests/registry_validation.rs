//! The registry refuses broken image sets before anything runs, naming the images involved.

use image_defs::registry::ResolvedParent;
use image_defs::{Cleanup, Image, Layout, Parent, Registry, Root, Spec};

macro_rules! image {
    ($type:ident, $name:literal, $parent:expr) => {
        image_defs::image! { $type = Spec { name: $name, parent: $parent, ..Spec::DEFAULT }; }
    };
}

image!(Root1, "root1", Parent::registry("docker.io/gentoo/stage3:latest"));
image!(Child, "child", Parent::image(&Root1));
image!(ChildAgain, "child", Parent::named("root1"));
image!(Orphan, "orphan", Parent::named("nowhere"));
image!(Unregistered, "unregistered", Parent::named("root1"));
image!(OrphanByType, "orphan-by-type", Parent::image(&Unregistered));
image!(CycleA, "cycle-a", Parent::named("cycle-b"));
image!(CycleB, "cycle-b", Parent::named("cycle-c"));
image!(CycleC, "cycle-c", Parent::image(&CycleA));

/// A minimal image: `$builder` is `None` or `Some(parent)`, then more fields of its spec.
macro_rules! minimal {
    ($type:ident, $name:literal, $parent:expr, $builder:expr $(, $field:ident: $value:expr)*) => {
        image_defs::image! {
            $type = Spec {
                name: $name,
                parent: $parent,
                layout: Layout::Minimal,
                builder: $builder,
                $($field: $value,)*
                ..Spec::DEFAULT
            };
        }
    };
}

image!(Tools, "tools", Parent::named("root1"));
minimal!(MinOnFull, "min-on-full", Parent::named("child"), None);
minimal!(MinOnMin, "min-on-min", Parent::named("min-on-full"), None);
minimal!(MinOnMinOnMin, "min-on-min-on-min", Parent::named("min-on-min"), None);
minimal!(MinWithBuilder, "min-with-builder", Parent::named("min-on-full"), Some(Parent::named("tools")));
minimal!(MinOnRoot, "min-on-root", Parent::Root(Root::Rig), None);
minimal!(MinOnBuilt, "min-on-built", Parent::named("min-with-builder"), None);
image!(FullOnMin, "full-on-min", Parent::named("min-on-full"));
minimal!(MinBuiltInMin, "min-built-in-min", Parent::named("child"), Some(Parent::named("min-on-full")));
minimal!(MinMissingBuilder, "min-missing-builder", Parent::named("child"), Some(Parent::named("nowhere")));
minimal!(MinDepclean, "min-depclean", Parent::named("child"), None, depclean: Some(true));
image!(RigTools, "rig-tools", Parent::Root(Root::Rig));
// Children of `min-on-full` (built in `child`, on root1's stage3) stating builders on another root.
minimal!(MinOnMinInRigImage, "min-on-min-in-rig-image", Parent::named("min-on-full"), Some(Parent::named("rig-tools")));
minimal!(MinOnMinInRigRoot, "min-on-min-in-rig-root", Parent::named("min-on-full"), Some(Parent::Root(Root::Rig)));
// States the root of its parent's builder directly: the same root, accepted.
minimal!(
    MinOnMinInStage3,
    "min-on-min-in-stage3",
    Parent::named("min-on-full"),
    Some(Parent::registry("docker.io/gentoo/stage3:latest"))
);
image_defs::image! {
    FullBuilder = Spec {
        name: "full-builder",
        parent: Parent::named("root1"),
        builder: Some(Parent::named("child")),
        cleanups: &[Cleanup::PackageDatabase],
        ..Spec::DEFAULT
    };
}

fn problems(images: Vec<&'static dyn Image>) -> Vec<String> {
    match Registry::new(images) {
        Ok(_) => panic!("expected the registry to be refused"),
        Err(error) => error.problems,
    }
}

#[test]
fn a_valid_tree_is_ordered_parents_first() {
    let registry = Registry::new(vec![&Child, &Root1]).unwrap();
    let names: Vec<&str> = registry.in_order().map(|image| image.name()).collect();
    assert_eq!(names, ["root1", "child"]);
}

#[test]
fn duplicate_names_name_both_types() {
    let problems = problems(vec![&Root1, &Child, &ChildAgain]);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].starts_with("image name `child` is used twice: by `"), "{}", problems[0]);
    assert!(problems[0].contains("::Child`") && problems[0].contains("::ChildAgain`"), "{}", problems[0]);
}

#[test]
fn a_missing_parent_is_named_by_name_and_by_type() {
    let problems = problems(vec![&Root1, &Orphan, &OrphanByType]);
    assert_eq!(problems[0], "image `orphan` has parent `nowhere`, which is not a registered image",);
    assert!(
        problems[1].starts_with("image `orphan-by-type` has parent type `")
            && problems[1].ends_with("::Unregistered`, which is not registered (add it to image_defs::images::all)"),
        "{}",
        problems[1]
    );
}

#[test]
fn a_cycle_lists_its_members_in_order() {
    let problems = problems(vec![&Root1, &CycleA, &CycleB, &CycleC]);
    assert_eq!(problems, ["parent cycle: `cycle-a` -> `cycle-b` -> `cycle-c` -> `cycle-a`"]);
}

/// What the registry no longer checks at run time is checked by `Spec::checked`, which `image!` runs at
/// compile time (tests/compile_fail.rs); run at run time, it panics with the same message.
#[test]
fn names_must_be_oci_repository_paths() {
    for (name, expected) in [("Bad_Name", "Bad_Name"), ("rig//x", "rig//x"), ("", "")] {
        let spec = Spec { name, ..Spec::DEFAULT };
        let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| spec.checked())).expect_err(name);
        let message = panic.downcast_ref::<String>().unwrap();
        assert!(
            message.starts_with(&format!(
                "image `{expected}`: invalid name `{expected}`: expected an OCI repository path"
            )),
            "{message}"
        );
    }
}

#[test]
fn the_example_images_are_valid() {
    let registry = Registry::global().unwrap_or_else(|e| panic!("{e}"));
    assert!(registry.get("nginx").is_some());
    let error = registry.lookup("ngnix").err().expect("no such image");
    assert_eq!((error.name.as_str(), error.known.first().copied()), ("ngnix", Some("stage3")));
    assert!(error.to_string().starts_with("no image named `ngnix`; known images: stage3, "), "{error}");
}

#[test]
fn minimal_images_find_their_builder_and_minimal_parent() {
    let registry = Registry::new(vec![
        &MinOnMinOnMin,
        &MinOnMin,
        &MinOnFull,
        &MinWithBuilder,
        &MinOnBuilt,
        &MinOnRoot,
        &Child,
        &Root1,
        &Tools,
    ])
    .unwrap_or_else(|e| panic!("{e}"));
    let name = |image: Option<&'static dyn Image>| image.map(|image| image.name());
    let builder = |image: &dyn Image| name(registry.builder_image(image));
    // On a full parent: built in the parent, on scratch.
    assert_eq!(builder(&MinOnFull), Some("child"));
    assert_eq!(name(registry.minimal_parent(&MinOnFull)), None);
    // On minimal parents: the new root starts from the parent, the builder is the nearest full ancestor.
    assert_eq!(builder(&MinOnMin), Some("child"));
    assert_eq!(name(registry.minimal_parent(&MinOnMin)), Some("min-on-full"));
    assert_eq!(builder(&MinOnMinOnMin), Some("child"));
    assert_eq!(name(registry.minimal_parent(&MinOnMinOnMin)), Some("min-on-min"));
    // An explicit builder wins, and the minimal children inherit it.
    assert_eq!(builder(&MinWithBuilder), Some("tools"));
    assert_eq!(builder(&MinOnBuilt), Some("tools"));
    // On a root: built in the root.
    assert_eq!(registry.builder_of(&MinOnRoot), Some(ResolvedParent::Root(Root::Rig)));
    assert_eq!(registry.root_of(&MinOnRoot), Root::Rig);
    // Full images have neither.
    assert_eq!(registry.builder_of(&Child), None);
    assert_eq!(name(registry.minimal_parent(&Child)), None);

    // Builders are dependencies: built before, included with --deps, and not leaves.
    let names: Vec<&str> = registry.in_order().map(|image| image.name()).collect();
    let position = |name: &str| names.iter().position(|n| *n == name).unwrap();
    assert!(position("tools") < position("min-with-builder"), "{names:?}");
    let deps: Vec<&str> =
        registry.with_ancestors(&["min-on-built"]).unwrap().iter().map(|image| image.name()).collect();
    assert_eq!(deps, ["root1", "child", "min-on-full", "tools", "min-with-builder", "min-on-built"]);
    assert!(registry.has_children(&Tools));
    let dependencies: Vec<&str> = registry.dependencies(&MinWithBuilder).iter().map(|image| image.name()).collect();
    assert_eq!(dependencies, ["min-on-full", "tools"]);
}

#[test]
fn layouts_that_cannot_build_are_refused_with_the_fix() {
    let found = problems(vec![&Root1, &Child, &MinOnFull, &FullOnMin, &MinBuiltInMin, &MinDepclean, &FullBuilder]);
    assert_eq!(
        found,
        [
            "image `full-on-min` is full but its parent `min-on-full` is minimal (no portage to emerge with): \
             make `full-on-min` minimal too (`fn layout(&self) -> Layout { Layout::Minimal }`)",
            "image `min-built-in-min` has builder `min-on-full`, which is minimal: a builder needs portage \
             (use a full image or a root)",
            "image `min-depclean` is minimal and asks for depclean: build-time dependencies of a minimal image \
             stay in its builder, there is nothing to depclean (drop `fn depclean`)",
            "image `full-builder` declares a builder but is not minimal: only `Layout::Minimal` images are built \
             in a builder",
            "image `full-builder` is full and drops its package database: portage in it (and in every image \
             built on it) needs /var/db/pkg; `Cleanup::PackageDatabase` is for minimal images",
        ]
    );
    let found = problems(vec![&Root1, &Child, &MinMissingBuilder]);
    assert_eq!(found, ["image `min-missing-builder` has builder `nowhere`, which is not a registered image"]);
}

#[test]
fn a_minimal_child_gets_its_minimal_ancestors_in_its_chain() {
    let registry =
        Registry::new(vec![&Root1, &Child, &MinOnFull, &MinOnMin, &MinOnMinOnMin]).unwrap_or_else(|e| panic!("{e}"));
    let chain = |image: &dyn Image| -> Vec<&str> { registry.minimal_chain(image).iter().map(|i| i.name()).collect() };
    assert_eq!(chain(&MinOnMinOnMin), ["min-on-full", "min-on-min", "min-on-min-on-min"]);
    assert_eq!(chain(&MinOnFull), ["min-on-full"]);
    assert_eq!(chain(&Child), ["child"]);
}

#[test]
fn a_minimal_child_stating_a_builder_on_another_root_than_its_parents_is_refused_naming_both() {
    // Stated, on the parent builder's root: accepted (`min-with-builder` is built in `tools`, its
    // parent in `child`, both on root1); stating the builder the parent used is accepted too.
    Registry::new(vec![&Root1, &Child, &Tools, &MinOnFull, &MinWithBuilder]).unwrap_or_else(|e| panic!("{e}"));

    let found = problems(vec![&Root1, &Child, &RigTools, &MinOnFull, &MinOnMinInRigImage, &MinOnMinInRigRoot]);
    assert_eq!(
        found,
        [
            "image `min-on-min-in-rig-image` states builder `rig-tools` (on the rig root), but its minimal \
             parent `min-on-full` was built in `child` (on docker.io/gentoo/stage3:latest): a builder on \
             another root may differ in CHOST and profile from what built the parent's files; use a builder \
             on docker.io/gentoo/stage3:latest or drop `builder` to inherit `child`",
            "image `min-on-min-in-rig-root` states builder the rig root, but its minimal parent `min-on-full` \
             was built in `child` (on docker.io/gentoo/stage3:latest): a builder on another root may differ \
             in CHOST and profile from what built the parent's files; use a builder on \
             docker.io/gentoo/stage3:latest or drop `builder` to inherit `child`",
        ]
    );
    // A root stated as the builder is its own root.
    Registry::new(vec![&Root1, &Child, &MinOnFull, &MinOnMinInStage3]).unwrap_or_else(|e| panic!("{e}"));
}
