//! Figures 1 to 4: the real `cargo xtask` binary, the real buildah and the real rig images, in a
//! namespace and cache of the bench's own (`localhost/bench`, `target/bench/cache`), so the user's
//! images and caches are not touched.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use camino::{Utf8Path, Utf8PathBuf};

use super::stats::{self, Samples, Target};
use super::table::Row;
use crate::execute::interrupt;

/// The repository prefix of the images the bench builds.
pub const NAMESPACE: &str = "localhost/bench";
/// The rig images: the main job.
pub const RIG_IMAGES: &str = "rig/.*";
/// Two independent rig images of equal work (one trivial ebuild each, both on `rig/base`).
pub const BRANCHES: [&str; 2] = ["rig/alpha", "rig/beta"];
/// The image definition the authoring loop edits (and restores).
pub const EDITED_DEFINITION: &str = "image-defs/src/images/rig/alpha.rs";

/// Figure 1's pair of milliseconds-long commands runs this many times the light rounds.
const NO_OP_ROUNDS_FACTOR: usize = 5;

/// The bench's surroundings: the workspace, the xtask binary and the bench's own folders.
pub struct Bench {
    /// The process id of the last command [`Bench::time`] ran (a plan script names its containers
    /// after its shell's).
    last_pid: std::cell::Cell<u32>,
    pub workspace: Utf8PathBuf,
    /// The running xtask binary: what `cargo xtask` runs, without cargo's own start-up.
    pub exe: PathBuf,
    /// `target/bench`: the cache, the plan script, the last command's output.
    pub dir: Utf8PathBuf,
}

impl Bench {
    pub fn new(workspace: &Utf8Path) -> Result<Bench> {
        let dir = workspace.join("target/bench");
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {dir}"))?;
        let exe = std::env::current_exe().context("finding the xtask binary")?;
        Ok(Bench { last_pid: std::cell::Cell::new(0), workspace: workspace.to_owned(), exe, dir })
    }

    fn cache_dir(&self) -> Utf8PathBuf {
        self.dir.join("cache")
    }

