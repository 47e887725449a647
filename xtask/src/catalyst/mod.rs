//! Catalyst releases, planned: the spec files and catalyst.conf of a [`Release`] and the ordered
//! commands that build its stages. Pure, apart from [`write_files`]; the executor
//! (`execute::catalyst`) runs the commands.
//!
//! Files go to `<work-dir>/catalyst/<release>/` (`catalyst.conf`, `stage1.spec`, ...), stages to
//! catalyst's storedir (the `catalyst-storedir` setting): the snapshot to
//! `snapshots/gentoo-<treeish>.sqfs`, the stages to `builds/<rel_type>/<stage>-<subarch>-<stamp>.tar.*`.

pub mod conf;
pub mod spec;

use anyhow::Result;
use camino::{Utf8Path, Utf8PathBuf};
use image_defs::{Release, Stage};
use serde::Serialize;

use crate::plan::Command;
use crate::settings::Settings;

/// The name catalyst gives the main ebuild repository (defaults.py `repo_name`), the prefix of
/// snapshot file names.
pub const REPO_NAME: &str = "gentoo";

/// What building one release takes: files to write, then commands to run in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CatalystPlan {
    pub release: &'static str,
    /// Generated files, relative to the workspace root, with their text.
    pub files: Vec<GeneratedFile>,
    /// `catalyst -s` (only when the snapshot is missing), then `catalyst -f` per stage.
    pub steps: Vec<CatalystStep>,
    /// The snapshot file catalyst reads (`-s` writes it).
    pub snapshot: Utf8PathBuf,
    /// stage1's seed, without extension (catalyst finds `<seed>.tar.*`).
    pub seed: Utf8PathBuf,
    /// `portage_confdir` as written into the specs, when the release has one.
    pub portage_confdir: Option<Utf8PathBuf>,
    /// The final stage3 tarball; catalyst writes `<stage3>.DIGESTS` next to it.
    pub stage3: Utf8PathBuf,
    /// The image repository the stage3 is imported into: `<namespace>/stage3-<release>`.
    pub repository: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GeneratedFile {
    pub path: Utf8PathBuf,
    pub text: String,
}

/// One catalyst run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CatalystStep {
    /// `snapshot`, `stage1`, `stage2` or `stage3`.
    pub name: &'static str,
    pub command: Command,
    /// Its output, relative to the workspace root: `<work-dir>/logs/catalyst+<release>+<name>.log`.
    pub log: Utf8PathBuf,
}

/// Plans `release`. `workspace` is written into the specs only for `portage_confdir`;
/// `snapshot_exists` says whether `catalyst -s` is needed.
pub fn plan(
    release: &'static Release,
    settings: &Settings,
    workspace: &Utf8Path,
    snapshot_exists: bool,
) -> Result<CatalystPlan> {
    release.validate().map_err(|error| anyhow::anyhow!("release `{}`: {error}", release.name))?;
    let storedir = settings.catalyst_storedir.as_path();
    let dir = settings.work_dir.join("catalyst").join(release.name);
    let conf_path = dir.join("catalyst.conf");
    let mut files = vec![GeneratedFile { path: conf_path.clone(), text: conf::render(release, storedir)? }];
    let log = |name: &str| settings.work_dir.join("logs").join(format!("catalyst+{}+{name}.log", release.name));

    let mut steps = Vec::new();
    if !snapshot_exists {
        let command = Command::new(["catalyst", "-c", conf_path.as_str(), "-s", release.snapshot_treeish]);
        steps.push(CatalystStep { name: "snapshot", command, log: log("snapshot") });
    }
    for spec in spec::specs(release, workspace, storedir)? {
        let path = dir.join(format!("{}.spec", spec.stage.target()));
        let command = Command::new(["catalyst", "-c", conf_path.as_str(), "-f", path.as_str()]);
        steps.push(CatalystStep { name: spec.stage.target(), command, log: log(spec.stage.target()) });
        files.push(GeneratedFile { path, text: spec.render() });
    }

    let builds = storedir.join("builds");
    let stage3 = format!("{}.{}", spec::output_subpath(release, Stage::Stage3), release.compression.extension());
    Ok(CatalystPlan {
        release: release.name,
        files,
        steps,
        snapshot: snapshot_path(release, settings),
        seed: builds.join(release.seed),
        portage_confdir: release.portage_confdir.map(|dir| workspace.join(dir)),
        stage3: builds.join(stage3),
        repository: format!("{}/stage3-{}", settings.namespace.trim_end_matches('/'), release.name),
    })
}

