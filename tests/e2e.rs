//! End-to-end tests: real buildah, real emerge, through the real `cargo xtask` CLI, on the offline
//! rig (a Debian root with portage from PyPI and the ebuild repository in `tests/rig/repo`).
//!
//! Each test runs in its own copy of the workspace, with its own image namespace and binary package
//! cache, one test at a time (see `support/e2e.rs`). Run with
//! `BUILDAH_ISOLATION=chroot cargo test -p buildah-gentoo-tests --test e2e -- --nocapture`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use buildah_gentoo_tests::e2e::*;
use serde_json::Value;

const HELLO_RS: &str = "image-defs/src/images/rig/hello.rs";
const ALPHA_RS: &str = "image-defs/src/images/rig/alpha.rs";
const BETA_RS: &str = "image-defs/src/images/rig/beta.rs";

/// `>>> Emerging ...` CPVs as the rig's ebuilds name them.
const LIBGREET: &str = "dev-libs/libgreet-1";
const HELLO: &str = "app-misc/hello-1";
const GREETER: &str = "app-misc/greeter-1";
const BUILDTOOL: &str = "dev-util/buildtool-1";

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| item.to_string()).collect()
}

/// The binary packages of one package in a cache folder (`binpkgs/rig-<flags>/CAT/PN/*.gpkg.tar`).
fn binpkgs(cache: &camino::Utf8Path, category_package: &str) -> Vec<String> {
    let dir = rig_binpkgs(cache).join(category_package);
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(|entry| entry.ok())
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .filter(|name| name.ends_with(".gpkg.tar"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// (1) A chain of three images on the rig root plus two more branches builds, parents first; `list`,
/// `list --json` and `graph --format dot` agree with each other and with what storage holds.
#[test]
fn chain_and_branches_build_and_list_and_graph_agree() {
    let session = Session::start("chain");
    let ws = Workspace::copy();
    let date_before = xtask::clock::today_utc();
    let build = session.xtask(&ws, &["build", "rig/greeter", "rig/alpha", "rig/beta"]);
    build.expect_success();
    let date_after = xtask::clock::today_utc();

    // What the CLI says about the definitions.
    let list = session.xtask(&ws, &["list"]);
    list.expect_success();
    let names: Vec<&str> = list.stdout.lines().collect();
    let list_json = session.xtask(&ws, &["list", "--json"]);
    list_json.expect_success();
    let entries: Vec<Value> = serde_json::from_str(&list_json.stdout).expect("list --json prints JSON");
    let json_names: Vec<&str> = entries.iter().map(|entry| entry["name"].as_str().unwrap()).collect();
    assert_eq!(names, json_names, "`list` and `list --json` disagree on the images or their order");
    let parent: BTreeMap<&str, &Value> =
        entries.iter().map(|entry| (entry["name"].as_str().unwrap(), &entry["parent"])).collect();
    let parent_image = |name: &str| parent[name]["image"].as_str();
    assert_eq!(parent["rig/base"], &Value::from("rig"), "rig/base stands on the rig root");
    assert_eq!(parent_image("rig/hello"), Some("rig/base"));
    assert_eq!(parent_image("rig/greeter"), Some("rig/hello"));
    assert_eq!(parent_image("rig/alpha"), Some("rig/base"));
    assert_eq!(parent_image("rig/beta"), Some("rig/base"));
    for (index, name) in names.iter().enumerate() {
        if let Some(parent) = parent_image(name) {
            let parent_index = names.iter().position(|n| *n == parent).expect("the parent is listed");
            assert!(parent_index < index, "`list` puts {name} before its parent {parent}: {names:?}");
        }
    }

    // Every edge of the dot graph is a parent relation of `list --json`, and every relation an edge.
    let graph = session.xtask(&ws, &["graph", "--format", "dot"]);
    graph.expect_success();
    let mut root_labels = BTreeMap::new();
    let mut nodes = BTreeSet::new();
    let mut edges = Vec::new();
    let mut builder_edges = Vec::new();
    for line in graph.stdout.lines().map(str::trim) {
        let line = line.trim_end_matches(';');
        if let Some(edge) = line.strip_suffix(" [style=dashed, label=\"builder\"]") {
            // A minimal image's builder: drawn dashed, beside its parent edge.
            let (from, to) = edge.split_once(" -> ").expect("an edge");
            builder_edges.push((from.trim_matches('"').to_owned(), to.trim_matches('"').to_owned()));
        } else if let Some((from, to)) = line.split_once(" -> ") {
            edges.push((from.to_owned(), to.trim_matches('"').to_owned()));
        } else if let Some((id, attributes)) = line.split_once(" [shape=ellipse, label=") {
            root_labels.insert(id.to_owned(), attributes.trim_end_matches(']').trim_matches('"').to_owned());
        } else if line.starts_with('"') {
            nodes.insert(line.trim_matches('"').to_owned());
        }
    }
    assert_eq!(nodes, names.iter().map(|n| n.to_string()).collect::<BTreeSet<_>>(), "dot nodes vs `list`");
    assert_eq!(edges.len(), names.len(), "one edge into each image:\n{}", graph.stdout);
    for (from, to) in &edges {
        let listed = parent.get(to.as_str()).unwrap_or_else(|| panic!("dot edge into unlisted {to}"));
        match root_labels.get(from) {
            Some(label) => {
                let agrees = match listed {
                    Value::String(kind) if kind == "rig" => label.starts_with("rig root"),
                    Value::Object(map) if map.contains_key("registry") => map["registry"] == label.as_str(),
                    Value::Object(map) if map.contains_key("tarball") => {
                        *label == format!("tarball {}", map["tarball"].as_str().unwrap())
                    }
                    _ => false,
                };
                assert!(agrees, "dot: root `{label}` -> {to}, but `list --json` says parent {listed}");
            }
            None => {
                let from = from.trim_matches('"');
                assert_eq!(listed["image"].as_str(), Some(from), "dot: {from} -> {to}, `list --json`: {listed}");
            }
        }
    }
    for name in &names {
        assert_eq!(edges.iter().filter(|(_, to)| to == name).count(), 1, "edges into {name}");
    }
    let builders: BTreeMap<&str, &Value> =
        entries.iter().map(|entry| (entry["name"].as_str().unwrap(), &entry["builder"])).collect();
    assert!(!builder_edges.is_empty(), "the rig's minimal images have builders:\n{}", graph.stdout);
    for (from, to) in &builder_edges {
        assert_eq!(builders[to.as_str()]["image"].as_str(), Some(from.as_str()), "dot: builder {from} of {to}");
    }
    let minimal = entries.iter().filter(|entry| entry["layout"] == "minimal").count();
    assert_eq!(builder_edges.len(), minimal, "one builder edge into each minimal image:\n{}", graph.stdout);

    // The build: all five, each after its parent finished, in `list` order.
    assert_eq!(build.totals().as_deref(), Some("5 built, 0 up to date, 0 failed, 0 skipped"), "{}", build.describe());
    let lines: Vec<&str> = build.stdout.lines().collect();
    let line_of = |image: &str, text: &str| {
        lines
            .iter()
            .position(|line| Progress::parse(line).is_some_and(|p| p.image == image && p.text.starts_with(text)))
            .unwrap_or_else(|| panic!("no `{image}: {text}` line:\n{}", build.stdout))
    };
    for image in RIG_IMAGES {
        assert_eq!(build.result_of(image), Some("built"), "{image}\n{}", build.stdout);
        if let Some(parent) = parent_image(image) {
            assert!(
                line_of(parent, "built in") < line_of(image, "building"),
                "{image} started before its parent {parent} was built:\n{}",
                build.stdout
            );
        }
    }
    let started: Vec<String> = build
        .progress()
        .into_iter()
        .filter(|p| p.text.starts_with("building"))
        .map(|p| {
            assert_eq!(p.total, 5, "{p:?}");
            p.image
        })
        .collect();
    let listed_rig: Vec<String> = names.iter().filter(|n| RIG_IMAGES.contains(n)).map(|n| n.to_string()).collect();
    assert_eq!(started, listed_rig, "with --jobs 1 images build in `list` order");

    // Storage: three tags per image on one id, the labels, and each image stacked on its parent.
    let references = session.references();
    for image in RIG_IMAGES {
        let latest = session.latest(image);
        let id = session.id(image).unwrap_or_else(|| panic!("{latest} missing"));
        let labels = image_labels(&latest);
        assert_eq!(labels.get("io.buildah-gentoo.image").map(String::as_str), Some(image));
        let inputs = labels.get("io.buildah-gentoo.inputs").unwrap_or_else(|| panic!("{image}: no inputs label"));
        assert!(inputs.len() == 32 && inputs.bytes().all(|b| b.is_ascii_hexdigit()), "{image}: inputs {inputs}");
        let prefix = format!("{}/{image}:", session.namespace);
        let mut tags: Vec<&str> =
            references.keys().filter_map(|name| name.strip_prefix(prefix.as_str())).collect::<Vec<_>>();
        tags.sort();
        let date = if tags.contains(&date_before.as_str()) { &date_before } else { &date_after };
        let mut expected = vec![date.clone(), format!("inputs-{inputs}"), "latest".to_owned()];
        expected.sort();
        assert_eq!(tags, expected, "{image}'s tags");
        for tag in &tags {
            assert_eq!(references[&format!("{prefix}{tag}")], id, "{image}:{tag} is on another image");
        }
        let base = match parent_image(image) {
            Some(parent) => session.latest(parent),
            None => session.rig_root().to_owned(),
        };
        let (layers, base_layers) = (diff_ids(&latest), diff_ids(&base));
        assert!(
            layers.len() > base_layers.len() && layers.starts_with(&base_layers),
            "{image} is not built on {base}: {layers:?} vs {base_layers:?}"
        );
    }

    // And the images work.
    assert_eq!(
        run_in_image_ok(&session.latest("rig/greeter"), &["/usr/bin/greeter"]).trim(),
        "greetings from libgreet"
    );
    assert_eq!(run_in_image_ok(&session.latest("rig/hello"), &["hello"]).trim(), "hello from rig");
    let alpha = packages_in_image(&session.latest("rig/alpha"));
    let beta = packages_in_image(&session.latest("rig/beta"));
    assert!(alpha.contains(&"app-misc/alpha-1".into()) && alpha.contains(&LIBGREET.into()), "{alpha:?}");
    assert!(!alpha.iter().any(|p| p.starts_with("app-misc/beta") || p.starts_with("app-misc/hello")), "{alpha:?}");
    assert!(beta.contains(&"app-misc/beta-1".into()) && !beta.contains(&"app-misc/alpha-1".into()), "{beta:?}");
}

/// 2 and 4. USE flags declared in Rust decide what is installed, and changing one rebuilds that
/// image's package from source while the others come from binary packages.
#[test]
fn use_flags_decide_what_is_installed_and_a_changed_flag_rebuilds_only_that_package() {
    let session = Session::start("use");
    let ws = Workspace::copy();
    session.xtask(&ws, &["build", "rig/greeter"]).expect_success();
    let (hello, greeter) = (session.latest("rig/hello"), session.latest("rig/greeter"));

    // USE=extra (hello.rs: `package_use!("app-misc/hello" => "extra")`).
    assert!(exists_in_image(&hello, "/usr/share/hello/greeting"));
    assert!(exists_in_image(&hello, "/usr/share/hello/extra"), "USE=extra did not install /usr/share/hello/extra");
    assert!(exists_in_image(&greeter, "/usr/share/hello/extra"), "the child inherits its parent's files");
    let package_use = run_in_image_ok(&hello, &["cat", "/etc/portage/package.use/rig+hello"]);
    assert!(package_use.lines().any(|line| line == "app-misc/hello extra"), "{package_use}");
    let use_flags = run_in_image_ok(&hello, &["cat", "/var/db/pkg/app-misc/hello-1/USE"]);
    assert!(use_flags.split_whitespace().any(|flag| flag == "extra"), "installed with USE={use_flags}");
    assert_eq!(ws.emerged("rig/hello"), Emerged { source: strings(&[HELLO]), binary: vec![] });
    let base_log = ws.log("rig/base");
    assert_eq!(Emerged::parse(&base_log).source, strings(&[LIBGREET]));
    let before = session.ids(&["rig/base", "rig/hello", "rig/greeter"]);

    // USE=-extra.
    ws.edit(HELLO_RS, r#"package_use!("app-misc/hello" => "extra")"#, r#"package_use!("app-misc/hello" => "-extra")"#);
    let rebuild = session.xtask(&ws, &["build", "rig/greeter"]);
    rebuild.expect_success();
    assert_eq!(rebuild.result_of("rig/base"), Some("up to date"), "{}", rebuild.stdout);
    assert_eq!(rebuild.result_of("rig/hello"), Some("built"), "{}", rebuild.stdout);
    assert_eq!(rebuild.result_of("rig/greeter"), Some("built"), "{}", rebuild.stdout);
    let after = session.ids(&["rig/base", "rig/hello", "rig/greeter"]);
    assert_eq!(after["rig/base"], before["rig/base"]);
    assert_ne!(after["rig/hello"], before["rig/hello"]);
    assert_ne!(after["rig/greeter"], before["rig/greeter"]);

    // hello from source (no binary package has USE=-extra), greeter from its binary package, and
    // libgreet untouched: rig/base was not rebuilt, its log is the first build's.
    let hello_log = ws.log("rig/hello");
    assert_eq!(Emerged::parse(&hello_log), Emerged { source: strings(&[HELLO]), binary: vec![] }, "{hello_log}");
    let greeter_log = ws.log("rig/greeter");
    assert_eq!(Emerged::parse(&greeter_log), Emerged { source: vec![], binary: strings(&[GREETER]) }, "{greeter_log}");
    assert!(!greeter_log.contains(">>> Emerging ("), "{greeter_log}");
    assert_eq!(ws.log("rig/base"), base_log, "rig/base was up to date: its log must not be rewritten");
    assert_eq!(binpkgs(&session.cache_dir(), "app-misc/hello").len(), 2, "one hello binary package per USE");
    assert_eq!(binpkgs(&session.cache_dir(), "app-misc/greeter").len(), 1, "greeter was not built again");

    // What is installed follows the flag.
    assert!(exists_in_image(&hello, "/usr/share/hello/greeting"));
    assert!(!exists_in_image(&hello, "/usr/share/hello/extra"), "USE=-extra still installed the extra file");
    assert!(!exists_in_image(&greeter, "/usr/share/hello/extra"), "greeter was built on the old rig/hello");
    let use_flags = run_in_image_ok(&hello, &["cat", "/var/db/pkg/app-misc/hello-1/USE"]);
    assert!(!use_flags.split_whitespace().any(|flag| flag == "extra"), "installed with USE={use_flags}");
}

/// (3) Images deleted from storage are built again from the binary package cache.
#[test]
fn deleted_images_are_rebuilt_from_binary_packages() {
    let session = Session::start("binpkg");
    let ws = Workspace::copy();
    let chain = ["rig/base", "rig/hello", "rig/greeter"];
    session.xtask(&ws, &["build", "rig/greeter"]).expect_success();
    // The first build compiles everything, and leaves binary packages.
    assert_eq!(ws.emerged("rig/base"), Emerged { source: strings(&[LIBGREET]), binary: vec![] });
    assert_eq!(ws.emerged("rig/hello"), Emerged { source: strings(&[HELLO]), binary: vec![] });
    let greeter = ws.emerged("rig/greeter");
    assert_eq!(
        greeter.source.iter().collect::<BTreeSet<_>>(),
        [BUILDTOOL.to_owned(), GREETER.to_owned()].iter().collect()
    );
    assert!(greeter.binary.is_empty(), "{greeter:?}");
    for package in ["dev-libs/libgreet", "app-misc/hello", "app-misc/greeter", "dev-util/buildtool"] {
        assert_eq!(binpkgs(&session.cache_dir(), package).len(), 1, "binary package of {package}");
    }
    let old = session.ids(&chain);

    session.remove_images(&["rig/greeter", "rig/hello", "rig/base"]);
    assert!(session.references().is_empty(), "{:?}", session.references());

    let again = session.xtask(&ws, &["build", "rig/greeter"]);
    again.expect_success();
    assert_eq!(again.totals().as_deref(), Some("3 built, 0 up to date, 0 failed, 0 skipped"), "{}", again.stdout);
    for (image, package) in [("rig/base", LIBGREET), ("rig/hello", HELLO), ("rig/greeter", GREETER)] {
        let log = ws.log(image);
        assert_eq!(Emerged::parse(&log), Emerged { source: vec![], binary: strings(&[package]) }, "{image}:\n{log}");
        assert!(!log.contains(">>> Emerging ("), "{image} built something from source:\n{log}");
        assert!(!log.contains(">>> Compiling source"), "{image}:\n{log}");
    }
    let new = session.ids(&chain);
    for image in chain {
        assert!(new[image].is_some() && new[image] != old[image], "{image}: {:?} vs {:?}", new[image], old[image]);
    }
    // Still one binary package each: nothing was built again.
    for package in ["dev-libs/libgreet", "app-misc/hello", "app-misc/greeter"] {
        assert_eq!(binpkgs(&session.cache_dir(), package).len(), 1, "binary packages of {package}");
    }
    assert_eq!(
        run_in_image_ok(&session.latest("rig/greeter"), &["/usr/bin/greeter"]).trim(),
        "greetings from libgreet"
    );
    assert!(exists_in_image(&session.latest("rig/hello"), "/usr/share/hello/extra"), "the binary package kept USE");
}

/// (5) Building the same images again with nothing changed builds nothing.
#[test]
fn an_unchanged_build_builds_nothing() {
    let session = Session::start("noop");
    let ws = Workspace::copy();
    let request = ["build", "rig/greeter", "rig/alpha"];
    let images = ["rig/base", "rig/hello", "rig/greeter", "rig/alpha"];
    session.xtask(&ws, &request).expect_success();

    let references = session.references();
    assert_eq!(references.len(), 12, "three tags for each of four images: {references:#?}");
    let logs: Vec<(String, std::time::SystemTime, String)> = images
        .iter()
        .map(|image| {
            let modified = std::fs::metadata(ws.log_path(image)).unwrap().modified().unwrap();
            (image.to_string(), modified, ws.log(image))
        })
        .collect();
    let before = containers();

    // Watch storage while the second run goes: no container of ours may appear, even briefly.
    let mut second = session.spawn_xtask(&ws, &session.cache_dir(), &request);
    let mut appeared = Vec::new();
    let clock = Instant::now();
    while second.running() && clock.elapsed() < Duration::from_secs(300) {
        appeared.extend(session.new_containers(&before, &containers()));
        second.wait_for_line(Duration::from_millis(100), |_| false);
    }
    let (second, _) = second.finish(Duration::from_secs(300));
    second.expect_success();
    appeared.extend(session.new_containers(&before, &containers()));
    assert!(appeared.is_empty(), "containers were created by a run with nothing to do: {appeared:#?}");

    assert_eq!(second.totals().as_deref(), Some("0 built, 4 up to date, 0 failed, 0 skipped"), "{}", second.stdout);
    for image in images {
        assert_eq!(second.result_of(image), Some("up to date"), "{}", second.stdout);
        let progress = second.progress_of(image);
        assert!(progress.len() == 1 && progress[0].starts_with("up to date"), "{image}: {progress:?}");
    }
    assert_eq!(session.references(), references, "tags or ids changed");
    for (image, modified, text) in logs {
        assert_eq!(
            std::fs::metadata(ws.log_path(&image)).unwrap().modified().unwrap(),
            modified,
            "{image}'s log was rewritten"
        );
        assert_eq!(ws.log(&image), text, "{image}'s log changed");
    }
}

/// (6) A changed parent rebuilds itself and its children; images on other branches stay up to date.
#[test]
fn a_changed_parent_rebuilds_its_children_and_nothing_else() {
    let session = Session::start("parent");
    let ws = Workspace::copy();
    let images = ["rig/base", "rig/alpha", "rig/hello", "rig/greeter"];
    session.xtask(&ws, &["build", "rig/greeter", "rig/alpha"]).expect_success();
    let before = session.ids(&images);
    let old_inputs_tag =
        names_of(before["rig/hello"].as_ref().unwrap()).into_iter().find(|name| name.contains(":inputs-")).unwrap();
    let alpha_log = ws.log("rig/alpha");

    ws.edit(
        HELLO_RS,
        r#"env: &[("GREETING", "hello from the rig")]"#,
        r#"env: &[("GREETING", "hello from the rig"), ("E2E_PARENT_CHANGED", "yes")]"#,
    );
    let again = session.xtask(&ws, &["build", "rig/greeter", "rig/alpha"]);
    again.expect_success();
    let expected: BTreeMap<String, String> =
        [("rig/base", "up to date"), ("rig/alpha", "up to date"), ("rig/hello", "built"), ("rig/greeter", "built")]
            .iter()
            .map(|(image, result)| (image.to_string(), result.to_string()))
            .collect();
    assert_eq!(again.summary().into_iter().collect::<BTreeMap<_, _>>(), expected, "{}", again.stdout);
    assert_eq!(again.totals().as_deref(), Some("2 built, 2 up to date, 0 failed, 0 skipped"));

    let after = session.ids(&images);
    assert_eq!(after["rig/base"], before["rig/base"]);
    assert_eq!(after["rig/alpha"], before["rig/alpha"]);
    assert_ne!(after["rig/hello"], before["rig/hello"]);
    assert_ne!(after["rig/greeter"], before["rig/greeter"]);
    assert_eq!(ws.log("rig/alpha"), alpha_log, "rig/alpha was up to date: its log must not be rewritten");

    // The new greeter stands on the new hello.
    let (hello, greeter) = (session.latest("rig/hello"), session.latest("rig/greeter"));
    assert_eq!(image_env_var(&hello, "E2E_PARENT_CHANGED").as_deref(), Some("yes"));
    assert_eq!(image_env_var(&greeter, "E2E_PARENT_CHANGED").as_deref(), Some("yes"), "greeter not rebuilt on hello");
    let (hello_layers, greeter_layers) = (diff_ids(&hello), diff_ids(&greeter));
    assert!(greeter_layers.starts_with(&hello_layers) && greeter_layers.len() > hello_layers.len());
    // The new hello is marked with a new inputs tag; the old tag does not mark it.
    let new_hello = after["rig/hello"].clone().unwrap();
    assert_ne!(image_id(&old_inputs_tag), Some(new_hello.clone()), "{old_inputs_tag} marks the new image");
    let new_tags = names_of(&new_hello);
    assert!(new_tags.iter().any(|n| n.contains(":inputs-") && *n != old_inputs_tag), "{new_tags:?}");
}

/// (7) A failing package fails its image cleanly: non-zero exit, the image, step and log named, the
/// log holding emerge's error, no working container left, no tag moved; `--keep-going` builds the
/// independent images.
#[test]
fn a_failing_package_fails_its_image_cleanly() {
    let session = Session::start("fail");
    let ws = Workspace::copy();
    session.xtask(&ws, &["build", "rig/alpha"]).expect_success();
    let alpha_id = session.id("rig/alpha").unwrap();

    ws.edit(
        ALPHA_RS,
        "packages: &[atom!(\"app-misc/alpha\")],",
        "packages: &[atom!(\"app-misc/alpha\"), atom!(\"app-misc/broken\")],\n        \
         package_use: &[crate::package_use!(\"app-misc/broken\" => \"fail\")],",
    );
    // The step that fails: the first `emerge` of rig/alpha's plan.
    let plan = session.xtask(&ws, &["plan", "rig/alpha", "--json"]);
    plan.expect_success();
    let plan: Value = serde_json::from_str(&plan.stdout).unwrap();
    let steps = plan["images"][0]["steps"].as_array().unwrap();
    let emerge_step = 1 + steps
        .iter()
        .position(|step| step["step"] == "run" && step["argv"][0] == "emerge")
        .expect("rig/alpha's plan runs emerge");
    let step_text = format!("step {emerge_step} (run) failed");
    let log_path = ws.log_path("rig/alpha");

    let check_failure = |run: &Finished| {
        run.expect_failure();
        assert_eq!(run.code, Some(1), "{}", run.describe());
        let output = run.output();
        assert!(output.contains("rig/alpha: FAILED"), "the image is not named:\n{output}");
        assert!(output.contains(&step_text), "`{step_text}` missing:\n{output}");
        assert!(output.contains(log_path.as_str()), "the log path {log_path} is not printed:\n{output}");
        assert!(output.contains("some images did not build"), "{output}");
        assert_eq!(run.result_of("rig/alpha"), Some("FAILED"), "{}", run.stdout);
        let log = ws.log("rig/alpha");
        assert!(log.contains("deliberate build failure"), "{log}");
        assert!(log.contains(">>> Failed to emerge app-misc/broken-1"), "{log}");
        assert_eq!(session.id("rig/alpha").as_ref(), Some(&alpha_id), "rig/alpha:latest moved after a failure");
    };

    // Without --keep-going: the run stops at the failure; what comes after it is skipped.
    let mut before = containers();
    let stop = session.xtask(&ws, &["build", "rig/alpha", "rig/beta", "rig/hello"]);
    check_failure(&stop);
    let left = session.new_containers(&before, &containers());
    assert!(left.is_empty(), "working containers left after a failure: {left:#?}");
    let rows = stop.summary();
    let failed_at = rows.iter().position(|(name, _)| name == "rig/alpha").unwrap();
    assert!(rows.iter().position(|(name, _)| name == "rig/beta").unwrap() > failed_at, "{rows:?}");
    for (name, result) in &rows[failed_at + 1..] {
        assert_eq!(result, "skipped", "{name}: {rows:?}");
        let why = stop.summary_entry(name).unwrap()["why"].as_str().unwrap().to_owned();
        assert!(why.contains("--keep-going"), "{why}");
        assert_eq!(session.id(name), None, "{name} was built after the failure");
    }
    assert_eq!(stop.result_of("rig/base"), Some("up to date"));

    // With --keep-going: the independent branches build.
    before = containers();
    let going = session.xtask(&ws, &["build", "--keep-going", "rig/alpha", "rig/beta", "rig/hello"]);
    check_failure(&going);
    let left = session.new_containers(&before, &containers());
    assert!(left.is_empty(), "working containers left after a failure: {left:#?}");
    assert_eq!(going.result_of("rig/base"), Some("up to date"));
    assert_eq!(going.result_of("rig/beta"), Some("built"), "{}", going.stdout);
    assert_eq!(going.result_of("rig/hello"), Some("built"), "{}", going.stdout);
    assert_eq!(going.totals().as_deref(), Some("2 built, 1 up to date, 1 failed, 0 skipped"), "{}", going.stdout);
    assert!(exists_in_image(&session.latest("rig/beta"), "/usr/share/beta/beta.txt"));
    assert!(exists_in_image(&session.latest("rig/hello"), "/usr/bin/hello"));
    assert!(!exists_in_image(&session.latest("rig/alpha"), "/usr/share/broken"), "the old alpha has no broken");
}

/// (8) `--jobs 2` builds independent images at the same time, with the same result as `--jobs 1`.
#[test]
fn parallel_jobs_overlap_and_give_the_same_images() {
    let session = Session::start("jobs");
    let ws = Workspace::copy();
    let recorder = BuildahRecorder::new();
    let path = recorder.path();
    let contents = |image: &str| {
        let reference = session.latest(image);
        (files_in_image(&reference, &["/usr/share"]), packages_in_image(&reference))
    };
    // Which image a recorded buildah call works on (its container is named after it).
    let image_of = |call: &[String]| -> Option<&'static str> {
        let line = call.join(" ");
        ["rig/alpha", "rig/beta"].into_iter().find(|image| line.contains(&format!("-{}-", image.replace('/', "-"))))
    };

    // --jobs 1: one after the other; the calls buildah saw for the two images do not interleave.
    let serial_log = recorder.log("serial");
    let env = [("PATH", path.as_str()), ("BUILDAH_ARGV_LOG", serial_log.as_str())];
    session.xtask_with_env(&ws, &["build", "--jobs", "1", "rig/alpha", "rig/beta"], &env).expect_success();
    let order: Vec<&str> = BuildahRecorder::calls(&serial_log).iter().filter_map(|call| image_of(call)).collect();
    let switches = order.windows(2).filter(|pair| pair[0] != pair[1]).count();
    assert_eq!(switches, 1, "--jobs 1 interleaved rig/alpha and rig/beta: {order:?}");
    let serial_contents = (contents("rig/alpha"), contents("rig/beta"));
    assert!(serial_contents.0 .0.contains(&"/usr/share/alpha/alpha.txt".to_owned()));
    assert!(serial_contents.1 .0.contains(&"/usr/share/beta/beta.txt".to_owned()));

    // --jobs 2, parent already built: the first image to commit is held at its commit; the other
    // one finishes meanwhile, which only a parallel build can do.
    let parallel_log = recorder.log("parallel");
    let pause = recorder.pause_dir("commit");
    let env = [
        ("PATH", path.as_str()),
        ("BUILDAH_ARGV_LOG", parallel_log.as_str()),
        ("BUILDAH_PAUSE_ON", "commit"),
        ("BUILDAH_PAUSE_DIR", pause.as_str()),
    ];
    let args = ["build", "--force", "--no-deps", "--jobs", "2", "rig/alpha", "rig/beta"];
    let mut parallel = session.spawn_xtask_with_env(&ws, &session.cache_dir(), &args, &env);
    let held_call = BuildahRecorder::wait_paused(&pause);
    let held = image_of(&held_call).unwrap_or_else(|| panic!("which image is held? {held_call:?}"));
    let other = if held == "rig/alpha" { "rig/beta" } else { "rig/alpha" };
    let finished_meanwhile =
        parallel.wait_for_line(Duration::from_secs(300), |line| line.contains(&format!("] {other}: built in")));
    assert!(finished_meanwhile.is_some(), "{other} did not finish while {held} was held at its commit");
    std::fs::write(pause.join("go"), "go\n").unwrap();
    let (finished, _) = parallel.finish(Duration::from_secs(600));
    finished.expect_success();
    assert_eq!(finished.totals().as_deref(), Some("2 built, 0 up to date, 0 failed, 0 skipped"), "{}", finished.stdout);
    // The first build compiled both packages, this one took them from the binary cache: the package
    // database entries differ (README, "Reproducible images"), the files do not.
    for image in ["rig/alpha", "rig/beta"] {
        assert_eq!(finished.result_of(image), Some("built"), "{}", finished.stdout);
    }
    assert_eq!((contents("rig/alpha"), contents("rig/beta")), serial_contents, "--jobs 2 built other images");
}

/// Values no shell would pass through unharmed.
fn hostile_values(marker: &str) -> Vec<(&'static str, String)> {
    vec![
        ("E2E_QUOTES", r#"it's "double" and 'single' quoted"#.to_owned()),
        ("E2E_SUBSTITUTION", format!("$(touch {marker}) and $(id -u)")),
        ("E2E_BACKTICKS", format!("`touch {marker}` `id`")),
        ("E2E_NEWLINES", "first line\nsecond line\n\nafter an empty one".to_owned()),
        ("E2E_SPACES", "  two leading,  two inside and two trailing  ".to_owned()),
        ("E2E_MIXED", "a=b; c | d & e > f < g * ? ~ # ! back\\slash\ttab {} [] ()".to_owned()),
        ("E2E_EMPTY", String::new()),
    ]
}

/// Rust source for the `env` and `labels` fields of a spec holding these pairs (`{:?}` of a `str` is
/// a valid Rust string literal for the same text).
fn env_and_labels_source(env: &[(String, String)], labels: &[(String, String)]) -> String {
    let pairs = |pairs: &[(String, String)]| {
        pairs.iter().map(|(key, value)| format!("({key:?}, {value:?})")).collect::<Vec<_>>().join(", ")
    };
    format!("\n        env: &[{}],\n        labels: &[{}],", pairs(env), pairs(labels))
}

/// Builds rig/beta with these env and labels (in `ws`) and returns its reference.
fn build_beta_with(session: &Session, ws: &Workspace, env: &[(String, String)], labels: &[(String, String)]) -> String {
    let packages = "packages: &[atom!(\"app-misc/beta\")],";
    ws.edit(BETA_RS, packages, &format!("{packages}{}", env_and_labels_source(env, labels)));
    session.xtask(ws, &["build", "rig/beta"]).expect_success();
    session.latest("rig/beta")
}

/// (9) Env and label values with quotes, `$()`, backticks, newlines and spaces arrive verbatim.
#[test]
fn env_and_label_values_arrive_verbatim() {
    let session = Session::start("values");
    let ws = Workspace::copy();
    let marker = format!("/tmp/buildah-gentoo-e2e-pwned-{}", std::process::id());
    let _ = std::fs::remove_file(&marker);
    let env: Vec<(String, String)> = hostile_values(&marker).into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    let mut labels: Vec<(String, String)> =
        env.iter().map(|(key, value)| (format!("org.example.e2e.{}", key.to_lowercase()), value.clone())).collect();
    labels.push(("org.example.e2e.key with spaces $(x) `y`".to_owned(), "value".to_owned()));
    let beta = build_beta_with(&session, &ws, &env, &labels);

    let image_env = image_env(&beta);
    for (key, value) in &env {
        let entries: Vec<&String> = image_env.iter().filter(|e| e.starts_with(&format!("{key}="))).collect();
        assert_eq!(entries, vec![&format!("{key}={value}")], "env {key} in {image_env:#?}");
    }
    let image_labels = image_labels(&beta);
    for (key, value) in &labels {
        assert_eq!(image_labels.get(key), Some(value), "label {key:?} in {image_labels:#?}");
    }
    // The inherited values and the tool's own labels are untouched.
    assert_eq!(image_labels.get("io.buildah-gentoo.image").map(String::as_str), Some("rig/beta"));
    assert_eq!(
        image_labels.get("org.opencontainers.image.description").map(String::as_str),
        Some("buildah-gentoo test rig base")
    );
    assert!(image_env.iter().any(|e| e == "PORTAGE_OVERRIDE_EPREFIX=/"), "{image_env:#?}");
    // And processes in a container see them.
    for key in ["E2E_NEWLINES", "E2E_QUOTES", "E2E_SPACES"] {
        let printed = run_in_image_ok(&beta, &["printenv", key]);
        let value = &env.iter().find(|(k, _)| k == key).unwrap().1;
        assert_eq!(printed, format!("{value}\n"), "printenv {key}");
    }
    assert!(!std::path::Path::new(&marker).exists(), "a command substitution ran on the host: {marker}");
}

/// 9b. Env values naming variables (`$HOME`, `${PATH}`) arrive verbatim too.
///
/// buildah expands `$NAME` / `${NAME}` in `buildah config --env` values against the image's
/// environment (`$PATH` becomes the parent's PATH, an unset `$HOME` becomes `HOME`); the planner
/// doubles every `$` so the value arrives as written.
#[test]
fn env_values_naming_variables_arrive_verbatim() {
    let session = Session::start("dollar");
    let ws = Workspace::copy();
    let value = "$HOME ${PATH} $$ $1 ${UNSET:-default}".to_owned();
    let env = vec![("E2E_DOLLAR".to_owned(), value.clone())];
    let labels = vec![("org.example.e2e.dollar".to_owned(), value.clone())];
    let beta = build_beta_with(&session, &ws, &env, &labels);
    assert_eq!(image_labels(&beta).get("org.example.e2e.dollar"), Some(&value));
    assert_eq!(image_env_var(&beta, "E2E_DOLLAR"), Some(value), "buildah expanded the env value");
}

/// (10) Ctrl-C during a build stops it with exit code 130, leaves no working container and moves
/// no tag.
#[test]
fn ctrl_c_leaves_no_working_container_and_moves_no_tag() {
    let session = Session::start("sigint");
    let ws = Workspace::copy();
    session.xtask(&ws, &["build", "rig/greeter"]).expect_success();
    let references = session.references();
    let greeter_id = session.id("rig/greeter").unwrap();
    let before = containers();

    // An empty cache: greeter and buildtool build from source, which gives time to interrupt.
    let empty_cache = session.new_cache_dir();
    let log = ws.log_path("rig/greeter");
    std::fs::remove_file(&log).unwrap();
    let mut build = session.spawn_xtask(&ws, &empty_cache, &["build", "--force", "--no-deps", "rig/greeter"]);
    build
        .wait_for_line(Duration::from_secs(300), |line| line.contains("rig/greeter: building"))
        .unwrap_or_else(|| panic!("the build never started: {:#?}", build.seen));
    // Wait until emerge runs in the working container.
    let clock = Instant::now();
    while !std::fs::read_to_string(&log).unwrap_or_default().contains(">>> Emerging") {
        assert!(
            clock.elapsed() < Duration::from_secs(120),
            "emerge never started:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let during = session.new_containers(&before, &containers());
    assert_eq!(during.len(), 1, "one working container while building: {during:#?}");
    assert_eq!(during[0].image_name, session.latest("rig/hello"), "{during:#?}");

    build.signal_group(libc::SIGINT);
    let (finished, _) = build.finish(Duration::from_secs(120));
    assert_eq!(finished.code, Some(130), "{}", finished.describe());
    assert!(finished.stderr.contains("interrupted"), "{}", finished.describe());
    assert!(finished.stdout.contains("(interrupted)"), "the summary does not say so:\n{}", finished.stdout);
    assert_ne!(finished.result_of("rig/greeter"), Some("built"), "{}", finished.stdout);

    let left = session.new_containers(&before, &containers());
    assert!(left.is_empty(), "working containers left after Ctrl-C: {left:#?}");
    assert_eq!(session.id("rig/greeter").as_ref(), Some(&greeter_id), "rig/greeter:latest moved");
    assert_eq!(session.references(), references, "tags changed after Ctrl-C");
    let log_text = std::fs::read_to_string(&log).unwrap();
    assert!(log_text.contains(&format!("buildah rm {} (clean-up)", during[0].name)), "{log_text}");
}

/// Ctrl-C at a known step of every phase (`buildah from`, the emerge `buildah run`, `buildah commit`,
/// `buildah tag`), held there by a recorder in front of the real buildah until the test interrupts:
/// exit 130, no working container, no new image, every tag where it was.
#[test]
fn ctrl_c_at_every_step_leaves_nothing_and_moves_no_tag() {
    let session = Session::start("sigsteps");
    let ws = Workspace::copy();
    session.xtask(&ws, &["build", "rig/greeter"]).expect_success();
    let references = session.references();
    let recorder = BuildahRecorder::new();
    let path = recorder.path();
    for subcommand in ["from", "run", "commit", "tag"] {
        let containers_before = containers();
        let images_before: BTreeSet<String> = stored_images().into_iter().map(|image| image.id).collect();
        let pause = recorder.pause_dir(subcommand);
        let env = [("PATH", path.as_str()), ("BUILDAH_PAUSE_ON", subcommand), ("BUILDAH_PAUSE_DIR", pause.as_str())];
        let args = ["build", "--force", "--no-deps", "rig/greeter"];
        let build = session.spawn_xtask_with_env(&ws, &session.cache_dir(), &args, &env);
        let held = BuildahRecorder::wait_paused(&pause);
        assert_eq!(held[0], subcommand, "{held:?}");
        build.signal_group(libc::SIGINT);
        let (finished, _) = build.finish(Duration::from_secs(120));
        assert_eq!(finished.code, Some(130), "at `buildah {subcommand}`: {}", finished.describe());
        assert_ne!(finished.result_of("rig/greeter"), Some("built"), "{}", finished.describe());
        let left = session.new_containers(&containers_before, &containers());
        assert!(left.is_empty(), "at `buildah {subcommand}`: containers left: {left:#?}");
        let new_images: Vec<String> =
            stored_images().into_iter().map(|image| image.id).filter(|id| !images_before.contains(id)).collect();
        assert!(new_images.is_empty(), "at `buildah {subcommand}`: images left: {new_images:?}");
        assert_eq!(session.references(), references, "at `buildah {subcommand}`: tags changed");
        eprintln!("e2e sigsteps: interrupted at `buildah {subcommand}`: clean");
    }
}

/// 8b. A `--force` rebuild whose inputs did not change keeps its `:inputs-<hash>` tag, so the next
/// plain build finds it up to date.
///
/// (A regression test: the executor untags the replaced image's `:inputs-<hash>` tag, which after a
/// forced rebuild with unchanged inputs is the very tag the new image carries.)
#[test]
fn a_forced_rebuild_keeps_its_inputs_tag() {
    let session = Session::start("force");
    let ws = Workspace::copy();
    session.xtask(&ws, &["build", "rig/base"]).expect_success();
    let tags = |session: &Session| -> Vec<String> { session.references().into_keys().collect() };
    let before = tags(&session);
    assert!(before.iter().any(|name| name.contains(":inputs-")), "{before:?}");

    let forced = session.xtask(&ws, &["build", "--force", "rig/base"]);
    forced.expect_success();
    assert_eq!(forced.result_of("rig/base"), Some("built"), "{}", forced.stdout);
    let id = session.id("rig/base").unwrap();
    assert_eq!(names_of(&id).len(), 3, "the rebuilt image's tags: {:?}", names_of(&id));
    assert_eq!(tags(&session), before, "a --force rebuild with the same inputs changed the tags");

    let again = session.xtask(&ws, &["build", "rig/base"]);
    again.expect_success();
    assert_eq!(again.result_of("rig/base"), Some("up to date"), "{}", again.stdout);
}

/// Finalize: a leaf image runs `emerge --depclean --with-bdeps=n`, which removes a build-only
/// dependency built for it (dev-util/buildtool, greeter's BDEPEND) and keeps the run-time one
/// (dev-libs/libgreet); an image others build on (rig/hello) is not depcleaned. The summary shows
/// the leaf's size before and after.
#[test]
fn depclean_removes_build_only_dependencies_from_leaf_images() {
    let session = Session::start("depclean");
    let ws = Workspace::copy();
    let build = session.xtask(&ws, &["build", "rig/greeter"]);
    build.expect_success();

    // Built from source, so buildtool was installed to build greeter...
    let emerged = ws.emerged("rig/greeter");
    assert!(emerged.source.contains(&BUILDTOOL.to_owned()), "{emerged:?}");
    assert!(emerged.source.contains(&GREETER.to_owned()), "{emerged:?}");
    let log = ws.log("rig/greeter");
    assert!(log.contains("All selected packages: =dev-util/buildtool-1"), "{log}");
    assert!(log.contains("Number removed:       1"), "{log}");

    // ...and is gone from the leaf image, while the run-time dependency stays.
    let greeter = session.latest("rig/greeter");
    let packages = packages_in_image(&greeter);
    assert!(packages.iter().any(|p| p == "dev-libs/libgreet-1"), "{packages:?}");
    assert!(packages.iter().any(|p| p == "app-misc/greeter-1"), "{packages:?}");
    assert!(!packages.iter().any(|p| p.starts_with("dev-util/buildtool")), "{packages:?}");
    assert!(!exists_in_image(&greeter, "/usr/bin/buildtool"));
    assert!(exists_in_image(&greeter, "/usr/share/libgreet/greeting"));
    assert_eq!(run_in_image_ok(&greeter, &["/usr/bin/greeter"]).trim(), "greetings from libgreet");

    // rig/hello has a child: no depclean step ran for it.
    assert!(!ws.log("rig/hello").contains("--depclean"), "rig/hello was depcleaned");

    // The summary gives the leaf's size before and after finalizing.
    let entry = build.summary_entry("rig/greeter").expect("a summary entry for rig/greeter");
    let (size, before) = (entry["size"].as_u64().unwrap(), entry["size_before"].as_u64().unwrap());
    assert!(0 < size && size <= before, "{entry}");
}

/// An image that asks to trust the site CA gets that certificate, and only it, in its trust store:
/// the key beside it in the certificates folder lands in no file of the image.
#[test]
fn a_trusted_site_ca_is_installed_and_nothing_else() {
    let session = Session::start("siteca");
    let ws = Workspace::copy();
    // A CA, with a client certificate and key beside it, as a site's certificates folder holds them.
    let certs = buildah_gentoo_tests::servers::Certificates::make(&ws.root().join("x509"));
    let site_ca = certs.ca_cert.strip_prefix(ws.root()).unwrap().to_owned();
    std::fs::write(ws.root().join("buildah-gentoo.toml"), format!("site-ca = \"{site_ca}\"\n")).unwrap();
    ws.edit(
        BETA_RS,
        "packages: &[atom!(\"app-misc/beta\")],",
        "packages: &[atom!(\"app-misc/beta\")],\n        trust_site_ca: true,",
    );

    session.xtask(&ws, &["build", "rig/beta"]).expect_success();
    let beta = session.latest("rig/beta");

    let ca = std::fs::read_to_string(&certs.ca_cert).unwrap();
    let installed = run_in_image_ok(&beta, &["cat", "/usr/local/share/ca-certificates/buildah-gentoo-site-ca.crt"]);
    assert_eq!(installed, ca);
    let bundle = run_in_image_ok(&beta, &["cat", "/etc/ssl/certs/ca-certificates.crt"]);
    let body = ca.lines().nth(1).expect("a PEM body line");
    assert!(bundle.contains(body), "the site CA is not in the image's CA bundle");

    // A line of the private key beside it appears nowhere in the image.
    let key = std::fs::read_to_string(&certs.client_key).unwrap();
    let key_line = key.lines().nth(1).expect("a PEM body line");
    let search =
        run_in_image(&beta, &["grep", "-rlF", "--", key_line, "/etc", "/usr", "/var", "/root", "/tmp", "/opt"]);
    assert_eq!(search.code, Some(1), "the client key is in the image: {}", search.describe());

    // Without a configured CA the plan is refused, naming the image.
    std::fs::remove_file(ws.root().join("buildah-gentoo.toml")).unwrap();
    let refused = session.xtask(&ws, &["plan", "rig/beta"]);
    refused.expect_failure();
    assert!(
        refused
            .stderr
            .contains("image `rig/beta` asks to trust the site CA, but no `site-ca` certificate is configured"),
        "{}",
        refused.describe()
    );
}

/// The ebuild repository can come from an OCI image: it is mounted once for the run (`buildah
/// mount`), read-only into each emerge, and unmounted and removed at the end. Here rig/alpha is
/// built on the rig root as a registry-style root (so the `repository` setting applies, as it does
/// to stage3-based images) with an image holding the rig repository.
#[test]
fn a_repository_image_is_mounted_for_the_run_and_removed_after() {
    let session = Session::start("repoimage");
    let ws = Workspace::copy();

    // An image holding the repository at /var/db/repos/gentoo, as docker.io/gentoo/portage does.
    let repository_image = session.reference("rig-repository", "latest");
    let ctr = buildah_ok(&["from", "--quiet", "scratch"]);
    let copied = buildah(&["copy", "--quiet", &ctr, ws.root().join("tests/rig/repo").as_str(), "/var/db/repos/gentoo"]);
    let committed = buildah(&["commit", "--quiet", "--rm", &ctr, &repository_image]);
    assert!(copied.success() && committed.success(), "{}\n{}", copied.describe(), committed.describe());
    session.remember_ids();

    ws.edit(ALPHA_RS, "Parent::image(&RigBase)", &format!("Parent::registry({:?})", session.rig_root()));
    ws.edit(ALPHA_RS, "use super::RigBase;\n", "");
    let before = containers();
    let build = session.xtask(&ws, &["build", "rig/alpha", "--repository", &format!("image:{repository_image}")]);
    build.expect_success();

    let alpha = session.latest("rig/alpha");
    let packages = packages_in_image(&alpha);
    assert!(packages.iter().any(|p| p == "app-misc/alpha-1"), "{packages:?}");
    let setup = std::fs::read_to_string(ws.root().join("target/buildah-gentoo/logs/setup.log")).unwrap();
    assert!(setup.contains("buildah mount"), "{setup}");
    assert!(setup.contains("buildah umount"), "{setup}");
    assert!(ws.log("rig/alpha").contains(":/var/db/repos/gentoo:ro"), "the repository was not mounted read-only");
    let left: Vec<String> =
        containers().into_iter().filter(|c| !before.iter().any(|b| b.id == c.id)).map(|c| c.name).collect();
    assert!(left.is_empty(), "containers left behind: {left:?}");
}
