use std::process::ExitCode;

use anyhow::Result;
use xshell::Shell;

use super::Context;
use crate::execute::{clean, human_size};
use crate::prerequisites;

#[derive(Debug, clap::Args)]
pub struct CleanArgs {
    /// Print what would be removed, and the space it would free, without removing anything.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(context: &Context, args: &CleanArgs) -> Result<ExitCode> {
    let sh = Shell::new()?;
    sh.change_dir(&context.workspace);
    prerequisites::ensure(&sh, prerequisites::BUILD_TOOLS)?;
    let report = clean::run(&sh, &context.workspace, &context.settings, context.registry, args.dry_run)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        let verb = if report.dry_run { "would remove" } else { "removed" };
        for item in &report.removed {
            let size = if item.bytes > 0 { format!(" ({})", human_size(item.bytes)) } else { String::new() };
            println!("{verb} {} {}{size}: {}", item.kind, item.target, item.why);
        }
        for (item, error) in &report.failed {
            eprintln!("could not remove {} {}: {error}", item.kind, item.target);
        }
        let freed = if report.dry_run { "would free" } else { "freed" };
        println!(
            "{} item(s) {verb}, {freed} {} (images as buildah lists their sizes){}",
            report.removed.len(),
            human_size(report.bytes),
            if report.dry_run { String::new() } else { format!("; log {}", report.log) }
        );
    }
    Ok(if report.failed.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
