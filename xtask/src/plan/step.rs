//! Typed plan steps. Each renders to exactly one [`Command`] (one argv).

use serde::Serialize;

use super::command::{Command, Piece, Var, Word};
use crate::settings::Isolation;

/// The working container of the image being built.
pub const CONTAINER: Var = Var("ctr");
/// The committed, not yet tagged, image.
pub const IMAGE: Var = Var("image");
/// The container the post-build test runs in.
pub const TEST_CONTAINER: Var = Var("test_ctr");
/// The container holding an ebuild repository image.
pub const REPOSITORY_CONTAINER: Var = Var("repo_ctr");
/// Where that container is mounted on the host.
pub const REPOSITORY_MOUNT: Var = Var("repo_mnt");
/// The container holding an extra repository's image, and where it is mounted on the host:
/// `repo_ctr_<name>` and `repo_mnt_<name>` (`-` in the name becomes `_`).
pub fn extra_repository_vars(name: &str) -> (Var, Var) {
    use std::collections::BTreeMap;
    use std::sync::Mutex;
    // A `Var` holds a `&'static str`: each name is made once per process and kept.
    static NAMES: Mutex<BTreeMap<String, (&'static str, &'static str)>> = Mutex::new(BTreeMap::new());
    let mut names = NAMES.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let (container, mount) = *names.entry(name.to_owned()).or_insert_with(|| {
        let name = name.replace('-', "_");
        let leak = |text: String| -> &'static str { Box::leak(text.into_boxed_str()) };
        (leak(format!("repo_ctr_{name}")), leak(format!("repo_mnt_{name}")))
    });
    (Var(container), Var(mount))
}
/// The root filesystem's size before the finalize steps (`du` output: bytes, tab, path).
pub const SIZE_BEFORE: Var = Var("size_before");
/// The root filesystem's size at the end of the build.
pub const SIZE: Var = Var("size");
/// The workspace root (the script runs from there).
pub const WORKSPACE: Var = Var("PWD");
/// Where a minimal image's working container (its new root) is mounted on the host.
pub const ROOT_MOUNT: Var = Var("root");
/// The container a minimal image's packages are emerged in.
pub const BUILDER: Var = Var("builder");
/// The packages in a minimal image's new root (`CAT/PF`, one a line), as its package database lists them.
pub const PACKAGES: Var = Var("packages");
/// The workspace's git revision (`<commit>[-dirty]`, empty outside a git checkout), captured once per run.
pub const REVISION: Var = Var("revision");
/// The digest of the image the working container was made from.
pub const BASE_DIGEST: Var = Var("base_digest");
/// Makes this run's container names unique: the executor's process id, or the script's (`$$`).
pub const RUN: Var = Var("run");
/// The image's input hash, a value of the plan or computed by a step of it.
pub const INPUTS: Var = Var("inputs");
/// The id of the image the working container starts from, when the plan does not know it yet.
pub const BASE_ID: Var = Var("base_id");
/// The id of a minimal image's builder image, when the plan does not know it yet.
pub const BUILDER_ID: Var = Var("builder_id");
/// What a minimal image's minimal parent holds, as its labels say (`CAT/PF`, one a line).
pub const PARENT_PACKAGES: Var = Var("parent_packages");
/// A minimal image's package.provided (`CAT/PF`, one a line, sorted): its minimal parent's packages
/// and its own entries.
pub const PROVIDED: Var = Var("provided");
/// Where a minimal image's new root is mounted in its builder.
pub const EMERGE_ROOT: &str = "/emerge-root";

/// The fixed script of [`Step::WriteFile`]: `$1` the path, `$2` the contents (a line is added).
pub const WRITE_FILE: &str = "mkdir -p \"${1%/*}\" && printf '%s\\n' \"$2\" > \"$1\"";

/// The fixed script of [`Step::Provided`]: its arguments' lines, sorted, without empty ones, written to
/// portage's `package.provided` and printed.
pub const PROVIDED_LIST: &str = "f=/etc/portage/profile/package.provided && mkdir -p \"${f%/*}\" && \
    { printf '%s\\n' \"$@\" | grep . | LC_ALL=C sort -u; } > \"$f\" && cat \"$f\"";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Pull {
    /// Only local images (parents this tool built).
    Never,
    /// Pull when not present locally (roots from a registry).
    Missing,
}

/// A bind mount of `buildah run`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Mount {
    pub source: Word,
    pub target: String,
    pub read_only: bool,
}

