//! `cargo xtask ci gitlab|github [IMAGES... | --all] [--output FILE]`: the pipeline of the images
//! and everything they are built on, written to a file or printed.

use std::process::ExitCode;

use anyhow::{Context as _, Result};
use camino::Utf8PathBuf;

use super::Context;
use crate::pipeline::{self, Options, Selection};

#[derive(Debug, clap::Args)]
pub struct PipelineArgs {
    /// Images whose jobs the pipeline has, by name or regular expression (`'rig/.*'`), with the
    /// jobs of everything they are built on.
    #[arg(required_unless_present = "all")]
    pub images: Vec<String>,
    /// A job for every image.
    #[arg(long, conflicts_with = "images")]
    pub all: bool,
    /// Write the file here instead of printing it.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<Utf8PathBuf>,
}

/// The CI system a file is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum System {
    Gitlab,
    Github,
}

pub fn run(context: &Context, args: &PipelineArgs, system: System) -> Result<ExitCode> {
    let registry = context.registry;
    let (images, selection) = if args.all {
        (registry.in_order().collect(), Selection::All)
    } else {
        let names = super::resolve_names(registry, &args.images)?;
        (registry.with_ancestors(&names)?, Selection::Images(names))
    };
    let pipeline = pipeline::pipeline(registry, &images, selection)?;
    let logs = context.settings.work_dir.join("logs");
    let options =
        Options { ci_image: context.settings.ci_image.as_deref(), logs: logs.is_relative().then_some(logs.as_str()) };
    let text = match system {
        System::Gitlab => pipeline::gitlab::render(&pipeline, options),
        System::Github => pipeline::github::render(&pipeline, options),
    };
    match &args.output {
        Some(path) => {
            if let Some(folder) = path.parent().filter(|folder| !folder.as_str().is_empty()) {
                std::fs::create_dir_all(folder).with_context(|| format!("creating {folder}"))?;
            }
            std::fs::write(path, text).with_context(|| format!("writing {path}"))?;
            eprintln!("wrote {path} ({} jobs)", pipeline.jobs.len());
        }
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}
