//! Catalyst releases, planned: the spec files and catalyst.conf of a [`Release`] and the ordered
//! commands that build its stages. Pure, apart from [`write_files`]; the executor
//! (`execute::catalyst`) runs the commands, checks the snapshot, links the seeds and imports.
//!
//! Files go to `<work-dir>/catalyst/<release>/` (`catalyst.conf`, `stage1.spec`, ...), stages to
//! catalyst's storedir (the `catalyst-storedir` setting): the snapshot to
//! `snapshots/gentoo-<commit>.sqfs`, the stages to `builds/<rel_type>/<stage>-<subarch>-<stamp>.tar.*`.
//! The commit and the default stamp come from `releases.lock` ([`lock`]).

pub mod conf;
pub mod lock;
pub mod spec;

use anyhow::{Context as _, Result};
use camino::{Utf8Path, Utf8PathBuf};
use image_defs::{CatalystOption, Release, Stage};
use serde::Serialize;

use crate::plan::Command;
use crate::settings::Settings;
pub use lock::Snapshot;
use spec::RunValues;

/// The name catalyst gives the main ebuild repository (defaults.py `repo_name`), the prefix of
/// snapshot file names and the content of the snapshot's `profiles/repo_name`.
pub const REPO_NAME: &str = "gentoo";

/// What planning a release takes besides the release and the settings.
#[derive(Clone, Copy, Debug)]
pub struct Inputs<'a> {
    /// The workspace root, absolute: `portage_confdir` is written under it (catalyst needs an
    /// absolute path). Tests pass a fixed path so no machine path reaches a snapshot.
    pub workspace: &'a Utf8Path,
    /// The recorded snapshot (`releases.lock`).
    pub snapshot: &'a Snapshot,
    /// The version stamp after `<version_prefix>-`; `None`: the snapshot's commit date.
    pub stamp: Option<&'a str>,
    /// The host's cores: `jobs` and `load-average` unless the settings say otherwise.
    pub cores: u32,
}

/// What building one release takes: files to write, then commands to run in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CatalystPlan {
    pub release: &'static str,
    /// Generated files, relative to the workspace root, with their text.
    pub files: Vec<GeneratedFile>,
    /// `catalyst -s <commit>` (only when the snapshot is missing), then `catalyst -a -f` per stage.
    pub steps: Vec<CatalystStep>,
    /// The snapshot file catalyst reads (`-s` writes it).
    pub snapshot: Utf8PathBuf,
    /// The commit the snapshot is of.
    pub treeish: String,
    /// stage1's seed, without extension (catalyst finds `<seed>.tar.*`).
    pub seed: Utf8PathBuf,
    /// `portage_confdir` as written into the specs, when the release has one.
    pub portage_confdir: Option<Utf8PathBuf>,
    /// The final stage3 tarball; catalyst writes `<stage3>.DIGESTS` next to it.
    pub stage3: Utf8PathBuf,
    /// The `-latest` links made after a successful stage3, so the next release's stage1 finds it.
    pub links: Vec<Link>,
    /// Where catalyst keeps stage3's binary packages (`pkgcache`), what `binhost sync --catalyst`
    /// publishes; `None` without the `pkgcache` option.
    pub packages: Option<Utf8PathBuf>,
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

impl crate::plan::step::PlanStep for CatalystStep {
    fn command(&self) -> Command {
        self.command.clone()
    }

    fn kind(&self) -> &'static str {
        self.name
    }
}

/// A symbolic link `path` → `target` (a file name in the same folder, so the storedir can move).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Link {
    pub path: Utf8PathBuf,
    pub target: String,
}