    /// `xtask --namespace localhost/bench --cache-dir target/bench/cache ARGS`, from the workspace root.
    fn xtask(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.exe);
        command.args(["--namespace", NAMESPACE, "--cache-dir", self.cache_dir().as_str()]).args(args);
        self.prepare(command)
    }

    fn buildah(&self, args: &[&str]) -> Command {
        self.prepare(crate::execute::storage::buildah(args))
    }

    fn prepare(&self, mut command: Command) -> Command {
        command.current_dir(&self.workspace);
        if std::env::var_os("BUILDAH_ISOLATION").is_none() {
            command.env("BUILDAH_ISOLATION", "chroot");
        }
        command
    }

    /// Runs `command` to its end; its output goes to `target/bench/last-command.log`. Returns the
    /// wall time from spawn to exit. A failure (or Ctrl-C) is an error that shows the output's end.
    fn time(&self, mut command: Command) -> Result<Duration> {
        let log = self.dir.join("last-command.log");
        let file = File::create(&log).with_context(|| format!("creating {log}"))?;
        command.stdin(Stdio::null()).stdout(file.try_clone()?).stderr(file);
        let shown = describe(&command);
        let time = stats::time(|| {
            let mut child = command.spawn().with_context(|| format!("starting `{shown}`"))?;
            self.last_pid.set(child.id());
            let status = child.wait().with_context(|| format!("waiting for `{shown}`"))?;
            if interrupt::requested() {
                bail!("interrupted");
            }
            if !status.success() {
                let output = std::fs::read_to_string(&log).unwrap_or_default();
                let tail: Vec<&str> = output.lines().rev().take(15).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                bail!("`{shown}` failed ({status}); its output ({log}) ends with:\n{}", tail.join("\n"));
            }
            Ok(())
        })?;
        Ok(time)
    }

    /// The standard output of `command`, which must succeed.
    fn read(&self, mut command: Command) -> Result<String> {
        let shown = describe(&command);
        let output = command.output().with_context(|| format!("starting `{shown}`"))?;
        if !output.status.success() {
            bail!("`{shown}` failed ({}): {}", output.status, String::from_utf8_lossy(&output.stderr).trim());
        }
        String::from_utf8(output.stdout).with_context(|| format!("output of `{shown}`"))
    }

    /// Builds the rig images once, untimed: the rig root (when missing), the bench's images and the
    /// binary package cache, so that forced builds install binary packages instead of compiling.
    pub fn warm_up(&self) -> Result<()> {
        eprintln!("bench: warming up: build {RIG_IMAGES} into {NAMESPACE} (cache {})", self.cache_dir());
        self.time(self.xtask(&["build", RIG_IMAGES])).context("warming up")?;
        Ok(())
    }

    /// Times `command`, which replaces images of the bench's namespace, then removes the images it
    /// left without any name (those it replaced). Untagged images of others are never touched.
    fn time_replacing(&self, command: Command) -> Result<Duration> {
        let ours_before: BTreeSet<String> = self
            .stored_images()?
            .into_iter()
            .filter(|(_, names)| names.iter().any(|name| name.starts_with(&format!("{NAMESPACE}/"))))
            .map(|(id, _)| id)
            .collect();
        let containers_before = self.container_names()?;
        let result = self.time(command);
        // Whatever happened: containers a failed plan script left behind go (only those: the plan
        // script's containers are named `bg-<its shell's pid>-...`; other processes' containers are
        // not ours), then replaced images.
        let plan_script_prefix = format!("bg-{}-", self.last_pid.get());
        for container in
            self.container_names()?.difference(&containers_before).filter(|name| name.starts_with(&plan_script_prefix))
        {
            let _ = self.read(self.buildah(&["rm", container]));
        }
        // A replaced parent may only go after its replaced children: passes until nothing moves.
        let mut replaced: Vec<String> = self
            .stored_images()?
            .into_iter()
            .filter(|(id, names)| names.is_empty() && ours_before.contains(id))
            .map(|(id, _)| id)
            .collect();
        while !replaced.is_empty() {
            let before = replaced.len();
            replaced.retain(|id| self.read(self.buildah(&["rmi", id])).is_err());
            if replaced.len() == before {
                eprintln!("bench: warning: could not remove the replaced images {}", replaced.join(" "));
                break;
            }
        }
        result
    }

    /// Image ids and their names, from `buildah images --json`.
    fn stored_images(&self) -> Result<BTreeMap<String, Vec<String>>> {
        let json = self.read(self.buildah(&["images", "--json", "--no-trunc"]))?;
        let listed: serde_json::Value =
            if json.trim().is_empty() { serde_json::json!([]) } else { serde_json::from_str(&json)? };
        Ok(listed
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|image| {
                let id = image["id"].as_str()?.trim_start_matches("sha256:").to_owned();
                let names = image["names"].as_array().into_iter().flatten();
                Some((id, names.filter_map(|name| name.as_str().map(str::to_owned)).collect()))
            })
            .collect())
    }

    fn container_names(&self) -> Result<BTreeSet<String>> {
        let listed =
            self.read(self.buildah(&["containers", "--all", "--noheading", "--format", "{{.ContainerName}}"]))?;
        Ok(listed.lines().map(str::to_owned).filter(|name| !name.is_empty()).collect())
    }

    /// Figure 1: a no-op `build 'rig/.*'` against one look at storage (`buildah images`), and a
    /// forced build against the no-op.
    pub fn no_op_rebuild(&self, rounds: usize, heavy_rounds: usize) -> Result<Vec<Row>> {
        let storage = || self.time(self.buildah(&["images", "--json", "--no-trunc"]));
        let no_op = || self.time(self.xtask(&["build", RIG_IMAGES]));
        // Each of the pair takes tens of milliseconds, and the machine's noise is of the same size:
        // five times the rounds, for medians that hold still.
        let rounds = rounds * NO_OP_ROUNDS_FACTOR;
        progress(1, "no-op build against buildah images", rounds);
        let (looks, no_ops) = stats::alternate(rounds, |_| storage(), |_| no_op())?;
        progress(1, "forced build against no-op build", heavy_rounds);
        let (no_ops_again, forced) = stats::alternate(
            heavy_rounds,
            |_| no_op(),
            |_| self.time_replacing(self.xtask(&["build", "--force", RIG_IMAGES])),
        )?;
        Ok(vec![
            Row::plain("1 buildah images (one look at storage)", looks.clone()),
            Row {
                figure: format!("1 no-op build '{RIG_IMAGES}' vs buildah images"),
                ratio: Some(no_ops.ratio_to(&looks)),
                samples: no_ops,
                target: Some(Target::RatioAtMost(1.5)),
            },
            Row {
                figure: format!("1 build --force '{RIG_IMAGES}' vs no-op"),
                ratio: Some(forced.ratio_to(&no_ops_again)),
                samples: forced,
                target: Some(Target::RatioAtLeast(50.0)),
            },
        ])
    }

    /// Figure 2: a forced build of the two branch images through `build` against `sh` running the
    /// script `plan` prints for them (the same buildah commands, no orchestration).
    pub fn orchestration_overhead(&self, heavy_rounds: usize) -> Result<Vec<Row>> {
        let mut plan_args = vec!["plan"];
        plan_args.extend(BRANCHES);
        let script = self.read(self.xtask(&plan_args)).context("printing the plan script")?;
        let script_path = self.dir.join("plan.sh");
        std::fs::write(&script_path, script).with_context(|| format!("writing {script_path}"))?;
        let mut build_args = vec!["build", "--force", "--no-deps"];
        build_args.extend(BRANCHES);
        progress(2, "sh plan script against build --force", heavy_rounds);
        let (by_hand, built) = stats::alternate(
            heavy_rounds,
            |_| {
                let mut sh = Command::new("sh");
                sh.arg(script_path.as_str());
                self.time_replacing(self.prepare(sh))
            },
            |_| self.time_replacing(self.xtask(&build_args)),
        )?;
        let images = BRANCHES.join(" ");
        Ok(vec![
            Row::plain(format!("2 sh plan script ({images})"), by_hand.clone()),
            Row {
                figure: "2 build --force --no-deps vs sh plan script".into(),
                ratio: Some(built.ratio_to(&by_hand)),
                samples: built,
                target: Some(Target::RatioAtMost(1.05)),
            },
        ])
    }

    /// Figure 3: `--jobs 2` against `--jobs 1` on the two independent branch images.
    pub fn parallelism(&self, heavy_rounds: usize) -> Result<Vec<Row>> {
        let build = |jobs: &'static str| {
            let mut args = vec!["build", "--force", "--no-deps", "--jobs", jobs];
            args.extend(BRANCHES);
            self.time_replacing(self.xtask(&args))
        };
        progress(3, "--jobs 1 against --jobs 2", heavy_rounds);
        let (one, two) = stats::alternate(heavy_rounds, |_| build("1"), |_| build("2"))?;
        let images = BRANCHES.join(" ");
        Ok(vec![
            Row::plain(format!("3 --jobs 1 ({images})"), one.clone()),
            Row {
                figure: "3 --jobs 2 speed-up over --jobs 1".into(),
                ratio: Some(one.ratio_to(&two)),
                samples: two,
                target: Some(Target::RatioAtLeast(1.7)),
            },
        ])
    }

    /// Figure 7: the fixed cost of an image. A forced `build --no-deps rig/alpha` (one binary package
    /// to install) against its floor by hand: the plan's own `buildah from` and emerge run, then
    /// `buildah commit`, as a shell script cut from the plan script `plan rig/alpha` prints.
    pub fn fixed_cost(&self, rounds: usize) -> Result<Vec<Row>> {
        let image = BRANCHES[0];
        let plan = self.read(self.xtask(&["plan", image])).context("printing the plan script")?;
        let key = self.binpkg_key()?;
        let id_file = self.dir.join("floor-image.id");
        let floor = floor_script(&plan, &key, id_file.as_str())?;
        let script_path = self.dir.join("floor.sh");
        std::fs::write(&script_path, floor).with_context(|| format!("writing {script_path}"))?;
        let by_hand = || -> Result<Duration> {
            let mut sh = Command::new("sh");
            sh.arg(script_path.as_str());
            let time = self.time_replacing(self.prepare(sh))?;
            let id = std::fs::read_to_string(&id_file).with_context(|| format!("reading {id_file}"))?;
            self.read(self.buildah(&["rmi", id.trim()])).context("removing the floor's image")?;
            Ok(time)
        };
        progress(7, &format!("build --force --no-deps {image} against from + emerge + commit by hand"), rounds);
        let (floors, builds) = stats::alternate(
            rounds,
            |_| by_hand(),
            |_| self.time_replacing(self.xtask(&["build", "--force", "--no-deps", image])),
        )?;
        Ok(vec![
            Row::plain(format!("7 from + emerge + commit by hand ({image})"), floors.clone()),
            Row {
                figure: format!("7 build --force --no-deps {image} vs by hand"),
                ratio: Some(builds.ratio_to(&floors)),
                samples: builds,
                target: Some(Target::RatioAtMost(1.3)),
            },
        ])
    }

    /// The rig's binary package folder in the bench's cache (`rig-<flags hash>`; one after the warm-up).
    fn binpkg_key(&self) -> Result<String> {
        let binpkgs = self.cache_dir().join("binpkgs");
        let keys: Vec<String> = binpkgs
            .read_dir_utf8()
            .with_context(|| format!("reading {binpkgs}"))?
            .flatten()
            .map(|entry| entry.file_name().to_owned())
            .filter(|name| name.starts_with("rig-"))
            .collect();
        match keys.as_slice() {
            [key] => Ok(key.clone()),
            _ => bail!("expected one rig package folder in {binpkgs}, found {keys:?}"),
        }
    }

    /// Figure 4: `cargo xtask plan rig/alpha` after an edit of its definition (incremental compile
    /// and run) against the same with nothing changed, and a cold `cargo build` of the workspace.
    /// Both use a temporary target folder; the definition is restored byte for byte afterwards.
    pub fn authoring_loop(&self, rounds: usize) -> Result<Vec<Row>> {
        let target = tempfile::Builder::new()
            .prefix("cold-target-")
            .tempdir_in(&self.dir)
            .with_context(|| format!("creating a temporary target folder in {}", self.dir))?;
        let cargo = |args: &[&str]| {
            let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
            command.args(args).env("CARGO_TARGET_DIR", target.path()).env("CARGO_TERM_COLOR", "never");
            self.prepare(command)
        };
        progress(4, "cold cargo build of the workspace", 1);
        let cold = Samples::new(vec![self.time(cargo(&["build", "--workspace"]))?])?;
        let cache_dir = self.cache_dir();
        let plan_args = ["xtask", "--namespace", NAMESPACE, "--cache-dir", cache_dir.as_str(), "plan", BRANCHES[0]];
        self.time(cargo(&plan_args))?; // builds the binary `cargo xtask` runs, untimed
        let definition = self.workspace.join(EDITED_DEFINITION);
        let original = Restore::save(&definition)?;
        progress(4, "plan after an edit against plan unchanged", rounds);
        let (edited, unchanged) = stats::alternate(
            rounds,
            |round| {
                original.write_edited(round)?;
                self.time(cargo(&plan_args))
            },
            |_| self.time(cargo(&plan_args)),
        )?;
        original.restore()?;
        Ok(vec![
            Row::plain("4 cold cargo build --workspace", cold),
            Row::plain(format!("4 cargo xtask plan {}, nothing changed", BRANCHES[0]), unchanged.clone()),
            Row {
                figure: format!("4 cargo xtask plan {} after an edit", BRANCHES[0]),
                ratio: Some(edited.ratio_to(&unchanged)),
                samples: edited,
                target: Some(Target::MedianAtMost(Duration::from_secs(3))),
            },
        ])
    }
}

