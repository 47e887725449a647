use std::fmt::Write;
use std::process::ExitCode;

use anyhow::Result;
use image_defs::registry::ResolvedParent;
use image_defs::{Image, Registry, Root};

use super::Context;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum GraphFormat {
    Dot,
    Mermaid,
}

#[derive(Debug, clap::Args)]
pub struct GraphArgs {
    /// Output format.
    #[arg(long, value_enum, default_value = "dot")]
    pub format: GraphFormat,
}

pub fn run(context: &Context, args: &GraphArgs) -> Result<ExitCode> {
    let text = match args.format {
        GraphFormat::Dot => dot(context.registry),
        GraphFormat::Mermaid => mermaid(context.registry),
    };
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}

/// Roots, each once, in the order images first name them (as parent, then as builder).
fn roots(registry: &Registry) -> Vec<Root> {
    let mut roots = Vec::new();
    for image in registry.in_order() {
        for dependency in std::iter::once(registry.parent_of(image)).chain(registry.builder_of(image)) {
            if let ResolvedParent::Root(root) = dependency {
                if !roots.contains(&root) {
                    roots.push(root);
                }
            }
        }
    }
    roots
}

/// The edges into an image: from its parent (solid), and for a minimal image from its builder
/// (dashed), as `(node of the parent or builder, whether it is the builder)`. A node is an image's
/// name or `root<N>`, the root's position in `roots`.
fn edges_into(registry: &Registry, roots: &[Root], image: &dyn Image) -> Vec<(Node, bool)> {
    let node = |dependency: ResolvedParent, dependency_image: Option<&'static dyn Image>| match dependency {
        ResolvedParent::Image(_) => Node::Image(dependency_image.expect("a resolved image").name()),
        ResolvedParent::Root(root) => Node::Root(roots.iter().position(|r| *r == root).expect("a listed root")),
    };
    let mut edges = vec![(node(registry.parent_of(image), registry.parent_image(image)), false)];
    if let Some(builder) = registry.builder_of(image) {
        edges.push((node(builder, registry.builder_image(image)), true));
    }
    edges
}

/// One end of an edge.
enum Node {
    Image(&'static str),
    /// A root, by its position in the graph's roots.
    Root(usize),
}

fn root_label(root: Root) -> String {
    match root {
        Root::Registry(reference) => reference.to_owned(),
        Root::Tarball { path, .. } => format!("tarball {path}"),
        Root::Rig => "rig root (Debian + portage)".to_owned(),
    }
}

/// Graphviz: images are boxes, roots are ellipses, edges go from parent to child, dashed ones from
/// a minimal image's builder.
pub fn dot(registry: &Registry) -> String {
    let roots = roots(registry);
    let mut out = String::from("digraph images {\n    rankdir=LR;\n    node [shape=box];\n");
    for (index, root) in roots.iter().enumerate() {
        writeln!(out, "    root{index} [shape=ellipse, label={}];", dot_string(&root_label(*root))).unwrap();
    }
    for image in registry.in_order() {
        writeln!(out, "    {};", dot_string(image.name())).unwrap();
    }
    for image in registry.in_order() {
        for (from, builder) in edges_into(registry, &roots, image) {
            let from = match from {
                Node::Image(name) => dot_string(name),
                Node::Root(index) => format!("root{index}"),
            };
            let style = if builder { " [style=dashed, label=\"builder\"]" } else { "" };
            writeln!(out, "    {from} -> {}{style};", dot_string(image.name())).unwrap();
        }
    }
    out.push_str("}\n");
    out
}

/// Mermaid flowchart, top-down; dashed edges from a minimal image's builder.
pub fn mermaid(registry: &Registry) -> String {
    let roots = roots(registry);
    let id = |name: &str| format!("img_{}", name.replace(|c: char| !c.is_ascii_alphanumeric(), "_"));
    let mut out = String::from("graph TD\n");
    for (index, root) in roots.iter().enumerate() {
        writeln!(out, "    root{index}[(\"{}\")]", root_label(*root).replace('"', "#quot;")).unwrap();
    }
    for image in registry.in_order() {
        writeln!(out, "    {}[\"{}\"]", id(image.name()), image.name()).unwrap();
    }
    for image in registry.in_order() {
        for (from, builder) in edges_into(registry, &roots, image) {
            let from = match from {
                Node::Image(name) => id(name),
                Node::Root(index) => format!("root{index}"),
            };
            let arrow = if builder { "-. builder .->" } else { "-->" };
            writeln!(out, "    {from} {arrow} {}", id(image.name())).unwrap();
        }
    }
    out
}

fn dot_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}
