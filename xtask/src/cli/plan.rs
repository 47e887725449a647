use std::process::ExitCode;

use anyhow::Result;
use xshell::Shell;

use super::Context;
use crate::execute::prepare;
use crate::plan::script;

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

/// Prints the whole build of the images (as `build --force` runs it), a script that `sh` runs from
/// the workspace root.
pub fn run(context: &Context, args: &PlanArgs) -> Result<ExitCode> {
    let names = super::resolve_names(context.registry, &args.images)?;
    let images = if args.deps { context.registry.with_ancestors(&names) } else { context.registry.selected(&names) }?;
    let sh = Shell::new()?;
    sh.change_dir(&context.workspace);
    let prepared = prepare(&sh, &context.workspace, &context.settings, context.registry, &images, true, false)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&prepared.plan)?);
    } else {
        let title = format!("{}{}", names.join(" "), if args.deps { " (with parents)" } else { "" });
        print!("{}", script::render(&prepared.plan, &title));
    }
    Ok(ExitCode::SUCCESS)
}
