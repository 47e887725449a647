//! The scheduler: runs the images of a plan in dependency order, up to `jobs` at once, over indices
//! into the plan. A failed or skipped image skips its dependants; without `--keep-going` the first
//! failure stops new starts; an interrupt stops everything.

use std::collections::HashMap;
use std::sync::mpsc;
use std::time::Duration;

use anyhow::Result;
use image_defs::Registry;

use super::progress::ProgressDisplay;
use super::summary::{seconds, ImageResult, Outcome, Packages, Summary};
use super::{interrupt, log_path, BuildRequest, ImageRun};
use crate::plan::{ImagePlan, Status};

/// Builds one image; called on a worker thread.
pub(super) type BuildOne<'f> = &'f (dyn Fn(ImageRun) -> (Outcome, Duration, Packages) + Sync);

/// Runs `plans` (in build order) and collects their results.
pub(super) fn run(
    plans: &[ImagePlan],
    request: &BuildRequest,
    registry: &Registry,
    log_dir: &camino::Utf8Path,
    display: &ProgressDisplay,
    build_one: BuildOne,
) -> Result<Summary> {
    let total = plans.len();
    let position: HashMap<&str, usize> = plans.iter().enumerate().map(|(i, plan)| (plan.name.as_str(), i)).collect();
    // Each image's dependencies (parent, builder) that are planned too, with their role.
    let dependencies: Vec<Vec<(usize, &'static str)>> = plans
        .iter()
        .map(|plan| {
            let image = registry.get(&plan.name).expect("planned images are registered");
            let parent = registry.parent_image(image).map(|parent| parent.name());
            registry
                .dependencies(image)
                .iter()
                .filter_map(|dependency| {
                    let role = if Some(dependency.name()) == parent { "parent" } else { "builder" };
                    position.get(dependency.name()).map(|&i| (i, role))
                })
                .collect()
        })
        .collect();
    let mut outcomes: Vec<Option<(Outcome, Duration, Packages)>> = vec![None; total];
    let mut started = vec![false; total];
    let mut running = 0usize;
    let mut stop = false;
    let jobs = request.jobs.max(1);

    std::thread::scope(|scope| {
        let (sender, receiver) = mpsc::channel::<(usize, (Outcome, Duration, Packages))>();
        loop {
            // The dependants of failed or skipped images are skipped.
            for i in 0..total {
                if outcomes[i].is_some() || started[i] {
                    continue;
                }
                let failed = dependencies[i].iter().find(|(d, _)| {
                    matches!(&outcomes[*d], Some((Outcome::Failed { .. } | Outcome::Skipped { .. }, ..)))
                });
                if let Some((d, role)) = failed {
                    let why = format!("{role} `{}` did not build", plans[*d].name);
                    display.say(&format!("==> {}: skipped: {why}", plans[i].name));
                    outcomes[i] = Some((Outcome::Skipped { why }, Duration::ZERO, Packages::default()));
                }
            }
            if interrupt::requested() {
                stop = true;
            }
            // Start what is ready.
            for i in 0..total {
                if running >= jobs || stop {
                    break;
                }
                let ready = !started[i]
                    && outcomes[i].is_none()
                    && dependencies[i].iter().all(|(d, _)| outcomes[*d].as_ref().is_some_and(|(o, ..)| o.succeeded()));
                if ready {
                    started[i] = true;
                    let run =
                        ImageRun { plan: &plans[i], number: i + 1, total, log: log_path(log_dir, &plans[i].name) };
                    // Up to date in the plan: nothing runs, so no worker (a no-op build starts no
                    // thread); its dependants, later in build order, are ready in this same pass.
                    if matches!(plans[i].status, Status::UpToDate { .. }) {
                        outcomes[i] = Some(build_one(run));
                        continue;
                    }
                    running += 1;
                    let sender = sender.clone();
                    scope.spawn(move || {
                        let _ = sender.send((i, build_one(run)));
                    });
                }
            }
            if running == 0 {
                break;
            }
            let (i, done) = receiver.recv().expect("a worker reports");
            running -= 1;
            if matches!(done.0, Outcome::Failed { .. }) && !request.keep_going {
                stop = true;
            }
            outcomes[i] = Some(done);
        }
    });

    let interrupted = interrupt::requested();
    let images = plans
        .iter()
        .zip(outcomes)
        .map(|(plan, outcome)| {
            let (outcome, time, packages) = outcome.unwrap_or_else(|| {
                let why = if interrupted { "interrupted" } else { "stopped after a failure (see --keep-going)" };
                (Outcome::Skipped { why: why.into() }, Duration::ZERO, Packages::default())
            });
            let log = log_path(log_dir, &plan.name);
            ImageResult { name: plan.name.clone(), outcome, seconds: seconds(time), log, packages }
        })
        .collect();
    Ok(Summary { images, interrupted, seconds: 0.0 })
}