/// Plans `release`; `snapshot_exists` says whether `catalyst -s` is needed.
pub fn plan(
    release: &'static Release,
    settings: &Settings,
    inputs: &Inputs<'_>,
    snapshot_exists: bool,
) -> Result<CatalystPlan> {
    release.validate().map_err(|error| anyhow::anyhow!("release `{}`: {error}", release.name))?;
    let stamp = inputs.stamp.map_or_else(|| inputs.snapshot.stamp(), str::to_owned);
    let run = RunValues::new(release, &inputs.snapshot.commit, &stamp)?;
    let storedir = settings.catalyst_storedir.as_path();
    let dir = settings.work_dir.join("catalyst").join(release.name);
    let conf_path = dir.join("catalyst.conf");
    let conf = conf::render(release, settings, inputs.cores)?;
    let mut files = vec![GeneratedFile { path: conf_path.clone(), text: conf }];
    let log = |name: &str| settings.work_dir.join("logs").join(format!("catalyst+{}+{name}.log", release.name));

    let mut steps = Vec::new();
    if !snapshot_exists {
        let command = Command::new(["catalyst", "-c", conf_path.as_str(), "-s", run.treeish.as_str()]);
        steps.push(CatalystStep { name: "snapshot", command, log: log("snapshot") });
    }
    for spec in spec::specs(release, &run, inputs.workspace, storedir)? {
        let path = dir.join(format!("{}.spec", spec.stage.target()));
        // `-a` clears autoresume points, as releng's catalyst-auto does: a stage is built whole.
        let command = Command::new(["catalyst", "-a", "-c", conf_path.as_str(), "-f", path.as_str()]);
        steps.push(CatalystStep { name: spec.stage.target(), command, log: log(spec.stage.target()) });
        files.push(GeneratedFile { path, text: spec.render() });
    }

    let builds = storedir.join("builds");
    let extension = release.compression.extension();
    let stage3 =
        builds.join(format!("{}.{extension}", spec::output_subpath(release, Stage::Stage3, &run.version_stamp)));
    let latest = builds.join(format!(
        "{}.{extension}",
        spec::output_subpath(release, Stage::Stage3, &format!("{}-latest", release.version_prefix))
    ));
    let stage3_name = stage3.file_name().expect("a file name").to_owned();
    let links = vec![
        Link { path: format!("{latest}.DIGESTS").into(), target: format!("{stage3_name}.DIGESTS") },
        Link { path: latest, target: stage3_name },
    ];
    let packages = package_cache_of(release, settings).map(|(_, folder)| folder);
    Ok(CatalystPlan {
        release: release.name,
        files,
        steps,
        snapshot: snapshot_path(&run.treeish, settings),
        treeish: run.treeish.clone(),
        seed: builds.join(release.seed),
        portage_confdir: release.portage_confdir.map(|dir| inputs.workspace.join(dir)),
        stage3,
        links,
        packages,
        repository: format!("{}/stage3-{}", settings.namespace.trim_end_matches('/'), release.name),
    })
}

/// Plans `releases` in order; `exists` tells whether a snapshot file is there. A snapshot an earlier
/// release makes is not made again by a later one.
pub fn plan_all(
    releases: &[&'static Release],
    settings: &Settings,
    inputs: &Inputs<'_>,
    exists: &dyn Fn(&Utf8Path) -> bool,
) -> Result<Vec<CatalystPlan>> {
    let path = snapshot_path(&inputs.snapshot.commit, settings);
    let mut made = exists(&path);
    let mut plans = Vec::new();
    for release in releases {
        plans.push(plan(release, settings, inputs, made)?);
        made = true;
    }
    Ok(plans)
}

/// The stage3 package cache of the release called `name` and the root key `binhost sync` publishes
/// it as: `catalyst_<rel_type>_stage3-<subarch>` (releases sharing a rel_type and subarch share
/// catalyst's default cache, and so the key).
pub fn package_cache(name: &str, settings: &Settings) -> Result<(String, Utf8PathBuf)> {
    let release = image_defs::releases::get(name).with_context(|| {
        let known: Vec<&str> = image_defs::releases::all().iter().map(|release| release.name).collect();
        format!("no release `{name}`; known releases: {}", known.join(", "))
    })?;
    package_cache_of(release, settings)
        .with_context(|| format!("release `{name}` builds no binary packages: it has no `pkgcache` option"))
}

fn package_cache_of(release: &Release, settings: &Settings) -> Option<(String, Utf8PathBuf)> {
    let pkgcache =
        release.has_option(CatalystOption::Pkgcache) || settings.catalyst_options.contains(&CatalystOption::Pkgcache);
    if !pkgcache {
        return None;
    }
    let subpath = match release.pkgcache_path {
        Some(path) => path.to_owned(),
        None => spec::default_pkgcache_subpath(release, Stage::Stage3),
    };
    let key = format!("catalyst_{}", subpath.trim_start_matches("packages/").replace('/', "_"));
    Some((key, settings.catalyst_storedir.join(subpath)))
}

/// `<storedir>/snapshots/gentoo-<treeish>.sqfs` (catalyst/base/targetbase.py `set_snapshot`).
pub fn snapshot_path(treeish: &str, settings: &Settings) -> Utf8PathBuf {
    settings.catalyst_storedir.join("snapshots").join(format!("{REPO_NAME}-{treeish}.sqfs"))
}

/// What `cargo xtask catalyst --snapshot stable` runs: `catalyst -s stable`, which fetches and
/// verifies the signed tip of the `stable` branch into catalyst's clone and names the snapshot after
/// its commit, then a `git log` in that clone that prints the commit and its date.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SnapshotPlan {
    pub files: Vec<GeneratedFile>,
    pub step: CatalystStep,
    /// Prints `<commit> <commit date, seconds>`.
    pub query: Command,
}