impl Mount {
    /// `--volume SOURCE:TARGET[:ro]`, or, when a path holds a `:` (a certificates folder named
    /// `host:port`), which `--volume` would split at, `--mount type=bind,source=...,destination=...[,ro]`.
    fn args(&self) -> [Word; 2] {
        let has_colon = self.target.contains(':')
            || self.source.0.iter().any(|piece| matches!(piece, Piece::Text(text) if text.contains(':')));
        let (flag, mut word, rest) = if has_colon {
            let suffix = if self.read_only { ",ro" } else { "" };
            let mut word = Word::text("type=bind,source=");
            word.0.extend(self.source.0.iter().cloned());
            ("--mount", word, format!(",destination={}{suffix}", self.target))
        } else {
            let suffix = if self.read_only { ":ro" } else { "" };
            ("--volume", self.source.clone(), format!(":{}{suffix}", self.target))
        };
        word.0.push(Piece::Text(rest));
        // Adjacent literal pieces as one, so the shell form quotes the argument once.
        let mut pieces: Vec<Piece> = Vec::new();
        for piece in word.0 {
            match (pieces.last_mut(), piece) {
                (Some(Piece::Text(last)), Piece::Text(text)) => last.push_str(&text),
                (_, piece) => pieces.push(piece),
            }
        }
        [Word::text(flag), Word(pieces)]
    }
}

/// One `buildah config` option.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfigOption {
    Env(String, String),
    Label(String, String),
    /// A label whose value is a variable's (a command's output, known when the build runs).
    LabelFrom(String, Var),
    /// A label whose value is text with variables in it (the record of the input parts, with the ids
    /// the image starts from).
    LabelWord(String, Word),
    /// An OCI manifest annotation.
    Annotation(String, String),
    /// An annotation whose value is a variable's.
    AnnotationFrom(String, Var),
    Port(String),
    Entrypoint(Vec<String>),
    Cmd(Vec<String>),
    User(String),
    Workdir(String),
    Volume(String),
    StopSignal(String),
    /// `--healthcheck 'CMD ARGV'` (buildah splits it as a shell would: every word quoted).
    Healthcheck(Vec<String>),
    /// `--healthcheck-interval`, `-timeout`, `-start-period` (seconds) and `-retries`.
    HealthcheckInterval(u32),
    HealthcheckTimeout(u32),
    HealthcheckStartPeriod(u32),
    HealthcheckRetries(u32),
}

impl ConfigOption {
    fn args(&self) -> [Word; 2] {
        let json = |argv: &Vec<String>| serde_json::to_string(argv).expect("strings serialize");
        let [option, value]: [String; 2] = match self {
            // buildah expands `$NAME` in env values (Go's os.Expand, unknown names left as the bare
            // name); `$$` comes out as a single `$`, so doubling every `$` keeps the value verbatim.
            ConfigOption::Env(key, value) => ["--env".into(), format!("{key}={}", value.replace('$', "$$"))],
            ConfigOption::Label(key, value) => ["--label".into(), format!("{key}={value}")],
            ConfigOption::LabelFrom(key, var) => {
                return [Word::text("--label"), Word(vec![Piece::Text(format!("{key}=")), Piece::Var(*var)])]
            }
            ConfigOption::LabelWord(key, word) => {
                let mut pieces = vec![Piece::Text(format!("{key}="))];
                for piece in &word.0 {
                    // Adjacent literal pieces as one, so the shell form quotes the argument once.
                    match (pieces.last_mut(), piece) {
                        (Some(Piece::Text(last)), Piece::Text(text)) => last.push_str(text),
                        (_, piece) => pieces.push(piece.clone()),
                    }
                }
                return [Word::text("--label"), Word(pieces)];
            }
            ConfigOption::Annotation(key, value) => ["--annotation".into(), format!("{key}={value}")],
            ConfigOption::AnnotationFrom(key, var) => {
                return [Word::text("--annotation"), Word(vec![Piece::Text(format!("{key}=")), Piece::Var(*var)])]
            }
            ConfigOption::Port(port) => ["--port".into(), port.clone()],
            ConfigOption::Entrypoint(argv) => ["--entrypoint".into(), json(argv)],
            ConfigOption::Cmd(argv) => ["--cmd".into(), json(argv)],
            ConfigOption::User(user) => ["--user".into(), user.clone()],
            ConfigOption::Workdir(dir) => ["--workingdir".into(), dir.clone()],
            ConfigOption::Volume(path) => ["--volume".into(), path.clone()],
            ConfigOption::StopSignal(signal) => ["--stop-signal".into(), signal.clone()],
            ConfigOption::Healthcheck(argv) => {
                let words: Vec<String> = argv.iter().map(|word| super::command::quote(word)).collect();
                ["--healthcheck".into(), format!("CMD {}", words.join(" "))]
            }
            ConfigOption::HealthcheckInterval(seconds) => ["--healthcheck-interval".into(), format!("{seconds}s")],
            ConfigOption::HealthcheckTimeout(seconds) => ["--healthcheck-timeout".into(), format!("{seconds}s")],
            ConfigOption::HealthcheckStartPeriod(seconds) => {
                ["--healthcheck-start-period".into(), format!("{seconds}s")]
            }
            ConfigOption::HealthcheckRetries(count) => ["--healthcheck-retries".into(), count.to_string()],
        };
        [Word::text(option), Word::text(value)]
    }
}

