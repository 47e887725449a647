//! The registry refuses broken image sets before anything runs, naming the images involved.

use image_defs::{Image, Parent, Registry};

macro_rules! image {
    ($type:ident, $name:literal, $parent:expr) => {
        struct $type;
        impl Image for $type {
            fn name(&self) -> &'static str {
                $name
            }
            fn parent(&self) -> Parent {
                $parent
            }
        }
    };
}

image!(Root1, "root1", Parent::registry("docker.io/gentoo/stage3:latest"));
image!(Child, "child", Parent::image::<Root1>());
image!(ChildAgain, "child", Parent::named("root1"));
image!(Orphan, "orphan", Parent::named("nowhere"));
image!(Unregistered, "unregistered", Parent::named("root1"));
image!(OrphanByType, "orphan-by-type", Parent::image::<Unregistered>());
image!(CycleA, "cycle-a", Parent::named("cycle-b"));
image!(CycleB, "cycle-b", Parent::named("cycle-c"));
image!(CycleC, "cycle-c", Parent::image::<CycleA>());
image!(BadName, "Bad_Name", Parent::named("root1"));
image!(BadSeparator, "rig//x", Parent::named("root1"));

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

#[test]
fn names_must_be_oci_repository_paths() {
    let problems = problems(vec![&Root1, &BadName, &BadSeparator]);
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].starts_with("image `Bad_Name`: invalid name: path component `Bad_Name`"), "{}", problems[0]);
    assert!(problems[1].starts_with("image `rig//x`: invalid name: path component `` is empty"), "{}", problems[1]);
}

#[test]
fn the_example_images_are_valid() {
    let registry = Registry::global().unwrap_or_else(|e| panic!("{e}"));
    assert!(registry.get("nginx").is_some());
    let error = registry.lookup("ngnix").err().expect("no such image");
    assert!(error.starts_with("no image named `ngnix`; known images: stage3, "), "{error}");
}
