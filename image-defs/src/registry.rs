//! The registry of all images, validated before anything else runs.

use std::any::{Any, TypeId};
use std::collections::{BTreeSet, HashMap};
use std::fmt;

use once_cell::sync::Lazy;

use crate::{Cleanup, Image, Layout, Parent, ParentImage, Repository, Root};

/// All images, validated: names unique and valid, parents present, no cycles.
pub struct Registry {
    images: Vec<&'static dyn Image>,
    /// For each image (same index), its parent: another image's index or a root.
    parents: Vec<ResolvedParent>,
    /// Image indexes, parents before children; ties broken by name.
    order: Vec<usize>,
    by_name: HashMap<&'static str, usize>,
    /// For each image (same index), whether another image builds on it (as parent or builder).
    has_children: Vec<bool>,
    /// For each minimal image (same index), its builder; `None` for full images.
    builders: Vec<Option<ResolvedParent>>,
    /// For each image (same index), the root of its build (see [`Registry::root_of`]).
    roots: Vec<Root>,
    /// For each image (same index), how many images stand between it and its root.
    depths: Vec<usize>,
    /// For each image (same index), the extra repositories of it and every image it is built on,
    /// sorted by name (see [`Registry::repositories_of`]).
    repositories: Vec<Vec<Repository>>,
}

/// A parent after validation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResolvedParent {
    Image(usize),
    Root(Root),
}

/// A name that is no image of the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownImage {
    pub name: String,
    /// The registry's images, in build order.
    pub known: Vec<&'static str>,
}

impl fmt::Display for UnknownImage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no image named `{}`; known images: {}", self.name, self.known.join(", "))
    }
}

impl std::error::Error for UnknownImage {}

/// Everything wrong with a set of image definitions (all problems, not just the first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryError {
    pub problems: Vec<String>,
}

