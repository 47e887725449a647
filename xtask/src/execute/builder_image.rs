//! The builder image, built: the planned steps (`plan::builder_image`), one runner, clean-up on
//! failure.

use anyhow::{bail, Result};
use camino::Utf8Path;
use xshell::Shell;

use super::StepRunner;
use crate::plan::builder_image::{steps, Driver};
use crate::plan::step::IMAGE;
use crate::settings::Settings;

/// Builds `<namespace>/builder` from `from`; returns its image id.
pub fn build(sh: &Shell, workspace: &Utf8Path, settings: &Settings, from: &str, driver: &Driver) -> Result<String> {
    let log = workspace.join(&settings.work_dir).join("logs/builder.log");
    println!("==> builder image from {from}: building (log {log})");
    let clock = std::time::Instant::now();
    let mut runner = StepRunner::new(sh, workspace, log.clone())?;
    runner.env("BUILDAH_ISOLATION", settings.isolation.as_str());
    if let Err(failure) = runner.run_all(&steps(settings, from, driver, &crate::clock::today_utc())) {
        runner.clean_up(false);
        bail!(
            "builder image: step {} ({}) failed: {}\n$ {}\nlast lines of the log ({log}):\n{}",
            failure.index + 1,
            failure.kind,
            failure.reason,
            failure.command,
            runner.log_tail(15)
        );
    }
    println!("==> builder image: built in {:.1}s", clock.elapsed().as_secs_f64());
    Ok(runner.var(IMAGE).unwrap_or_default().to_owned())
}
