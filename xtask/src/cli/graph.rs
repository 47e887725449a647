use std::fmt::Write;
use std::process::ExitCode;

use anyhow::Result;
use image_defs::registry::ResolvedParent;
use image_defs::{Registry, Root};

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

/// Roots, each once, in the order images first name them.
fn roots(registry: &Registry) -> Vec<Root> {
    let mut roots = Vec::new();
    for image in registry.in_order() {
        if let ResolvedParent::Root(root) = registry.parent_of(image) {
            if !roots.contains(&root) {
                roots.push(root);
            }
        }
    }
    roots
}

fn root_label(root: Root) -> String {
    match root {
        Root::Registry(reference) => reference.to_owned(),
        Root::Tarball { path, .. } => format!("tarball {path}"),
        Root::Rig => "rig root (Debian + portage)".to_owned(),
    }
}

/// Graphviz: images are boxes, roots are ellipses, edges go from parent to child.
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
        let from = match registry.parent_of(image) {
            ResolvedParent::Image(_) => dot_string(registry.parent_image(image).unwrap().name()),
            ResolvedParent::Root(root) => format!("root{}", roots.iter().position(|r| *r == root).unwrap()),
        };
        writeln!(out, "    {from} -> {};", dot_string(image.name())).unwrap();
    }
    out.push_str("}\n");
    out
}

/// Mermaid flowchart, top-down.
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
        let from = match registry.parent_of(image) {
            ResolvedParent::Image(_) => id(registry.parent_image(image).unwrap().name()),
            ResolvedParent::Root(root) => format!("root{}", roots.iter().position(|r| *r == root).unwrap()),
        };
        writeln!(out, "    {from} --> {}", id(image.name())).unwrap();
    }
    out
}

fn dot_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}
