//! `cargo xtask clean`: gathers what storage and the work folder hold (one `buildah images` look, one
//! `buildah containers` look, the ledger, the work folder), plans the removals
//! ([`crate::plan::clean`]) and runs them through the step runner, logged to `logs/clean.log`. Also
//! the ledger builds write: which image ids and kept containers are the namespace's.

use std::collections::BTreeSet;
use std::io::Write as _;

use anyhow::{Context as _, Result};
use camino::{Utf8Path, Utf8PathBuf};
use image_defs::Registry;
use serde::Serialize;
use xshell::Shell;

use super::runner::StepRunner;
use super::storage;
use crate::plan::clean::{self, CleanInputs, CleanItem, LedgerEntry, WorkFile};
use crate::plan::file_stem;
use crate::settings::Settings;

/// The ledger, relative to the workspace root.
fn ledger_path(workspace: &Utf8Path, settings: &Settings) -> Utf8PathBuf {
    workspace.join(&settings.work_dir).join("ledger.jsonl")
}

/// Appends to the ledger: one line per entry, each written whole (builds of several images append
/// at once).
pub fn record(workspace: &Utf8Path, settings: &Settings, entries: &[LedgerEntry]) -> Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let path = ledger_path(workspace, settings);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {dir}"))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("opening the ledger {path}"))?;
    for entry in entries {
        let line = format!("{}\n", serde_json::to_string(entry).expect("a ledger entry serializes"));
        file.write_all(line.as_bytes()).with_context(|| format!("writing the ledger {path}"))?;
    }
    Ok(())
}

fn read_ledger(path: &Utf8Path) -> Vec<LedgerEntry> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines().filter_map(|line| serde_json::from_str(line).ok()).collect()
}

/// What a `clean` did (or, with `--dry-run`, would do).
#[derive(Debug, Serialize)]
pub struct CleanReport {
    pub dry_run: bool,
    /// Removed (or to remove): every item of the plan whose step succeeded.
    pub removed: Vec<CleanItem>,
    /// Items whose step failed, with the tool's error.
    pub failed: Vec<(CleanItem, String)>,
    /// Bytes freed (or that would be): the removed items' sizes.
    pub bytes: u64,
    pub log: Utf8PathBuf,
}

/// Plans and runs the clean-up of the settings' namespace.
pub fn run(
    sh: &Shell,
    workspace: &Utf8Path,
    settings: &Settings,
    registry: &Registry,
    dry_run: bool,
) -> Result<CleanReport> {
    let images = storage::list_images(sh)?;
    let containers = storage::list_containers(sh)?;
    let live_pids: BTreeSet<u32> = containers
        .iter()
        .filter_map(|container| container.name.strip_prefix("bg-")?.split('-').next()?.parse().ok())
        .filter(|pid: &u32| Utf8Path::new(&format!("/proc/{pid}")).exists())
        .collect();
    let ledger_file = ledger_path(workspace, settings);
    let ledger = read_ledger(&ledger_file);
    let image_stems: BTreeSet<String> = registry.in_order().map(|image| file_stem(image.name())).collect();
    let work = workspace.join(&settings.work_dir);
    let contexts = list_dir(workspace, &work.join("context"));
    let logs = list_dir(workspace, &work.join("logs"));
    let inputs = CleanInputs {
        namespace: settings.namespace.trim_end_matches('/'),
        keep_dates: settings.keep_dates,
        images: &images,
        containers: &containers,
        live_pids: &live_pids,
        ledger: &ledger,
        image_stems: &image_stems,
        contexts: &contexts,
        logs: &logs,
    };
    let plan = clean::plan(&inputs);
    let log = work.join("logs").join("clean.log");
    if dry_run {
        let bytes = plan.bytes();
        return Ok(CleanReport { dry_run, removed: plan.items, failed: Vec::new(), bytes, log });
    }
    let mut runner = StepRunner::new(sh, workspace, log.clone())?;
    runner.note(&format!("# clean {}", settings.namespace));
    let mut removed = Vec::new();
    let mut failed = Vec::new();
    for item in plan.items {
        runner.note(&format!("# {} {}: {}", item.kind, item.target, item.why));
        match runner.run_all(std::slice::from_ref(&item.step)) {
            Ok(()) => removed.push(item),
            Err(failure) => failed.push((item, failure.said)),
        }
    }
    // The ledger keeps what still exists.
    let images_now: BTreeSet<String> = storage::list_images(sh)?.into_iter().map(|image| image.id).collect();
    let containers_now: BTreeSet<String> =
        storage::list_containers(sh)?.into_iter().map(|container| container.name).collect();
    let kept: Vec<LedgerEntry> = ledger
        .into_iter()
        .filter(|entry| {
            entry.image.as_ref().is_some_and(|id| images_now.contains(id))
                || entry.container.as_ref().is_some_and(|name| containers_now.contains(name))
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let text: String = kept.iter().map(|entry| format!("{}\n", serde_json::to_string(entry).unwrap())).collect();
    if ledger_file.exists() {
        std::fs::write(&ledger_file, text).with_context(|| format!("writing the ledger {ledger_file}"))?;
    }
    let bytes = removed.iter().map(|item| item.bytes).sum();
    Ok(CleanReport { dry_run, removed, failed, bytes, log })
}

/// The entries of a folder (paths relative to the workspace root) with their sizes (a folder's: its
/// files' total).
fn list_dir(workspace: &Utf8Path, dir: &Utf8Path) -> Vec<WorkFile> {
    let Ok(entries) = dir.read_dir_utf8() else { return Vec::new() };
    let mut files: Vec<WorkFile> = entries
        .flatten()
        .map(|entry| {
            let path = entry.path();
            WorkFile {
                path: path.strip_prefix(workspace).unwrap_or(path).to_owned(),
                name: entry.file_name().to_owned(),
                bytes: disk_bytes(path),
            }
        })
        .collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}

fn disk_bytes(path: &Utf8Path) -> u64 {
    let Ok(metadata) = std::fs::symlink_metadata(path) else { return 0 };
    if !metadata.is_dir() {
        return metadata.len();
    }
    let Ok(entries) = path.read_dir_utf8() else { return 0 };
    entries.flatten().map(|entry| disk_bytes(entry.path())).sum()
}