/// Plans `catalyst -s stable` and the query of what it fetched.
pub fn plan_snapshot(settings: &Settings, cores: u32) -> Result<SnapshotPlan> {
    let conf_path = settings.work_dir.join("catalyst").join("snapshot.conf");
    let files = vec![GeneratedFile { path: conf_path.clone(), text: conf::render_snapshot(settings, cores)? }];
    let command = Command::new(["catalyst", "-c", conf_path.as_str(), "-s", "stable"]);
    let log = settings.work_dir.join("logs").join("catalyst+snapshot.log");
    // catalyst's clone: `<repos_storedir>/<repo_name>.git`, repos_storedir defaulting to
    // `<storedir>/repos` (defaults.py); its `stable` branch is what `-s stable` archived.
    let clone = settings.catalyst_storedir.join("repos").join(format!("{REPO_NAME}.git"));
    let query = Command::new(["git", "-C", clone.as_str(), "log", "-1", "--format=%H %ct", "stable"]);
    Ok(SnapshotPlan { files, step: CatalystStep { name: "snapshot", command, log }, query })
}

impl SnapshotPlan {
    /// Reads the query's output: `<commit> <seconds>`.
    pub fn parse_query(output: &str) -> Result<Snapshot> {
        let mut words = output.split_whitespace();
        let (Some(commit), Some(date), None) = (words.next(), words.next(), words.next()) else {
            anyhow::bail!("expected `<commit> <commit date>` from git, got `{}`", output.trim());
        };
        let date = date.parse().map_err(|_| anyhow::anyhow!("`{date}` is not a commit date in seconds"))?;
        Snapshot::new(commit, date)
    }
}

impl CatalystPlan {
    /// The commands as a shell script a person could run from the workspace root.
    pub fn script(&self) -> String {
        let mut out = format!("# catalyst release `{}`\n", self.release);
        for step in &self.steps {
            out.push_str(&format!("{}  # {} > {}\n", crate::plan::script::line(step), step.name, step.log));
        }
        for link in &self.links {
            out.push_str(&format!(
                "ln -sfn {} {}  # after stage3\n",
                crate::plan::command::quote(&link.target),
                crate::plan::command::quote(link.path.as_str())
            ));
        }
        out
    }
}

