//! Renders a plan as a POSIX shell script a person could run by hand from the workspace root.
//! Every line is a step's [`Command`](super::Command), the very argv the executor runs; what only a
//! run knows is a variable, assigned at the top (`run`) or by a printed command.

use super::step::{PlanStep, CONTAINER, EMERGE_ROOT, RUN};
use super::{ImagePlan, Plan, Status, Step};

/// Commands longer than this are continued on several lines.
const WIDTH: usize = 100;

/// One step as a line of a script (continued over several when long): the one rendering of a step
/// that build, push and catalyst scripts share.
pub fn line<S: PlanStep>(step: &S) -> String {
    step.command().to_shell_wrapped(WIDTH)
}

/// The script for `plan`. `title` names what was asked for (it goes into the header comment).
pub fn render(plan: &Plan, title: &str) -> String {
    let mut out = String::new();
    out.push_str("#!/bin/sh\n");
    out.push_str(&format!("# buildah-gentoo plan: {title}\n"));
    out.push_str("# Run from the workspace root, after `cargo xtask plan` has written the build contexts.\n");
    out.push_str("set -eu\n");
    out.push_str("# Container names are unique to a run: the shell's process id (the executor uses its own).\n");
    out.push_str(&format!("{}=$$\n", RUN.0));
    if !plan.setup.is_empty() {
        out.push_str("\n# Set-up: the workspace's git revision (for the images' labels)");
        if plan.setup.len() > 1 {
            out.push_str(", the ebuild repository image, mounted read-only into every emerge");
        }
        out.push_str(".\n");
        render_list(&mut out, &plan.setup);
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
        render_list(&mut out, &plan.teardown);
    }
    out
}

fn render_list(out: &mut String, steps: &[Step]) {
    for step in steps {
        out.push_str(&line(step));
        out.push('\n');
    }
}

fn render_image(out: &mut String, image: &ImagePlan) {
    if let Status::UpToDate { id } = &image.status {
        out.push_str(&format!(
            "# Image `{}`: up to date (id {}, inputs {}): nothing to run.\n",
            image.name,
            &id[..12.min(id.len())],
            image.input_hash.as_deref().unwrap_or_default()
        ));
        return;
    }
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
                out.push_str(&format!(
                    "# What `{parent}` holds (its labels) goes into package.provided: not installed again.\n"
                ));
            }
        }
    }
    for (reference, role) in &image.needs {
        out.push_str(&format!("# Needs its {role} {reference} in local storage.\n"));
    }
    if image.input_hash.is_none() {
        out.push_str("# Its input hash takes the ids of the images it starts from: computed when the script runs.\n");
    }
    render_list(out, &image.prelude);
    render_steps(out, image);
}

/// The build context's files, then the steps.
fn render_steps(out: &mut String, image: &ImagePlan) {
    out.push_str(&format!("# Build context {}/:\n", image.context_dir));
    for file in &image.context_files {
        out.push_str(&format!("#   /{}\n", file.path));
    }
    for step in &image.steps {
        if let Step::UntagStale { .. } = step {
            out.push_str("# The image this one replaces loses its input-hash tag (a failure is only a warning).\n");
        }
        out.push_str(&line(step));
        out.push('\n');
        if image.minimal.is_some() && *step == (Step::Unmount { container: CONTAINER }) {
            out.push_str("# Phase 2: the new root becomes the image: configured, committed, tested, tagged.\n");
        }
    }
}
