//! Renders a plan as a POSIX shell script a person could run by hand from the workspace root.
//! Every line is a step's [`Command`](super::Command), the very argv the executor runs.

use super::step::{CONTAINER, EMERGE_ROOT};
use super::{ImagePlan, Plan, Step};

/// Commands longer than this are continued on several lines.
const WIDTH: usize = 100;

/// The script for `plan`. `title` names what was asked for (it goes into the header comment).
pub fn render(plan: &Plan, title: &str) -> String {
    let mut out = String::new();
    out.push_str("#!/bin/sh\n");
    out.push_str(&format!("# buildah-gentoo plan: {title}\n"));
    out.push_str("# Run from the workspace root, after `cargo xtask plan` has written the build contexts.\n");
    out.push_str("set -eu\n");
    if !plan.setup.is_empty() {
        out.push_str("\n# Set-up: the workspace's git revision (for the images' labels)");
        if plan.setup.len() > 1 {
            out.push_str(", the ebuild repository image, mounted read-only into every emerge");
        }
        out.push_str(".\n");
        for step in &plan.setup {
            out.push_str(&step.command().to_shell_wrapped(WIDTH));
            out.push('\n');
        }
    }
    for root in &plan.roots {
        out.push_str(&format!(
            "\n# Root image `{}`: a stage3 tarball, verified, then unpacked into scratch\n",
            root.name
        ));
        render_steps(&mut out, root);
    }
    for image in &plan.images {
        out.push('\n');
        render_image(&mut out, image);
    }
    if !plan.teardown.is_empty() {
        out.push_str("\n# Tear-down.\n");
        for step in &plan.teardown {
            out.push_str(&step.command().to_shell_wrapped(WIDTH));
            out.push('\n');
        }
    }
    out
}

fn render_image(out: &mut String, image: &ImagePlan) {
    match &image.minimal {
        None => out.push_str(&format!("# Image `{}` on {}\n", image.name, image.base)),
        Some(minimal) => {
            out.push_str(&format!("# Image `{}` (minimal) on {}\n", image.name, image.base));
            out.push_str(&format!(
                "# Phase 1: the builder {} emerges the packages with --root into\n\
                 # the working container, mounted at {EMERGE_ROOT}; build-time dependencies stay in the builder.\n",
                minimal.builder
            ));
            if let Some(parent) = &minimal.minimal_parent {
                match &minimal.provided {
                    Some(packages) if packages.is_empty() => {
                        out.push_str(&format!("# `{parent}` holds no packages (package.provided is empty).\n"))
                    }
                    Some(packages) => out.push_str(&format!(
                        "# Already in `{parent}`, not installed again (package.provided): {}\n",
                        packages.join(" ")
                    )),
                    None => out.push_str(&format!(
                        "# The packages of `{parent}` are not known yet (it is not built); the build lists them\n\
                         # in package.provided from its labels, so they are not installed again.\n"
                    )),
                }
            }
        }
    }
    render_steps(out, image);
}

/// The build context's files, then the steps.
fn render_steps(out: &mut String, image: &ImagePlan) {
    out.push_str(&format!("# Build context {}/:\n", image.context_dir));
    for file in &image.context_files {
        out.push_str(&format!("#   /{}\n", file.path));
    }
    for step in &image.steps {
        out.push_str(&step.command().to_shell_wrapped(WIDTH));
        out.push('\n');
        if image.minimal.is_some() && *step == (Step::Unmount { container: CONTAINER }) {
            out.push_str("# Phase 2: the new root becomes the image: configured, committed, tested, tagged.\n");
        }
    }
}