impl fmt::Display for RegistryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid image definitions:")?;
        for problem in &self.problems {
            write!(f, "\n  - {problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for RegistryError {}

static GLOBAL: Lazy<Result<Registry, RegistryError>> = Lazy::new(|| Registry::new(crate::images::all()));

impl Registry {
    /// The registry of the images defined in this crate.
    pub fn global() -> Result<&'static Registry, RegistryError> {
        GLOBAL.as_ref().map_err(Clone::clone)
    }

    /// Validates `images` and orders them.
    pub fn new(images: Vec<&'static dyn Image>) -> Result<Registry, RegistryError> {
        let mut problems = Vec::new();

        let mut by_name: HashMap<&'static str, usize> = HashMap::with_capacity(images.len());
        for (index, image) in images.iter().enumerate() {
            // Names and values are checked at compile time (`Spec::checked`); here only what needs
            // every image: unique names, parents and builders that exist, no cycle, layouts.
            let name = image.name();
            if let Some(&first) = by_name.get(name) {
                problems.push(format!(
                    "image name `{name}` is used twice: by `{}` and by `{}`",
                    images[first].type_name(),
                    image.type_name()
                ));
            } else {
                by_name.insert(name, index);
            }
        }

        let by_type: HashMap<TypeId, usize> =
            images.iter().enumerate().map(|(index, image)| (type_id_of(*image), index)).collect();
        let resolve = |image: &dyn Image, what: &str, parent: Parent, problems: &mut Vec<String>| match parent {
            Parent::Root(root) => Some(ResolvedParent::Root(root)),
            Parent::Image(ParentImage::Name(parent)) => match by_name.get(parent) {
                Some(&index) => Some(ResolvedParent::Image(index)),
                None => {
                    problems.push(format!(
                        "image `{}` has {what} `{parent}`, which is not a registered image",
                        image.name()
                    ));
                    None
                }
            },
            Parent::Image(ParentImage::Type(parent)) => match by_type.get(&parent.type_id()) {
                Some(&index) => Some(ResolvedParent::Image(index)),
                None => {
                    problems.push(format!(
                        "image `{}` has {what} type `{}`, which is not registered \
                             (add it to image_defs::images::all)",
                        image.name(),
                        parent.type_name()
                    ));
                    None
                }
            },
        };
        let mut parents = Vec::with_capacity(images.len());
        let mut explicit_builders = Vec::with_capacity(images.len());
        for image in &images {
            parents.push(resolve(*image, "parent", image.spec().parent, &mut problems));
            explicit_builders
                .push(image.spec().builder.and_then(|builder| resolve(*image, "builder", builder, &mut problems)));
        }
        if !problems.is_empty() {
            return Err(RegistryError { problems });
        }
        let parents: Vec<ResolvedParent> = parents.into_iter().map(Option::unwrap).collect();

        if let Some(cycle) = find_cycle(&images, &parents) {
            return Err(RegistryError { problems: vec![format!("parent cycle: {cycle}")] });
        }
        let builders =
            resolve_builders(&images, &parents, &explicit_builders).map_err(|problems| RegistryError { problems })?;

        let order = dependency_order(&images, &parents, &builders);
        let mut has_children = vec![false; images.len()];
        for dependency in parents.iter().chain(builders.iter().flatten()) {
            if let ResolvedParent::Image(index) = dependency {
                has_children[*index] = true;
            }
        }
        // In build order every dependency comes first: one pass, not a walk up the tree per image.
        let mut roots = vec![Root::Rig; images.len()];
        let mut depths = vec![0; images.len()];
        let mut repositories: Vec<Vec<Repository>> = vec![Vec::new(); images.len()];
        for &index in &order {
            roots[index] = match builders[index].unwrap_or(parents[index]) {
                ResolvedParent::Image(dependency) => roots[dependency],
                ResolvedParent::Root(root) => root,
            };
            if let ResolvedParent::Image(parent) = parents[index] {
                depths[index] = depths[parent] + 1;
            }
            // The image's own first, then its dependencies' (already complete): the first of a name wins.
            let mut own: Vec<Repository> = Vec::new();
            let dependencies = dependency_indexes(&parents, &builders, index);
            let inherited = dependencies.iter().flat_map(|&dependency| repositories[dependency].iter());
            for repository in images[index].spec().repositories.iter().chain(inherited) {
                if !own.iter().any(|known| known.name == repository.name) {
                    own.push(*repository);
                }
            }
            own.sort_by_key(|repository| repository.name);
            repositories[index] = own;
        }
        let mut problems = check_chain_builders(&images, &parents, &explicit_builders, &builders, &roots);
        problems.extend(check_repository_declarations(&images));
        if !problems.is_empty() {
            return Err(RegistryError { problems });
        }
        Ok(Registry { images, parents, order, by_name, has_children, builders, roots, depths, repositories })
    }

    /// Images, parents before children.
    pub fn in_order(&self) -> impl Iterator<Item = &'static dyn Image> + '_ {
        self.order.iter().map(|&index| self.images[index])
    }

    /// The image with this name.
    pub fn get(&self, name: &str) -> Option<&'static dyn Image> {
        self.index_of(name).map(|index| self.images[index])
    }

    /// The image with this name, or an error that lists the known names.
    pub fn lookup(&self, name: &str) -> Result<&'static dyn Image, UnknownImage> {
        self.require(name).map(|index| self.images[index])
    }

    /// The resolved parent of an image of this registry.
    pub fn parent_of(&self, image: &dyn Image) -> ResolvedParent {
        let index = self.index_of(image.name()).expect("image of this registry");
        self.parents[index]
    }

    /// The parent image of an image, when its parent is not a root.
    pub fn parent_image(&self, image: &dyn Image) -> Option<&'static dyn Image> {
        match self.parent_of(image) {
            ResolvedParent::Image(index) => Some(self.images[index]),
            ResolvedParent::Root(_) => None,
        }
    }

    /// Whether any registered image builds on this one (as its parent or its builder).
    pub fn has_children(&self, image: &dyn Image) -> bool {
        self.has_children[self.index_of(image.name()).expect("image of this registry")]
    }

    /// The builder of a minimal image (an image or a root with portage); `None` for full images.
    pub fn builder_of(&self, image: &dyn Image) -> Option<ResolvedParent> {
        self.builders[self.index_of(image.name()).expect("image of this registry")]
    }

    /// The builder of a minimal image, when it is an image of the registry (not a root).
    pub fn builder_image(&self, image: &dyn Image) -> Option<&'static dyn Image> {
        match self.builder_of(image)? {
            ResolvedParent::Image(index) => Some(self.images[index]),
            ResolvedParent::Root(_) => None,
        }
    }

    /// The image a minimal image's new root starts from: its parent when that is minimal too;
    /// `None` for scratch (its parent is full, or a root) and for full images.
    pub fn minimal_parent(&self, image: &dyn Image) -> Option<&'static dyn Image> {
        if image.spec().layout != Layout::Minimal {
            return None;
        }
        self.parent_image(image).filter(|parent| parent.spec().layout == Layout::Minimal)
    }

    /// A minimal image's chain: its minimal ancestors, the topmost first, then the image itself (just
    /// the image when its parent is full or a root, or when it is full). Their portage files all go
    /// into the image's builder, in this order.
    pub fn minimal_chain(&self, image: &dyn Image) -> Vec<&'static dyn Image> {
        let mut chain = vec![self.lookup(image.name()).expect("image of this registry")];
        while let Some(parent) = self.minimal_parent(chain[chain.len() - 1]) {
            chain.push(parent);
        }
        chain.reverse();
        chain
    }

    /// The images that must be built before this one: its parent and its builder (when they are
    /// images), parent first.
    pub fn dependencies(&self, image: &dyn Image) -> Vec<&'static dyn Image> {
        let index = self.index_of(image.name()).expect("image of this registry");
        dependency_indexes(&self.parents, &self.builders, index).into_iter().map(|i| self.images[i]).collect()
    }

    /// The root whose binary packages and repository the image's build uses: the root its tree starts
    /// from, or for a minimal image its builder's.
    pub fn root_of(&self, image: &dyn Image) -> Root {
        self.roots[self.index_of(image.name()).expect("image of this registry")]
    }

    /// The extra ebuild repositories a build of the image mounts: its own and those of every image it
    /// is built on (parents and builders, all the way up), by name.
    pub fn repositories_of(&self, image: &dyn Image) -> Vec<Repository> {
        self.repositories[self.index_of(image.name()).expect("image of this registry")].clone()
    }

    /// How many images stand between this one and its root, following parents (0 for an image on a
    /// root).
    pub fn depth(&self, image: &dyn Image) -> usize {
        self.depths[self.index_of(image.name()).expect("image of this registry")]
    }

    /// The named images plus everything they need (ancestors and builders), in build order.
    pub fn with_ancestors(&self, names: &[&str]) -> Result<Vec<&'static dyn Image>, UnknownImage> {
        let mut wanted = BTreeSet::new();
        let mut todo = Vec::new();
        for name in names {
            todo.push(self.require(name)?);
        }
        while let Some(index) = todo.pop() {
            if wanted.insert(index) {
                todo.extend(dependency_indexes(&self.parents, &self.builders, index));
            }
        }
        Ok(self.order.iter().filter(|i| wanted.contains(i)).map(|&i| self.images[i]).collect())
    }

    /// The named images only, in build order.
    pub fn selected(&self, names: &[&str]) -> Result<Vec<&'static dyn Image>, UnknownImage> {
        let mut wanted = BTreeSet::new();
        for name in names {
            wanted.insert(self.require(name)?);
        }
        Ok(self.order.iter().filter(|i| wanted.contains(i)).map(|&i| self.images[i]).collect())
    }

    fn require(&self, name: &str) -> Result<usize, UnknownImage> {
        self.index_of(name).ok_or_else(|| UnknownImage {
            name: name.to_owned(),
            known: self.in_order().map(|image| image.name()).collect(),
        })
    }

    fn index_of(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }
}