/// What the runner needs of a step of any plan (a build, a push, a catalyst release): the one command
/// it runs, a short name, whether a failure may be tried again, and what it does to container storage
/// (so a failure or an interrupt leaves nothing behind).
pub trait PlanStep {
    /// The one command this step runs (printed as a line of the plan's script).
    fn command(&self) -> Command;
    /// A short name for progress lines and logs.
    fn kind(&self) -> &'static str;
    /// Whether a failure may be tried again.
    fn retry(&self) -> Retry {
        Retry::Never
    }
    /// What the step does that a clean-up must know about.
    fn effect(&self) -> Effect {
        Effect::None
    }
    /// A step the executor runs in-process, with the function its printed command calls.
    fn in_process(&self) -> Option<InProcess<'_>> {
        None
    }
    /// Whether the output it assigns may be empty (else an empty one is a failure).
    fn may_assign_empty(&self) -> bool {
        false
    }
}

/// The steps whose printed command is a subcommand of ours (`cargo xtask ...`): the executor runs the
/// same function without a nested cargo.
#[derive(Clone, Copy, Debug)]
pub enum InProcess<'s> {
    /// `cargo xtask sbom IMAGE --from-root ROOT ...`.
    Sbom { root: &'s Word, image: &'s str, created: i64, inputs: Option<&'s Word>, output: &'s str },
    /// `VAR=$(cargo xtask inputs PARTIAL --base-id ID ...)`.
    InputHash { partial: &'s str, base: &'s Word, builder: Option<&'s Word>, into: Var },
    /// `VAR=$(cargo xtask binpkg-folder --cache-dir DIR ROOT_KEY FLAGS)`.
    BinpkgFolder { cache_dir: &'s str, root_key: &'s str, flags: Var, parent: Option<(&'s str, Var)>, into: Var },
}

/// When a failed step is tried again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retry {
    Never,
    /// A registry command: again (a bounded number of times, with backoff) when its error says the
    /// network or the registry had a passing problem.
    Registry,
    /// `buildah run`: again when buildah failed before the command started, as buildah 1.28's chroot
    /// run sometimes does (`Close_Fd sealing memfd copy: Device or resource busy`, while it copies
    /// itself to re-execute); the command itself never ran, so running the step again is safe.
    BuildahRun,
}

/// What a step does to container storage, for the clean-up after a failure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    None,
    /// Creates a container with this (known beforehand) name, assigned to the variable.
    CreatesContainer(Var, Word),
    /// Removes the container of the variable.
    RemovesContainer(Var),
    /// Commits the container of the variable (removing it) into an untagged image.
    Commits(Var),
    /// Tags the committed image: it is no longer left over.
    Tags,
}

impl PlanStep for Step {
    fn command(&self) -> Command {
        Step::command(self)
    }

    fn retry(&self) -> Retry {
        match self {
            Step::Run { .. } | Step::Capture { .. } | Step::WriteFile { .. } | Step::Provided { .. } => {
                Retry::BuildahRun
            }
            _ => Retry::Never,
        }
    }