/// Writes `files` under `workspace`.
pub fn write_files(workspace: &Utf8Path, files: &[GeneratedFile]) -> Result<()> {
    use anyhow::Context as _;
    for file in files {
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

    const COMMIT: &str = "da31ee840e7887feb345ce81fb714853c2fc940c";

    fn settings() -> Settings {
        Settings::defaults("/var/cache".into())
    }

    fn snapshot() -> Snapshot {
        Snapshot::new(COMMIT, 1_767_225_600).unwrap()
    }

    fn inputs(snapshot: &Snapshot) -> Inputs<'_> {
        Inputs { workspace: "/ws".into(), snapshot, stamp: None, cores: 2 }
    }

    #[test]
    fn snapshot_first_only_when_missing_then_stages_in_order() {
        let snapshot = snapshot();
        let plan = plan(&AMD64_HARDENED, &settings(), &inputs(&snapshot), false).unwrap();
        let names: Vec<&str> = plan.steps.iter().map(|step| step.name).collect();
        assert_eq!(names, ["snapshot", "stage1", "stage3"]);
        assert_eq!(
            plan.steps[0].command.to_shell(),
            format!("catalyst -c target/buildah-gentoo/catalyst/amd64-hardened/catalyst.conf -s {COMMIT}")
        );
        assert_eq!(
            plan.steps[2].command.to_shell(),
            "catalyst -a -c target/buildah-gentoo/catalyst/amd64-hardened/catalyst.conf -f \
             target/buildah-gentoo/catalyst/amd64-hardened/stage3.spec"
        );
        assert_eq!(plan.steps[2].log, "target/buildah-gentoo/logs/catalyst+amd64-hardened+stage3.log");

        let plan = super::plan(&AMD64_OPENRC, &settings(), &inputs(&snapshot), true).unwrap();
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
        let snapshot = snapshot();
        let releases = [&AMD64_OPENRC, &AMD64_HARDENED];
        let first_steps = |exists: &dyn Fn(&Utf8Path) -> bool| -> Vec<Vec<&'static str>> {
            let plans = plan_all(&releases, &settings(), &inputs(&snapshot), exists).unwrap();
            plans.iter().map(|plan| plan.steps.iter().map(|step| step.name).collect()).collect()
        };
        assert_eq!(first_steps(&|_| false), [vec!["snapshot", "stage1", "stage3"], vec!["stage1", "stage3"]]);
        assert_eq!(first_steps(&|_| true), [vec!["stage1", "stage3"], vec!["stage1", "stage3"]]);
    }

    #[test]
    fn outputs_are_where_catalyst_writes_them() {
        let snapshot = snapshot();
        let plan = plan(&AMD64_HARDENED, &settings(), &inputs(&snapshot), true).unwrap();
        assert_eq!(plan.snapshot, format!("/var/tmp/catalyst/snapshots/gentoo-{COMMIT}.sqfs"));
        assert_eq!(plan.seed, "/var/tmp/catalyst/builds/23.0-hardened/stage3-amd64-hardened-openrc-latest");
        let stage3 = "stage3-amd64-hardened-openrc-20260101T000000Z.tar.xz";
        assert_eq!(plan.stage3, format!("/var/tmp/catalyst/builds/23.0-hardened/{stage3}"));
        assert_eq!(plan.repository, "localhost/gentoo/stage3-amd64-hardened");
        assert_eq!(plan.portage_confdir.as_deref(), Some(Utf8Path::new("/ws/releases/portage/stages")));
        assert_eq!(
            plan.packages.as_deref(),
            Some(Utf8Path::new("/var/tmp/catalyst/packages/23.0-hardened/stage3-amd64"))
        );
        let (key, _) = package_cache("amd64-systemd", &settings()).unwrap();
        assert_eq!(key, "catalyst_23.0-default_stage3-amd64");
        assert_eq!(package_cache("amd64-openrc", &settings()).unwrap().0, key, "one default cache, one key");
        let link = &plan.links[1];
        assert_eq!(
            (link.path.as_str(), link.target.as_str()),
            ("/var/tmp/catalyst/builds/23.0-hardened/stage3-amd64-hardened-openrc-latest.tar.xz", stage3)
        );
        assert_eq!(link.path.as_str().strip_suffix(".tar.xz"), Some(plan.seed.as_str()), "the next stage1's seed");

        let given = Inputs { stamp: Some("2026.1"), ..inputs(&snapshot) };
        let plan = super::plan(&AMD64_OPENRC, &settings(), &given, true).unwrap();
        assert!(plan.stage3.as_str().ends_with("/stage3-amd64-openrc-2026.1.tar.xz"), "{}", plan.stage3);
        let bad = Inputs { stamp: Some("a b"), ..inputs(&snapshot) };
        assert!(super::plan(&AMD64_OPENRC, &settings(), &bad, true).is_err());
    }

    #[test]
    fn the_snapshot_plan_asks_catalysts_clone_what_it_fetched() {
        let plan = plan_snapshot(&settings(), 2).unwrap();
        assert_eq!(plan.step.command.to_shell(), "catalyst -c target/buildah-gentoo/catalyst/snapshot.conf -s stable");
        assert_eq!(plan.query.to_shell(), "git -C /var/tmp/catalyst/repos/gentoo.git log -1 '--format=%H %ct' stable");
        let snapshot = SnapshotPlan::parse_query(&format!("{COMMIT} 1767225600\n")).unwrap();
        assert_eq!(snapshot.stamp(), "20260101T000000Z");
        assert!(SnapshotPlan::parse_query("").is_err());
        assert!(SnapshotPlan::parse_query("abc 12").is_err());
    }
}