/// A file's original bytes, written back when this is dropped (after an error or Ctrl-C too).
pub struct Restore {
    path: Utf8PathBuf,
    bytes: Vec<u8>,
}

impl Restore {
    pub fn save(path: &Utf8Path) -> Result<Restore> {
        let bytes = std::fs::read(path).with_context(|| format!("reading {path}"))?;
        Ok(Restore { path: path.to_owned(), bytes })
    }

    /// The original with a comment line added that differs from round to round: a real change.
    pub fn write_edited(&self, round: usize) -> Result<()> {
        let mut edited = self.bytes.clone();
        edited.extend_from_slice(format!("// edited by `cargo xtask bench`, round {round}\n").as_bytes());
        std::fs::write(&self.path, edited).with_context(|| format!("editing {}", self.path))
    }

    /// Writes the original bytes back (only when they differ, so an unchanged file keeps its time).
    pub fn restore(&self) -> Result<()> {
        if std::fs::read(&self.path).ok().as_deref() != Some(self.bytes.as_slice()) {
            std::fs::write(&self.path, &self.bytes).with_context(|| format!("restoring {}", self.path))?;
        }
        Ok(())
    }
}

impl Drop for Restore {
    fn drop(&mut self) {
        if let Err(error) = self.restore() {
            eprintln!("bench: error: {error:#}");
        }
    }
}

