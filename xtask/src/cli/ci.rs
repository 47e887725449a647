//! `cargo xtask ci ...`: the image graph on a CI engine. `ci gitlab` and `ci github` write the
//! pipeline files (see `cli/pipeline.rs`); `ci job` and `ci root` are what their jobs run.

use std::process::ExitCode;

use anyhow::Result;
use camino::Utf8PathBuf;

use super::Context;
use crate::execute::ci_job;
use crate::pipeline;
use crate::prerequisites;
use xshell::Shell;

#[derive(Debug, clap::Args)]
pub struct CiArgs {
    #[command(subcommand)]
    pub command: CiCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum CiCommand {
    /// Write a GitLab CI file (`.gitlab-ci.yml`): one job per image, `needs:` forming the graph.
    Gitlab(super::pipeline::PipelineArgs),
    /// Write a GitHub Actions workflow: one job per image, `needs:` forming the graph.
    Github(super::pipeline::PipelineArgs),
    /// The job of one image: pull its parents from the registry by their inputs tag, build it
    /// unless the registry has it up to date, push it and publish its binary packages.
    Job(JobArgs),
    /// The job of a stage3 tarball root: import it as a root image and push it, unless the registry
    /// has it.
    Root(RootArgs),
    /// The job of the test rig's root (which stands in for a stage3): make it and push it, unless the
    /// registry has it.
    RigRoot,
}

#[derive(Debug, clap::Args)]
pub struct JobArgs {
    /// The image this job builds.
    pub image: String,
    /// Print what the job did as JSON on standard output (progress goes to standard error).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct RootArgs {
    /// The tarball, as the image definitions name it (relative to the workspace root, or absolute).
    pub path: Utf8PathBuf,
}

pub fn run(context: &Context, args: &CiArgs) -> Result<ExitCode> {
    match &args.command {
        CiCommand::Gitlab(args) => super::pipeline::run(context, args, super::pipeline::System::Gitlab),
        CiCommand::Github(args) => super::pipeline::run(context, args, super::pipeline::System::Github),
        CiCommand::Job(args) => job(context, args),
        CiCommand::Root(args) => root(context, args),
        CiCommand::RigRoot => rig_root(context),
    }
}

fn job(context: &Context, args: &JobArgs) -> Result<ExitCode> {
    let image = context.registry.lookup(&args.image)?;
    let sh = Shell::new()?;
    sh.change_dir(&context.workspace);
    prerequisites::ensure(&sh, super::push::PUSH_TOOLS)?;
    let mut report = ci_job::JobReport::new(image.name());
    let outcome = ci_job::run(&sh, &context.workspace, &context.settings, context.registry, image, &mut report);
    if let Err(error) = &outcome {
        report.status = "failed".into();
        report.error = Some(format!("{error:#}"));
    }
    report.timing.stop();
    let saved =
        ci_job::write_report(&context.workspace, &context.settings, &pipeline::job_name(image.name()), &report)?;
    outcome?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "==> {}: {} (inputs-{}; {} registry queries; report {saved})",
            report.image, report.status, report.input_hash, report.registry_queries
        );
        for reference in &report.pushed {
            println!("{reference}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn root(context: &Context, args: &RootArgs) -> Result<ExitCode> {
    let tarball = ci_job::declared_tarball(context.registry, args.path.as_str())?;
    crate::plan::push::registry(&context.settings)?;
    let sh = Shell::new()?;
    sh.change_dir(&context.workspace);
    prerequisites::ensure(&sh, super::push::PUSH_TOOLS)?;
    prerequisites::ensure(&sh, prerequisites::IMPORT_TOOLS)?;
    let report = ci_job::run_root(&sh, &context.workspace, &context.settings, &tarball)?;
    root_done(context, &pipeline::root_job_name(args.path.as_str()), report)
}

fn rig_root(context: &Context) -> Result<ExitCode> {
    crate::plan::push::registry(&context.settings)?;
    let sh = Shell::new()?;
    sh.change_dir(&context.workspace);
    prerequisites::ensure(&sh, super::push::PUSH_TOOLS)?;
    let report = ci_job::run_rig_root(&sh, &context.workspace, &context.settings)?;
    root_done(context, pipeline::RIG_ROOT_JOB, report)
}

/// Saves a root job's report and says what it did.
fn root_done(context: &Context, job: &str, mut report: ci_job::RootReport) -> Result<ExitCode> {
    report.timing.stop();
    ci_job::write_report(&context.workspace, &context.settings, job, &report)?;
    println!("==> {}: {}", report.reference, report.status);
    for reference in &report.pushed {
        println!("{reference}");
    }
    Ok(ExitCode::SUCCESS)
}
