use std::process::ExitCode;

use anyhow::Result;

use super::Context;
use crate::plan::{self, script};

#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// Images to plan, by name or regular expression (`'rig/.*'`).
    #[arg(required = true)]
    pub images: Vec<String>,
    /// Also plan their parents (all ancestors), in build order.
    #[arg(long)]
    pub deps: bool,
    /// Print the plan as JSON instead of a shell script.
    #[arg(long)]
    pub json: bool,
}

pub fn run(context: &Context, args: &PlanArgs) -> Result<ExitCode> {
    let names = super::resolve_names(context.registry, &args.images)?;
    let images = if args.deps { context.registry.with_ancestors(&names) } else { context.registry.selected(&names) }
        .map_err(anyhow::Error::msg)?;
    let mut inputs = context.plan_inputs();
    inputs.tarballs =
        crate::execute::root_import::resolve_all(&context.workspace, &context.settings, context.registry, &images)?;
    inputs.packages = crate::execute::recorded_packages(&context.settings, context.registry, &images);
    let plan = plan::plan(&images, &inputs)?;
    for image in plan.roots.iter().chain(&plan.images) {
        crate::build_context::write(context.workspace(), image)?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&plan)?);
    } else {
        let title = format!("{}{}", names.join(" "), if args.deps { " (with parents)" } else { "" });
        print!("{}", script::render(&plan, &title));
    }
    Ok(ExitCode::SUCCESS)
}