/// The floor of figure 7 from a plan script: its `buildah from` and its emerge run (the commands
/// as printed, each with its continuation lines), then `buildah commit`, the image id written to
/// `id_file`. The binary package folder is `key` (a variable the plan computes in the container).
fn floor_script(plan: &str, key: &str, id_file: &str) -> Result<String> {
    let mut commands: Vec<String> = Vec::new();
    let mut current = String::new();
    for line in plan.lines() {
        current.push_str(line);
        current.push('\n');
        if !line.ends_with('\\') {
            commands.push(std::mem::take(&mut current));
        }
    }
    let find = |what: &str, test: &dyn Fn(&str) -> bool| {
        commands.iter().find(|command| test(command)).cloned().with_context(|| format!("no {what} in the plan script"))
    };
    let from = find("`buildah from`", &|c| c.starts_with("ctr=$(buildah from"))?;
    let emerge = find("emerge run", &|c| c.starts_with("buildah run") && c.contains("emerge --verbose"))?;
    let quoted = |text: &str| shlex::try_quote(text).map(|q| q.into_owned()).context("a NUL in a path");
    Ok(format!(
        "set -e\nrun=$$\nbinpkg_key={}\n{from}{emerge}buildah commit --quiet --rm \"${{ctr}}\" > {}\n",
        quoted(key)?,
        quoted(id_file)?
    ))
}