    fn kind(&self) -> &'static str {
        Step::kind(self)
    }

    fn effect(&self) -> Effect {
        match self {
            Step::From { into, name, .. } => Effect::CreatesContainer(*into, name.clone()),
            Step::Remove { container } => Effect::RemovesContainer(*container),
            Step::Commit { container, .. } => Effect::Commits(*container),
            Step::Tag { .. } => Effect::Tags,
            _ => Effect::None,
        }
    }

    fn may_assign_empty(&self) -> bool {
        Step::may_assign_empty(self)
    }

    fn in_process(&self) -> Option<InProcess<'_>> {
        match self {
            Step::Sbom { root, image, created, inputs, output } => {
                Some(InProcess::Sbom { root, image, created: *created, inputs: inputs.as_ref(), output })
            }
            Step::InputHash { partial, base, builder, into } => {
                Some(InProcess::InputHash { partial, base, builder: builder.as_ref(), into: *into })
            }
            Step::BinpkgFolder { cache_dir, root_key, flags, parent, into } => Some(InProcess::BinpkgFolder {
                cache_dir,
                root_key,
                flags: *flags,
                parent: parent.as_ref().map(|(reference, var)| (reference.as_str(), *var)),
                into: *into,
            }),
            _ => None,
        }
    }
}

/// One step of an image's build.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    /// `VAR=$(buildah from --name NAME IMAGE)`: a working container. The name is known before the
    /// command runs, so an interrupted `from` leaves nothing that cannot be removed.
    From { into: Var, name: Word, image: Word, pull: Pull },
    /// `VAR=VALUE`: a value the plan knows (an input hash whose parents are built already).
    Assign { into: Var, value: String },
    /// `VAR=$(buildah pull --quiet REFERENCE)`: a root image from its registry, and its id.
    PullRoot { reference: String, into: Var },
    /// `VAR=$(buildah inspect --type image --format '{{.FromImageID}}' REFERENCE)`: an image's id.
    ImageId { reference: Word, into: Var },
    /// `VAR=$(cargo xtask inputs PARTIAL --base-id ID [--builder-id ID])`: the input hash of an image
    /// whose parent (or builder) is known only when the plan runs, from the hash of everything else
    /// (`partial`, a value of the plan) and those ids. The executor computes it in-process, with the
    /// same function ([`crate::plan::input_hash::combine`]).
    InputHash { partial: String, base: Word, builder: Option<Word>, into: Var },
    /// `VAR=$(cargo xtask binpkg-folder --cache-dir DIR ROOT_KEY FLAGS)`: the binary package folder
    /// for the flags read in the container (see [`crate::plan::binpkg_cache`]), made when missing
    /// with a record of the flags; its name is the value assigned. Run in-process by the executor.
    /// With `parent` (a minimal parent's reference and the variable holding its builder and flags,
    /// `--parent REF --parent-flags FLAGS`), a CHOST or profile other than the parent's is refused.
    BinpkgFolder { cache_dir: String, root_key: String, flags: Var, parent: Option<(String, Var)>, into: Var },
    /// `VAR=$(buildah inspect --type image --format '...' REFERENCE)`: label values of an image, one
    /// a line (an absent label is an empty line).
    ReadLabels { reference: String, keys: Vec<String>, into: Var },
    /// `VAR=$(buildah mount CONTAINER)`.
    Mount { container: Var, into: Var },
    /// `buildah add CONTAINER ARCHIVE DESTINATION`: unpacks a tar archive, keeping owners and modes.
    Add { container: Var, source: Word, destination: String },
    /// `buildah copy CONTAINER SOURCE DESTINATION`.
    Copy { container: Var, source: Word, destination: String, chmod: Option<u32> },
    /// `buildah run CONTAINER -- ARGV`, with volumes and environment variables of this step alone
    /// (not the image's: `buildah config --env` sets those).
    Run { container: Var, isolation: Isolation, mounts: Vec<Mount>, env: Vec<(String, String)>, argv: Vec<String> },
    /// `buildah run CONTAINER -- sh -c WRITE_FILE sh PATH CONTENTS`: writes a file (and its folder)
    /// whose contents may be a variable of the run; the script is fixed, the values are arguments.
    WriteFile { container: Var, isolation: Isolation, mounts: Vec<Mount>, path: String, contents: Word },
    /// `VAR=$(buildah run CONTAINER -- sh -c PROVIDED_LIST sh PARENT ENTRY...)`: a minimal image's
    /// `package.provided`, in its builder: what the minimal parent holds (`PARENT`, its labels' lines)
    /// and the image's own entries, one `CAT/PF` a line, sorted; the list is also the value assigned.
    Provided { container: Var, isolation: Isolation, parent: Word, entries: Vec<String>, into: Var },
    /// `VAR=$(du -sxb ROOT)` on the host: the size in bytes of a working container's root
    /// filesystem, mounted at `ROOT` (`buildah mount`). `du` follows no symlink and stays on that one
    /// filesystem; on the host it costs no container set-up (a `buildah run` of `du` took 0.6 s, the
    /// same `du` on the mount 0.1 s).
    Measure { root: Word, into: Var },
    /// `VAR=$(buildah run CONTAINER -- ARGV)`: a command whose output (possibly empty) the build keeps.
    Capture { container: Var, isolation: Isolation, mounts: Vec<Mount>, argv: Vec<String>, into: Var },
    /// `VAR=$(COMMAND)` on the host: a command whose output (possibly empty) the build keeps.
    HostCapture { argv: Vec<String>, into: Var },
    /// `COMMAND` on the host (compiling the driver for the builder image).
    Host { argv: Vec<String> },
    /// `VAR=$(buildah inspect ... CONTAINER)`: the digest of the image the container was made from.
    BaseDigest { container: Var, into: Var },
    /// `cargo xtask sbom IMAGE --from-root ROOT ...`: the SPDX document of the package database of the
    /// root filesystem mounted at `root`, written to `output` (the executor runs it in-process).
    Sbom { root: Word, image: String, created: i64, inputs: Option<Word>, output: String },
    /// `buildah config OPTIONS CONTAINER`.
    Config { container: Var, options: Vec<ConfigOption> },
    /// `VAR=$(buildah commit --rm --timestamp SECONDS CONTAINER)`: an untagged image whose creation
    /// time and file times are `timestamp`; the container is removed.
    Commit { container: Var, into: Var, timestamp: Option<i64>, omit_history: bool, docker_format: bool },
    /// `buildah tag IMAGE REFERENCES`: the only step that moves tags, after everything else passed.
    Tag { image: Var, references: Vec<Word> },
    /// `[ KEEP = REFERENCE ] || buildah rmi REFERENCE || true`: the image this one replaces loses its
    /// input-hash tag (unless the new image carries the same); an image left with no tag goes with it.
    /// A failure (the old image is in use) is only a warning.
    UntagStale { keep: Word, reference: String },
    /// `sha512sum --check --strict --quiet SUMS`: a file (on the host) has the digest the sums file gives.
    CheckDigest { sums: Word },
    /// `gpgv --keyring KEYRING SIGNATURE FILE`: a detached signature by a key of the keyring.
    CheckSignature { keyring: Word, signature: Word, file: Word },
    /// `tar --extract` of ARCHIVE (any compression tar recognises) into a mounted container, keeping
    /// numeric owners, modes, xattrs and file capabilities (`security.capability`), as Gentoo's
    /// handbook unpacks a stage3.
    Unpack { archive: Word, into: Var },
    /// `buildah umount CONTAINER`.
    Unmount { container: Var },
    /// `buildah rm CONTAINER`.
    Remove { container: Var },
}

