use std::process::ExitCode;

use anyhow::{bail, Context as _, Result};
use xshell::Shell;

use super::Context;
use crate::binhost::{sync, Target};

#[derive(Debug, clap::Args)]
pub struct BinhostArgs {
    #[command(subcommand)]
    pub command: BinhostCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum BinhostCommand {
    /// Publish the local binary packages (`<cache-dir>/binpkgs/<root key>`) to `<TARGET>/<root key>`:
    /// new packages first (never replacing one; a different package under the same build id is
    /// published under the next free one), then a regenerated `Packages` index swapped in whole.
    Sync(SyncArgs),
}

#[derive(Debug, clap::Args)]
pub struct SyncArgs {
    /// Publish only this root's packages (`rig`, or the root image reference with every character but
    /// letters, digits, `.` and `-` as `_`); default: every root with packages.
    #[arg(long, value_name = "KEY")]
    pub root_key: Vec<String>,
    /// Where to publish: a folder, `rsync://host[:port]/module/path` or `[user@]host:path` (rsync over
    /// ssh); default: the `binhost-publish` setting.
    #[arg(long, value_name = "TARGET")]
    pub to: Option<String>,
    /// Publish this catalyst release's stage3 package cache (`<catalyst-storedir>/packages/<rel_type>/
    /// stage3-<subarch>`, catalyst's default) as root key `catalyst_<rel_type>_stage3-<subarch>`
    /// instead of the local roots; repeatable.
    #[arg(long, value_name = "RELEASE")]
    pub catalyst: Vec<String>,
    /// Print what would be uploaded (and the rsync command lines) without changing the binhost.
    #[arg(long)]
    pub dry_run: bool,
}

pub fn run(context: &Context, args: &BinhostArgs) -> Result<ExitCode> {
    match &args.command {
        BinhostCommand::Sync(args) => run_sync(context, args),
    }
}

fn run_sync(context: &Context, args: &SyncArgs) -> Result<ExitCode> {
    let Some(text) = args.to.as_ref().or(context.settings.binhost_publish.as_ref()) else {
        bail!("no binhost to publish to: pass `--to TARGET` or set `binhost-publish` in buildah-gentoo.toml");
    };
    // A relative folder given on the command line is relative to where the command runs.
    let text = match (&args.to, text.starts_with('/') || text.contains(':')) {
        (Some(_), false) => std::env::current_dir()?.join(text).to_str().context("target is not UTF-8")?.to_owned(),
        _ => text.clone(),
    };
    let target = Target::parse(&text)?;
    let cache_dir = &context.settings.cache_dir;
    let folders: Vec<(String, camino::Utf8PathBuf)> = if !args.catalyst.is_empty() {
        let mut folders = Vec::new();
        for name in &args.catalyst {
            let folder = crate::catalyst::package_cache(name, &context.settings)?;
            if !folders.contains(&folder) {
                folders.push(folder);
            }
        }
        folders
    } else {
        let keys = if args.root_key.is_empty() { sync::local_keys(cache_dir)? } else { args.root_key.clone() };
        if keys.is_empty() {
            bail!("no binary packages in {cache_dir}/binpkgs: build some images first");
        }
        keys.into_iter().map(|key| (key.clone(), cache_dir.join("binpkgs").join(key))).collect()
    };
    let sh = Shell::new()?;
    sh.change_dir(&context.workspace);
    for (key, pkgdir) in &folders {
        let report = sync::sync_folder(&sh, pkgdir, key, &target, args.dry_run)
            .with_context(|| format!("binhost sync of root `{key}`"))?;
        for warning in &report.warnings {
            eprintln!("warning: {key}: {warning}");
        }
        let verb = if args.dry_run { "would upload" } else { "uploaded" };
        for upload in &report.uploads {
            if upload.renamed() {
                println!(
                    "{key}: {verb} {} as {} (the binhost has another package under that name)",
                    upload.local, upload.remote
                );
            } else {
                println!("{key}: {verb} {}", upload.remote);
            }
        }
        for argv in &report.commands {
            println!("{}", shlex::try_join(argv.iter().map(String::as_str)).unwrap_or_default());
        }
        println!(
            "{key} → {}: {} new, {} already there, {} in the {} index{}",
            report.target,
            report.uploads.len(),
            report.already_there,
            report.indexed,
            if report.index_changed { "new" } else { "unchanged" },
            if args.dry_run { " (dry run: nothing changed)" } else { "" }
        );
    }
    Ok(ExitCode::SUCCESS)
}