/// One repository name, one source: two images that declare `overlay` from different places would
/// mount different trees under the same name.
fn check_repository_declarations(images: &[&'static dyn Image]) -> Vec<String> {
    let mut first: HashMap<&'static str, (Repository, &'static str)> = HashMap::new();
    let mut problems = Vec::new();
    for image in images {
        for repository in image.spec().repositories {
            match first.get(repository.name) {
                None => {
                    first.insert(repository.name, (*repository, image.name()));
                }
                Some((known, by)) if known.source != repository.source => problems.push(format!(
                    "repository `{}` is declared twice with different sources: {} by image `{by}`, {} by image `{}`",
                    repository.name,
                    known.source,
                    repository.source,
                    image.name()
                )),
                Some(_) => {}
            }
        }
    }
    problems
}

fn type_id_of(image: &dyn Image) -> TypeId {
    let any: &dyn Any = image;
    any.type_id()
}

/// OCI distribution spec: path components `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*` joined by `/`.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("it is empty".into());
    }
    if name.len() > 128 {
        return Err(format!("it is {} characters long; at most 128 are allowed", name.len()));
    }
    for component in name.split('/') {
        check_component(component).map_err(|why| {
            format!(
                "path component `{component}` {why}; expected lowercase letters and digits, \
                 separated by `.`, `_`, `__` or dashes, and `/` between components"
            )
        })?;
    }
    Ok(())
}