impl Step {
    /// A short name for progress lines and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Step::From { .. } => "from",
            Step::Assign { .. } => "assign",
            Step::PullRoot { .. } => "pull",
            Step::ImageId { .. } => "inspect",
            Step::InputHash { .. } => "input hash",
            Step::BinpkgFolder { .. } => "binpkg folder",
            Step::ReadLabels { .. } => "inspect",
            Step::Mount { .. } => "mount",
            Step::Add { .. } => "add",
            Step::Copy { .. } => "copy",
            Step::Run { .. } => "run",
            Step::WriteFile { .. } => "write file",
            Step::Provided { .. } => "package.provided",
            Step::Measure { .. } => "measure",
            Step::Capture { .. } => "capture",
            Step::HostCapture { .. } => "capture",
            Step::Host { .. } => "host",
            Step::BaseDigest { .. } => "inspect",
            Step::Sbom { .. } => "sbom",
            Step::Config { .. } => "config",
            Step::Commit { .. } => "commit",
            Step::Tag { .. } => "tag",
            Step::UntagStale { .. } => "untag",
            Step::CheckDigest { .. } => "check digest",
            Step::CheckSignature { .. } => "check signature",
            Step::Unpack { .. } => "unpack",
            Step::Unmount { .. } => "umount",
            Step::Remove { .. } => "rm",
        }
    }

    /// Whether the step may assign an empty value (a command's output that can be empty).
    pub fn may_assign_empty(&self) -> bool {
        matches!(
            self,
            Step::Capture { .. } | Step::HostCapture { .. } | Step::ReadLabels { .. } | Step::Provided { .. }
        )
    }

    /// The container this step creates, if any (the executor removes it when a later step fails).
    pub fn creates_container(&self) -> Option<Var> {
        match self {
            Step::From { into, .. } => Some(*into),
            _ => None,
        }
    }

    /// The one command this step runs.
    pub fn command(&self) -> Command {
        let buildah = |args: &[&str]| Command::new(args.iter().copied());
        match self {
            Step::From { into, name, image, pull } => {
                let pull = match pull {
                    Pull::Never => "--pull=never",
                    Pull::Missing => "--pull=missing",
                };
                buildah(&["buildah", "from", pull, "--quiet", "--name"])
                    .arg(name.clone())
                    .arg(image.clone())
                    .assigning(*into)
            }
            Step::Assign { into, value } => Command::value(*into, value.as_str()),
            Step::PullRoot { reference, into } => {
                buildah(&["buildah", "pull", "--quiet"]).arg(reference.as_str()).assigning(*into)
            }
            Step::ImageId { reference, into } => {
                buildah(&["buildah", "inspect", "--type", "image", "--format", "{{.FromImageID}}"])
                    .arg(reference.clone())
                    .assigning(*into)
            }
            Step::InputHash { partial, base, builder, into } => {
                let mut command =
                    Command::new(["cargo", "xtask", "inputs", partial.as_str(), "--base-id"]).arg(base.clone());
                if let Some(builder) = builder {
                    command = command.arg("--builder-id").arg(builder.clone());
                }
                command.assigning(*into)
            }
            Step::BinpkgFolder { cache_dir, root_key, flags, parent, into } => {
                let mut command = Command::new(["cargo", "xtask", "binpkg-folder", "--cache-dir", cache_dir.as_str()]);
                if let Some((reference, var)) = parent {
                    command = command.args(["--parent", reference.as_str(), "--parent-flags"]).arg(Word::var(*var));
                }
                command.arg(root_key.as_str()).arg(Word::var(*flags)).assigning(*into)
            }
            Step::ReadLabels { reference, keys, into } => {
                let format: Vec<String> = keys
                    .iter()
                    .map(|key| format!("{{{{index .OCIv1.Config.Labels {}}}}}", serde_json::to_string(key).unwrap()))
                    .collect();
                buildah(&["buildah", "inspect", "--type", "image", "--format"])
                    .arg(format.join("{{\"\\n\"}}"))
                    .arg(reference.as_str())
                    .assigning(*into)
            }
            Step::Mount { container, into } => {
                buildah(&["buildah", "mount"]).arg(Word::var(*container)).assigning(*into)
            }
            Step::Add { container, source, destination } => buildah(&["buildah", "add", "--quiet"])
                .arg(Word::var(*container))
                .arg(source.clone())
                .arg(destination.as_str()),
            Step::Copy { container, source, destination, chmod } => {
                let mut command = buildah(&["buildah", "copy", "--quiet"]);
                if let Some(mode) = chmod {
                    command = command.arg("--chmod").arg(format!("{mode:o}"));
                }
                command.arg(Word::var(*container)).arg(source.clone()).arg(destination.as_str())
            }
            Step::Run { container, isolation, mounts, env, argv } => {
                run(*container, *isolation, mounts, env).args(argv.iter().map(String::as_str))
            }
            Step::WriteFile { container, isolation, mounts, path, contents } => {
                run(*container, *isolation, mounts, &[])
                    .args(["sh", "-c", WRITE_FILE, "sh", path.as_str()])
                    .arg(contents.clone())
            }
            Step::Provided { container, isolation, parent, entries, into } => run(*container, *isolation, &[], &[])
                .args(["sh", "-c", PROVIDED_LIST, "sh"])
                .arg(parent.clone())
                .args(entries.iter().map(String::as_str))
                .assigning(*into),
            Step::Measure { root, into } => Command::new(["du", "-sxb"]).arg(root.clone()).assigning(*into),
            Step::Capture { container, isolation, mounts, argv, into } => {
                run(*container, *isolation, mounts, &[]).args(argv.iter().map(String::as_str)).assigning(*into)
            }
            Step::HostCapture { argv, into } => Command::new(argv.iter().map(String::as_str)).assigning(*into),
            Step::Host { argv } => Command::new(argv.iter().map(String::as_str)),
            Step::BaseDigest { container, into } => {
                buildah(&["buildah", "inspect", "--type", "container", "--format", "{{.FromImageDigest}}"])
                    .arg(Word::var(*container))
                    .assigning(*into)
            }
            Step::Sbom { root, image, created, inputs, output } => {
                let mut command = Command::new(["cargo", "xtask", "sbom", image.as_str(), "--from-root"])
                    .arg(root.clone())
                    .args(["--created".to_owned(), created.to_string()]);
                if let Some(hash) = inputs {
                    command = command.arg("--inputs").arg(hash.clone());
                }
                command.args(["--output", output.as_str()])
            }
            Step::Config { container, options } => {
                let mut command = buildah(&["buildah", "config"]);
                for option in options {
                    command = command.args(option.args());
                }
                command.arg(Word::var(*container))
            }
            Step::Commit { container, into, timestamp, omit_history, docker_format } => {
                let mut command = buildah(&["buildah", "commit", "--quiet", "--rm"]);
                if *docker_format {
                    command = command.args(["--format", "docker"]);
                }
                if let Some(seconds) = timestamp {
                    command = command.args(["--timestamp".to_owned(), seconds.to_string()]);
                }
                if *omit_history {
                    command = command.arg("--omit-history");
                }
                command.arg(Word::var(*container)).assigning(*into)
            }
            Step::Tag { image, references } => {
                buildah(&["buildah", "tag"]).arg(Word::var(*image)).args(references.iter().cloned())
            }
            Step::UntagStale { keep, reference } => buildah(&["buildah", "rmi"])
                .arg(reference.as_str())
                .unless_equal_tolerant(keep.clone(), Word::text(reference.as_str())),
            Step::CheckDigest { sums } => {
                Command::new(["sha512sum", "--check", "--strict", "--quiet"]).arg(sums.clone())
            }
            Step::CheckSignature { keyring, signature, file } => {
                Command::new(["gpgv", "--keyring"]).arg(keyring.clone()).arg(signature.clone()).arg(file.clone())
            }
            Step::Unpack { archive, into } => Command::new(["tar", "--extract", "--file"])
                .arg(archive.clone())
                .arg("--directory")
                .arg(Word::var(*into))
                .args(["--numeric-owner", "--preserve-permissions", "--xattrs", "--xattrs-include=*.*"]),
            Step::Unmount { container } => buildah(&["buildah", "umount"]).arg(Word::var(*container)),
            Step::Remove { container } => buildah(&["buildah", "rm"]).arg(Word::var(*container)),
        }
    }
}