/// Plans `releases` in order; `exists` tells whether a snapshot file is there. A snapshot an earlier
/// release makes is not made again by a later one.
pub fn plan_all(
    releases: &[&'static Release],
    settings: &Settings,
    workspace: &Utf8Path,
    exists: &dyn Fn(&Utf8Path) -> bool,
) -> Result<Vec<CatalystPlan>> {
    let mut snapshotted = std::collections::BTreeSet::new();
    let mut plans = Vec::new();
    for release in releases {
        let path = snapshot_path(release, settings);
        let snapshot_exists = exists(&path) || !snapshotted.insert(path);
        plans.push(plan(release, settings, workspace, snapshot_exists)?);
    }
    Ok(plans)
}

/// `<storedir>/snapshots/gentoo-<treeish>.sqfs` (catalyst/base/targetbase.py `set_snapshot`).
pub fn snapshot_path(release: &Release, settings: &Settings) -> Utf8PathBuf {
    settings.catalyst_storedir.join("snapshots").join(format!("{REPO_NAME}-{}.sqfs", release.snapshot_treeish))
}

impl CatalystPlan {
    /// The commands as a shell script a person could run from the workspace root.
    pub fn script(&self) -> String {
        let mut out = format!("# catalyst release `{}`\n", self.release);
        for step in &self.steps {
            out.push_str(&format!("{}  # {} > {}\n", step.command.to_shell(), step.name, step.log));
        }
        out
    }
}

/// Writes the plan's files under `workspace`.
pub fn write_files(workspace: &Utf8Path, plan: &CatalystPlan) -> Result<()> {
    use anyhow::Context as _;
    for file in &plan.files {
        let path = workspace.join(&file.path);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {dir}"))?;
        }
        std::fs::write(&path, &file.text).with_context(|| format!("writing {path}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use image_defs::releases::{AMD64_HARDENED, AMD64_OPENRC};

    fn settings() -> Settings {
        Settings::defaults("/var/cache".into())
    }

    #[test]
    fn snapshot_first_only_when_missing_then_stages_in_order() {
        let plan = plan(&AMD64_HARDENED, &settings(), "/ws".into(), false).unwrap();
        let names: Vec<&str> = plan.steps.iter().map(|step| step.name).collect();
        assert_eq!(names, ["snapshot", "stage1", "stage2", "stage3"]);
        assert_eq!(
            plan.steps[0].command.to_shell(),
            "catalyst -c target/buildah-gentoo/catalyst/amd64-hardened/catalyst.conf -s \
             da31ee840e7887feb345ce81fb714853c2fc940c"
        );
        assert_eq!(
            plan.steps[2].command.to_shell(),
            "catalyst -c target/buildah-gentoo/catalyst/amd64-hardened/catalyst.conf -f \
             target/buildah-gentoo/catalyst/amd64-hardened/stage2.spec"
        );
        assert_eq!(plan.steps[3].log, "target/buildah-gentoo/logs/catalyst+amd64-hardened+stage3.log");

        let plan = super::plan(&AMD64_OPENRC, &settings(), "/ws".into(), true).unwrap();
        let names: Vec<&str> = plan.steps.iter().map(|step| step.name).collect();
        assert_eq!(names, ["stage1", "stage3"]);
        let paths: Vec<&str> = plan.files.iter().map(|file| file.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "target/buildah-gentoo/catalyst/amd64-openrc/catalyst.conf",
                "target/buildah-gentoo/catalyst/amd64-openrc/stage1.spec",
                "target/buildah-gentoo/catalyst/amd64-openrc/stage3.spec",
            ]
        );
    }

    #[test]
    fn a_snapshot_is_made_once_per_run() {
        let releases = [&AMD64_OPENRC, &AMD64_HARDENED];
        let first_steps = |exists: &dyn Fn(&Utf8Path) -> bool| -> Vec<Vec<&'static str>> {
            let plans = plan_all(&releases, &settings(), "/ws".into(), exists).unwrap();
            plans.iter().map(|plan| plan.steps.iter().map(|step| step.name).collect()).collect()
        };
        assert_eq!(first_steps(&|_| false), [vec!["snapshot", "stage1", "stage3"], vec!["stage1", "stage2", "stage3"]]);
        assert_eq!(first_steps(&|_| true), [vec!["stage1", "stage3"], vec!["stage1", "stage2", "stage3"]]);
        let other = Release { name: "other", snapshot_treeish: "0123456789abcdef", ..AMD64_OPENRC };
        let other: &'static Release = Box::leak(Box::new(other));
        let plans = plan_all(&[&AMD64_OPENRC, other], &settings(), "/ws".into(), &|_| false).unwrap();
        assert!(plans.iter().all(|plan| plan.steps[0].name == "snapshot"), "two treeishes, two snapshots");
    }

    #[test]
    fn outputs_are_where_catalyst_writes_them() {
        let plan = plan(&AMD64_HARDENED, &settings(), "/ws".into(), true).unwrap();
        assert_eq!(plan.snapshot, "/var/tmp/catalyst/snapshots/gentoo-da31ee840e7887feb345ce81fb714853c2fc940c.sqfs");
        assert_eq!(plan.seed, "/var/tmp/catalyst/builds/23.0-hardened/stage3-amd64-hardened-openrc-latest");
        assert_eq!(plan.stage3, "/var/tmp/catalyst/builds/23.0-hardened/stage3-amd64-hardened-openrc-20260101.tar.xz");
        assert_eq!(plan.repository, "localhost/gentoo/stage3-amd64-hardened");
        assert_eq!(plan.portage_confdir, None);
    }
}
