use std::process::ExitCode;

use anyhow::{Context as _, Result};
use image_defs::{releases, Release};
use xshell::Shell;

use super::Context;
use crate::catalyst::{self, write_files};
use crate::execute::catalyst::{preflight, run_steps, ProcessRunner};
use crate::execute::root_import::{self, TarballRoot};

#[derive(Debug, clap::Args)]
pub struct CatalystArgs {
    /// The release to build (default: every release, in order).
    pub release: Option<String>,
    /// Only write the spec files and catalyst.conf; needs no catalyst.
    #[arg(long)]
    pub spec_only: bool,
}

/// Writes each release's spec files and catalyst.conf; unless `--spec-only`, runs catalyst stage by
/// stage and imports the stage3 as a root image.
pub fn run(context: &Context, args: &CatalystArgs) -> Result<ExitCode> {
    let selected: Vec<&'static Release> = match &args.release {
        Some(name) => vec![releases::get(name).with_context(|| {
            let known: Vec<&str> = releases::all().iter().map(|release| release.name).collect();
            format!("no release `{name}`; known releases: {}", known.join(", "))
        })?],
        None => releases::all(),
    };
    let exists = |path: &camino::Utf8Path| path.is_file();
    let plans = catalyst::plan_all(&selected, &context.settings, context.workspace(), &exists)?;
    for plan in &plans {
        write_files(context.workspace(), plan)?;
        for file in &plan.files {
            println!("wrote {}", file.path);
        }
    }
    if args.spec_only {
        return Ok(ExitCode::SUCCESS);
    }

    let path = std::env::var_os("PATH").unwrap_or_default();
    for plan in &plans {
        preflight(plan, &path)?;
    }
    let sh = Shell::new()?;
    sh.change_dir(context.workspace());
    // Ctrl-C stops the running catalyst (SIGTERM) and the run at that step.
    crate::execute::interrupt::install();
    for plan in &plans {
        print!("{}", plan.script());
        let mut runner = ProcessRunner { sh: &sh, workspace: context.workspace() };
        run_steps(plan, context.workspace(), &mut runner, &mut std::io::stdout())?;
        let tarball = TarballRoot { path: plan.stage3.clone(), digest: None, keyring: None };
        let imported = root_import::import(&sh, &context.settings, context.workspace(), &tarball, &plan.repository)
            .with_context(|| format!("importing {} as {}", plan.stage3, plan.repository))?;
        let how = if imported.skipped { "already imported" } else { "imported" };
        println!("{}: {how} as {}", plan.release, imported.reference);
    }
    Ok(ExitCode::SUCCESS)
}