fn progress(figure: u8, what: &str, rounds: usize) {
    eprintln!("bench: figure {figure}: {what}, {rounds} round(s)");
}

fn describe(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|arg| shlex::try_quote(&arg.to_string_lossy()).map(|quoted| quoted.into_owned()).unwrap_or_default())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_edited_definition_is_restored_byte_for_byte_even_on_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = Utf8PathBuf::from_path_buf(dir.path().join("alpha.rs")).unwrap();
        let original = b"// no newline at the end, a \xc3\xa9 and CRLF\r\nfn x() {}".to_vec();
        std::fs::write(&path, &original).unwrap();
        let result: Result<()> = (|| {
            let saved = Restore::save(&path)?;
            saved.write_edited(3)?;
            let edited = std::fs::read_to_string(&path)?;
            assert!(edited.ends_with("round 3\n"), "{edited}");
            bail!("a failed measurement")
        })();
        assert!(result.is_err());
        assert_eq!(std::fs::read(&path).unwrap(), original);
    }

    #[test]
    fn the_floor_is_the_plans_from_and_emerge_then_a_commit() {
        let plan = "run=$$\nctr=$(buildah from \\\n    --name x base)\nbuildah copy \"${ctr}\" a /\nbuildah run \\\n    \"${ctr}\" -- emerge --verbose a\nbuildah run \"${ctr}\" -- emerge --depclean\n";
        let floor = floor_script(plan, "rig-1", "/t/id").unwrap();
        assert_eq!(
            floor,
            "set -e\nrun=$$\nbinpkg_key=rig-1\nctr=$(buildah from \\\n    --name x base)\nbuildah run \\\n    \"${ctr}\" -- emerge --verbose a\nbuildah commit --quiet --rm \"${ctr}\" > /t/id\n"
        );
        assert!(floor_script("buildah copy x\n", "k", "f").is_err());
    }

    #[test]
    fn commands_are_shown_quoted() {
        let mut command = Command::new("xtask");
        command.args(["build", "rig/.*", "--jobs", "2"]);
        assert_eq!(describe(&command), "xtask build 'rig/.*' --jobs 2");
    }
}
