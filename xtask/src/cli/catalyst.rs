use std::process::ExitCode;

use anyhow::{bail, Context as _, Result};
use camino::Utf8PathBuf;
use image_defs::{releases, Release};
use xshell::Shell;

use super::Context;
use crate::catalyst::{self, lock, write_files, Inputs, Snapshot};
use crate::execute::catalyst::{build_release, preflight, record_snapshot};
use crate::execute::root_import::{self, TarballRoot};
use crate::execute::runner::ProcessSpawn;

#[derive(Debug, clap::Args)]
pub struct CatalystArgs {
    /// The release to build (default: every release, in order).
    pub release: Option<String>,
    /// Only write the spec files and catalyst.conf; needs no catalyst.
    #[arg(long, conflicts_with = "snapshot")]
    pub spec_only: bool,
    /// `stable`: run `catalyst -s stable` (fetch and verify the signed tip of Gentoo's `stable`
    /// branch), record its commit and date in `releases.lock`, and stop.
    #[arg(long, value_name = "stable", value_parser = ["stable"], conflicts_with = "release")]
    pub snapshot: Option<String>,
    /// The version stamp after `<version_prefix>-` (default: the snapshot's commit date,
    /// `%Y%m%dT%H%M%SZ`, as releng's catalyst-auto).
    #[arg(long, value_name = "STAMP")]
    pub version_stamp: Option<String>,
    /// The lock file to read (or, with `--snapshot`, write) instead of `releases.lock` at the
    /// workspace root.
    #[arg(long, value_name = "FILE")]
    pub lock: Option<Utf8PathBuf>,
}

/// Writes each release's spec files and catalyst.conf; unless `--spec-only`, runs catalyst stage by
/// stage, links the new stage3 as the next seed and imports it as a root image.
pub fn run(context: &Context, args: &CatalystArgs) -> Result<ExitCode> {
    let workspace = context.workspace();
    let lock_path = args.lock.clone().unwrap_or_else(|| workspace.join(lock::LOCK_FILE));
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
    let path = std::env::var_os("PATH").unwrap_or_default();

    if args.snapshot.is_some() {
        let plan = catalyst::plan_snapshot(&context.settings, cores)?;
        write_files(workspace, &plan.files)?;
        if crate::prerequisites::find_on_path("catalyst", &path).is_none() {
            bail!("{}", crate::execute::catalyst::INSTALL_HINT);
        }
        let sh = Shell::new()?;
        sh.change_dir(workspace);
        crate::execute::interrupt::install();
        let mut runner = ProcessSpawn(&sh);
        record_snapshot(&plan, &context.settings, workspace, &lock_path, &mut runner, &mut std::io::stdout())?;
        return Ok(ExitCode::SUCCESS);
    }

    let selected: Vec<&'static Release> = match &args.release {
        Some(name) => vec![releases::get(name).with_context(|| {
            let known: Vec<&str> = releases::all().iter().map(|release| release.name).collect();
            format!("no release `{name}`; known releases: {}", known.join(", "))
        })?],
        None => releases::all(),
    };
    let snapshot = Snapshot::read(&lock_path)?;
    let inputs = Inputs { workspace, snapshot: &snapshot, stamp: args.version_stamp.as_deref(), cores };
    let exists = |path: &camino::Utf8Path| path.exists();
    let plans = catalyst::plan_all(&selected, &context.settings, &inputs, &exists)?;
    for plan in &plans {
        write_files(workspace, &plan.files)?;
        for file in &plan.files {
            println!("wrote {}", file.path);
        }
    }
    if args.spec_only {
        return Ok(ExitCode::SUCCESS);
    }

    for plan in &plans {
        preflight(plan, &path)?;
    }
    let sh = Shell::new()?;
    sh.change_dir(workspace);
    // Ctrl-C stops the running catalyst (SIGTERM) and the run at that step.
    crate::execute::interrupt::install();
    let mut import = |plan: &catalyst::CatalystPlan| -> Result<String> {
        let tarball = TarballRoot { path: plan.stage3.clone(), digest: None, keyring: None };
        let imported = root_import::import(&sh, &context.settings, workspace, &tarball, &plan.repository)?;
        let how = if imported.skipped { "already imported" } else { "imported" };
        Ok(format!("{how} as {}", imported.reference))
    };
    for plan in &plans {
        print!("{}", plan.script());
        let mut runner = ProcessSpawn(&sh);
        build_release(plan, workspace, &mut runner, &mut import, &mut std::io::stdout())?;
        if let Some(packages) = &plan.packages {
            println!(
                "{}: binary packages in {packages}; publish them with `cargo xtask binhost sync --catalyst {}`",
                plan.release, plan.release
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
