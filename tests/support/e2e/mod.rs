//! The end-to-end harness: real buildah, real emerge, the real `cargo xtask` CLI on the offline rig.
//!
//! Every test starts a [`Session`]: it holds a global lock (buildah on a small machine should not run
//! ten builds at once), has its own image namespace (`localhost/e2e-<name>-<pid>`) and its own binary
//! package cache (a temporary folder), and removes every image of its namespace when it ends, even
//! when the test panics. The rig root (`localhost/buildah-gentoo/rig-root:*`) is shared and never
//! removed; it is built once, before the first test, with a cache under `target/e2e/shared-cache`.
//!
//! Tests run the CLI in a [`Workspace`] copy (the files git knows, symlinks kept), so logs and build
//! contexts are their own and definitions can be edited; the nested cargo builds into
//! `target/e2e-target` (the outer `cargo test` holds the lock on `target/`).

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use camino::{Utf8Path, Utf8PathBuf};
use serde_json::Value;
use tempfile::TempDir;

use crate::workspace_root;

mod output;
mod process;
mod recorder;
mod session;
mod storage;
mod workspace;

pub use output::*;
pub use process::*;
pub use recorder::*;
pub use session::*;
pub use storage::*;
pub use workspace::*;

/// The rig's full images (`image-defs/src/images/rig/`).
pub const RIG_IMAGES: [&str; 5] = ["rig/base", "rig/hello", "rig/greeter", "rig/alpha", "rig/beta"];

/// The rig's minimal images, built in `rig/base`: scratch → busybox → greeter-min → hello-min.
pub const MINIMAL_RIG_IMAGES: [&str; 3] = ["rig/busybox", "rig/greeter-min", "rig/hello-min"];

/// The isolation every buildah call of the suite uses.
pub const ISOLATION: &str = "chroot";

/// Where the nested cargo builds the tool, for every suite: test binaries run one after another, and
/// the tool finds its workspace at run time (`cargo run` sets `CARGO_MANIFEST_DIR`), so workspace
/// copies can share one build folder.
pub fn cargo_target_dir() -> Utf8PathBuf {
    workspace_root().join("target/e2e-target")
}

/// Where the nested cargo builds the tool for workspace copies with edited files. Cargo decides
/// freshness by modification times and finds sources relative to the package, so a build of an
/// edited copy would pass for fresh in the workspace itself (whose files are older) and run the
/// edited definitions there; edited copies therefore never share a build folder with unedited ones.
pub fn edited_cargo_target_dir() -> Utf8PathBuf {
    workspace_root().join("target/e2e-target-edited")
}

/// The binary package folder the rig's builds use in `cache`: the one `binpkgs/rig-<flags hash>`
/// (every rig image builds with the same flags). Panics, listing what is there, unless there is
/// exactly one.
pub fn rig_binpkgs(cache: &Utf8Path) -> Utf8PathBuf {
    cache.join("binpkgs").join(rig_key(cache))
}

/// The name of that folder (`rig-<flags hash>`): the root key `binhost sync` publishes it under.
pub fn rig_key(cache: &Utf8Path) -> String {
    let binpkgs = cache.join("binpkgs");
    let keys: Vec<String> = binpkgs
        .read_dir_utf8()
        .map(|entries| entries.flatten().map(|entry| entry.file_name().to_owned()).collect())
        .unwrap_or_default();
    let rig: Vec<&String> = keys.iter().filter(|key| key.starts_with("rig-")).collect();
    assert_eq!(rig.len(), 1, "one rig package folder in {binpkgs}: {keys:?}");
    rig[0].clone()
}

/// The folder of the suite's shared state (the rig root's debootstrap cache).
pub fn e2e_dir() -> Utf8PathBuf {
    workspace_root().join("target/e2e")
}