/// `buildah run --isolation ISOLATION --volume ... --env ... CONTAINER --`, ready for the command's argv.
fn run(container: Var, isolation: Isolation, mounts: &[Mount], env: &[(String, String)]) -> Command {
    let mut command = Command::new(["buildah", "run", "--isolation", isolation.as_str()]);
    for mount in mounts {
        command = command.args(mount.args());
    }
    for (key, value) in env {
        // Unlike `buildah config --env`, `buildah run --env` takes the value verbatim.
        command = command.arg("--env").arg(format!("{key}={value}"));
    }
    command.arg(Word::var(container)).arg("--")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_renders_volumes_mounts_for_paths_with_colons_and_verbatim_env() {
        let step = Step::Run {
            container: CONTAINER,
            isolation: Isolation::Chroot,
            mounts: vec![
                Mount { source: Word::text("/cache/binpkgs"), target: "/var/cache/binpkgs".into(), read_only: false },
                Mount {
                    source: Word::text("/x509/certs.d/bin.example:8443"),
                    target: "/run/buildah-gentoo/certs/bin.example:8443".into(),
                    read_only: true,
                },
            ],
            env: vec![("OPTS".into(), "--a=/x $HOME".into())],
            argv: vec!["emerge".into()],
        };
        assert_eq!(
            step.command().to_shell(),
            "buildah run --isolation chroot --volume /cache/binpkgs:/var/cache/binpkgs \
             --mount 'type=bind,source=/x509/certs.d/bin.example:8443,destination=/run/buildah-gentoo/certs/bin.example:8443,ro' \
             --env 'OPTS=--a=/x $HOME' \"${ctr}\" -- emerge"
        );
    }
}
