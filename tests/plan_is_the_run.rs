//! The printed plan is the run: `sh` running the script `cargo xtask plan --deps` prints builds the
//! same image (the same id: commits are reproducible) as `cargo xtask build --force`, and buildah sees
//! the same calls from both, argument for argument, in the same order.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::process::Command;

use camino::Utf8PathBuf;

use buildah_gentoo_tests::e2e::*;
use regex::Regex;

/// Calls with what differs from run to run replaced: container names carry the run's process id,
/// and container ids and mount paths are new each time (image ids are not: they must match).
fn normalized(calls: Vec<Vec<String>>, image_ids: &[String]) -> Vec<String> {
    let run = Regex::new(r"bg-[0-9]+-").unwrap();
    let hex = Regex::new(r"[0-9a-f]{64}").unwrap();
    let mut seen: Vec<String> = Vec::new();
    calls
        .into_iter()
        .map(|argv| {
            let line = argv.join(" ");
            let line = run.replace_all(&line, "bg-RUN-").into_owned();
            hex.replace_all(&line, |found: &regex::Captures| {
                let value = found[0].to_owned();
                if image_ids.contains(&value) {
                    return format!("IMAGE<{}>", &value[..12]);
                }
                let index = seen.iter().position(|known| *known == value).unwrap_or_else(|| {
                    seen.push(value.clone());
                    seen.len() - 1
                });
                format!("ID{index}")
            })
            .into_owned()
        })
        .collect()
}

/// Every file of an image: path → mode, owner, mtime, size and content (or link target).
fn files_of(id: &str) -> BTreeMap<String, String> {
    let container = buildah_ok(&["from", "--pull=never", "--quiet", id]);
    let mount = Utf8PathBuf::from(buildah_ok(&["mount", &container]));
    let mut files = BTreeMap::new();
    let mut folders = vec![mount.clone()];
    while let Some(folder) = folders.pop() {
        for entry in folder.read_dir_utf8().unwrap() {
            let path = entry.unwrap().path().to_owned();
            let meta = path.symlink_metadata().unwrap();
            let content = if meta.is_file() {
                format!("{:x?}", &std::fs::read(&path).unwrap()[..])
            } else if meta.is_symlink() {
                std::fs::read_link(&path).unwrap().display().to_string()
            } else {
                String::new()
            };
            if meta.is_dir() {
                folders.push(path.clone());
            }
            let key = format!("/{}", path.strip_prefix(&mount).unwrap());
            let hash = xtask::hash::sha256(content.as_bytes());
            files.insert(
                key,
                format!(
                    "mode {:o} {}:{} mtime {} size {} {hash}",
                    meta.mode(),
                    meta.uid(),
                    meta.gid(),
                    meta.mtime(),
                    meta.len()
                ),
            );
        }
    }
    buildah_ok(&["rm", &container]);
    files
}

/// What differs between two images' files.
fn file_differences(a: &str, b: &str) -> Vec<String> {
    let (a, b) = (files_of(a), files_of(b));
    let mut differences = Vec::new();
    for path in a.keys().chain(b.keys()).collect::<std::collections::BTreeSet<_>>() {
        if a.get(path) != b.get(path) {
            differences.push(format!("{path}: {:?} / {:?}", a.get(path), b.get(path)));
        }
    }
    differences
}

/// The images a plan script builds, from its `# Image `NAME`` comments.
fn plan_images(script: &str) -> Vec<String> {
    script.lines().filter_map(|line| line.strip_prefix("# Image `")?.split('`').next().map(str::to_owned)).collect()
}

#[test]
fn the_plan_script_builds_what_build_builds_with_the_same_calls() {
    let session = Session::start("planrun");
    let ws = Workspace::copy();
    let images = ["rig/greeter-min", "rig/hello"];
    // The parents exist (and the binary packages): the script's images start from stored roots.
    session.xtask(&ws, &["build", images[0], images[1]]).expect_success();
    let recorder = BuildahRecorder::new();
    for image in images {
        let plan = session.xtask(&ws, &["plan", "--deps", image]);
        plan.expect_success();
        let script = plan.stdout;
        assert!(script.contains("inputs=$(cargo xtask inputs "), "a parent built by the script: {script}");

        let build_log = recorder.log(&format!("{}-build", image.replace('/', "+")));
        let path = recorder.path();
        let build = session.xtask_with_env(
            &ws,
            &["build", "--force", image],
            &[("PATH", &path), ("BUILDAH_ARGV_LOG", build_log.as_str())],
        );
        build.expect_success();
        let built = session.id(image).expect("build --force tagged the image");
        let chain: Vec<String> = plan_images(&script);
        let built_chain = session.ids(&chain.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(build.result_of(image), Some("built"), "{}", build.describe());

        let script_log = recorder.log(&format!("{}-script", image.replace('/', "+")));
        let mut sh = Command::new("sh");
        sh.arg("-c")
            .arg(&script)
            .current_dir(ws.root())
            .env("PATH", &path)
            .env("BUILDAH_ARGV_LOG", script_log.as_str())
            .env("BUILDAH_ISOLATION", ISOLATION)
            .env("CARGO_TARGET_DIR", cargo_target_dir());
        let ran = run(sh);
        assert!(ran.success(), "the printed plan failed:\n{}", ran.describe());
        let from_script = session.id(image).expect("the script tagged the image");
        let script_chain = session.ids(&chain.iter().map(String::as_str).collect::<Vec<_>>());
        for name in &chain {
            let (a, b) = (built_chain[name].clone().unwrap(), script_chain[name].clone().unwrap());
            if a != b {
                let config = |id: &str| inspect_image(id)["OCIv1"]["config"].clone();
                panic!(
                    "{name}: the script built another image than build --force\n{:#?}\n{:#?}\nfiles:\n{}",
                    config(&a),
                    config(&b),
                    file_differences(&a, &b).join("\n")
                );
            }
        }

        // The build's first call is its one look at storage (the inputs the plan was made from); the
        // script was printed from such a look. Everything after is the plan, call for call.
        let mut build_calls = BuildahRecorder::calls(&build_log);
        assert_eq!(build_calls.first().map(|argv| argv.join(" ")).as_deref(), Some("images --json --no-trunc"));
        build_calls.remove(0);
        let ids = vec![built.clone()];
        let (build_calls, script_calls) =
            (normalized(build_calls, &ids), normalized(BuildahRecorder::calls(&script_log), &ids));
        assert!(build_calls.len() > 20, "{build_calls:#?}");
        for (index, (executor, printed)) in build_calls.iter().zip(&script_calls).enumerate() {
            assert_eq!(executor, printed, "{image}: call {index} differs");
        }
        assert_eq!(build_calls.len(), script_calls.len(), "{image}: {build_calls:#?}\n{script_calls:#?}");
        assert_eq!(from_script, built);
    }
}