fn check_component(component: &str) -> Result<(), &'static str> {
    let bytes = component.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if bytes.is_empty() {
        return Err("is empty");
    }
    if !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return Err("must start and end with a lowercase letter or digit");
    }
    let mut i = 0;
    while i < bytes.len() {
        if alnum(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let separator = &component[start..i];
        let ok = separator == "." || separator == "_" || separator == "__" || separator.bytes().all(|b| b == b'-');
        if !ok {
            return Err("has an invalid separator");
        }
    }
    Ok(())
}

fn find_cycle(images: &[&'static dyn Image], parents: &[ResolvedParent]) -> Option<String> {
    // 0 = unvisited, 1 = on the current walk, 2 = known to reach a root.
    let mut state = vec![0u8; images.len()];
    for start in 0..images.len() {
        let mut walk: Vec<usize> = Vec::new();
        let mut index = start;
        loop {
            match state[index] {
                2 => break,
                1 => {
                    let from = walk.iter().position(|&i| i == index).expect("on the walk");
                    let mut names: Vec<String> =
                        walk[from..].iter().map(|&i| format!("`{}`", images[i].name())).collect();
                    names.push(format!("`{}`", images[index].name()));
                    return Some(names.join(" -> "));
                }
                _ => {}
            }
            state[index] = 1;
            walk.push(index);
            match parents[index] {
                ResolvedParent::Image(parent) => index = parent,
                ResolvedParent::Root(_) => break,
            }
        }
        for i in walk {
            state[i] = 2;
        }
    }
    None
}

/// The images `index` needs built first: its parent, then its builder (when they are images).
fn dependency_indexes(parents: &[ResolvedParent], builders: &[Option<ResolvedParent>], index: usize) -> Vec<usize> {
    let mut dependencies = Vec::with_capacity(2);
    for dependency in std::iter::once(parents[index]).chain(builders[index]) {
        if let ResolvedParent::Image(other) = dependency {
            if !dependencies.contains(&other) {
                dependencies.push(other);
            }
        }
    }
    dependencies
}

/// Checks the layouts (a full image needs a full parent; only minimal images have a builder, and it
/// must be full) and resolves every minimal image's builder: the explicit one, else its parent when
/// that is full (or a root), else its minimal parent's builder. Parents are known to have no cycle.
fn resolve_builders(
    images: &[&'static dyn Image],
    parents: &[ResolvedParent],
    explicit: &[Option<ResolvedParent>],
) -> Result<Vec<Option<ResolvedParent>>, Vec<String>> {
    let mut problems = Vec::new();
    let minimal = |index: usize| images[index].spec().layout == Layout::Minimal;
    for (index, image) in images.iter().enumerate() {
        let name = image.name();
        if minimal(index) {
            if let Some(ResolvedParent::Image(builder)) = explicit[index] {
                if minimal(builder) {
                    problems.push(format!(
                        "image `{name}` has builder `{}`, which is minimal: a builder needs portage \
                         (use a full image or a root)",
                        images[builder].name()
                    ));
                }
            }
            if image.spec().depclean == Some(true) {
                problems.push(format!(
                    "image `{name}` is minimal and asks for depclean: build-time dependencies of a minimal \
                     image stay in its builder, there is nothing to depclean (drop `fn depclean`)"
                ));
            }
        } else {
            if explicit[index].is_some() {
                problems.push(format!(
                    "image `{name}` declares a builder but is not minimal: only `Layout::Minimal` images \
                     are built in a builder"
                ));
            }
            if let ResolvedParent::Image(parent) = parents[index] {
                if minimal(parent) {
                    problems.push(format!(
                        "image `{name}` is full but its parent `{}` is minimal (no portage to emerge with): \
                         make `{name}` minimal too (`fn layout(&self) -> Layout {{ Layout::Minimal }}`)",
                        images[parent].name()
                    ));
                }
            }
            if image.spec().cleanups.contains(&Cleanup::PackageDatabase) {
                problems.push(format!(
                    "image `{name}` is full and drops its package database: portage in it (and in every \
                     image built on it) needs /var/db/pkg; `Cleanup::PackageDatabase` is for minimal images"
                ));
            }
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let builder_of = |mut index: usize| -> ResolvedParent {
        // Up the chain of minimal images to the first explicit builder, full parent or root.
        loop {
            if let Some(builder) = explicit[index] {
                return builder;
            }
            match parents[index] {
                ResolvedParent::Image(parent) if minimal(parent) => index = parent,
                other => return other,
            }
        }
    };
    Ok((0..images.len()).map(|index| minimal(index).then(|| builder_of(index))).collect())
}

/// A minimal image on a minimal parent emerges onto what the parent's builder made: a builder it
/// states must be on the same root as the parent's builder (same stage3 or rig, hence the same CHOST
/// and profile; the root is what the registry knows of them before anything runs). Builders it
/// inherits are the parent's, and `roots` holds each image's builder's root.
fn check_chain_builders(
    images: &[&'static dyn Image],
    parents: &[ResolvedParent],
    explicit: &[Option<ResolvedParent>],
    builders: &[Option<ResolvedParent>],
    roots: &[Root],
) -> Vec<String> {
    // An image builder with its root; a root builder is its own root.
    let describe = |builder: ResolvedParent, root: Root| match builder {
        ResolvedParent::Image(index) => format!("`{}` (on {root})", images[index].name()),
        ResolvedParent::Root(_) => root.to_string(),
    };
    let name = |builder: ResolvedParent| match builder {
        ResolvedParent::Image(index) => format!("`{}`", images[index].name()),
        ResolvedParent::Root(root) => root.to_string(),
    };
    let mut problems = Vec::new();
    for (index, image) in images.iter().enumerate() {
        let (Some(stated), ResolvedParent::Image(parent)) = (explicit[index], parents[index]) else { continue };
        let Some(parent_builder) = builders[parent] else { continue }; // a full parent: no chain
        if roots[index] != roots[parent] {
            problems.push(format!(
                "image `{}` states builder {}, but its minimal parent `{}` was built in {}: a builder on \
                 another root may differ in CHOST and profile from what built the parent's files; use a \
                 builder on {} or drop `builder` to inherit {}",
                image.name(),
                describe(stated, roots[index]),
                images[parent].name(),
                describe(parent_builder, roots[parent]),
                roots[parent],
                name(parent_builder),
            ));
        }
    }
    problems
}

/// Dependencies (parent, builder) before the images that need them; otherwise by name. Parents have
/// no cycle and builders are full images, which never depend on a minimal one, so there is none.
fn dependency_order(
    images: &[&'static dyn Image],
    parents: &[ResolvedParent],
    builders: &[Option<ResolvedParent>],
) -> Vec<usize> {
    let mut by_name: Vec<usize> = (0..images.len()).collect();
    by_name.sort_by_key(|&i| images[i].name());
    let mut placed = vec![false; images.len()];
    let mut order = Vec::with_capacity(images.len());
    // Depth-first, dependencies first: (image, whether its dependencies are placed).
    let mut stack = Vec::new();
    for start in by_name {
        stack.push((start, false));
        while let Some((index, ready)) = stack.pop() {
            if placed[index] {
                continue;
            }
            if ready {
                placed[index] = true;
                order.push(index);
                continue;
            }
            stack.push((index, true));
            // Pushed in reverse so the parent is placed before the builder.
            for dependency in dependency_indexes(parents, builders, index).into_iter().rev() {
                if !placed[dependency] {
                    stack.push((dependency, false));
                }
            }
        }
    }
    order
}
