//! `cargo xtask ci gitlab|github`: the generated pipelines, snapshot-tested, validated against the
//! schemas check-jsonschema ships (`vendor.gitlab-ci`, `vendor.github-workflows`), and read back
//! (YAML → JSON) to check that every job needs exactly its image's edges of the graph.

use std::collections::BTreeSet;

use buildah_gentoo_tests::{ci_schema_errors, yaml_as_json};
use camino::{Utf8Path, Utf8PathBuf};
use image_defs::registry::ResolvedParent;
use image_defs::{Image, Layout, Parent, Registry, Root, Spec};
use serde_json::Value;
use xtask::pipeline::{self, github, gitlab, job_name, root_job_name, Options, Pipeline, Selection, RIG_ROOT_JOB};

const TARBALL: &str = "stages/stage3-amd64-openrc-20260101T000000Z.tar.xz";
const CI_IMAGE: &str = "registry.example:5000/ci/buildah-rust:1";

image_defs::image! {
    /// A full image on a stage3 tarball: it needs the tarball's root job.
    OnTarball = Spec { name: "lab/on-tarball", parent: Parent::Root(Root::tarball(TARBALL)), ..Spec::DEFAULT };
}
image_defs::image! {
    /// Its child: the parent's job, not the root's.
    Child = Spec { name: "lab/child.v2", parent: Parent::image(&OnTarball), ..Spec::DEFAULT };
}
image_defs::image! {
    /// A minimal image whose parent is also its builder: one edge.
    Slim = Spec { name: "lab/slim", parent: Parent::image(&OnTarball), layout: Layout::Minimal, ..Spec::DEFAULT };
}
image_defs::image! {
    /// A minimal image on the rig root, built in the tarball root: needs the root job as its builder.
    BuiltOnTarball = Spec {
        name: "lab/built-on-tarball",
        parent: Parent::Root(Root::Rig),
        layout: Layout::Minimal,
        builder: Some(Parent::Root(Root::tarball(TARBALL))),
        ..Spec::DEFAULT
    };
}
image_defs::image! {
    /// A name GitLab reserves (`cache:` is a keyword), on a registry root (no root job).
    Cache = Spec { name: "cache", parent: Parent::registry("docker.io/gentoo/stage3:latest"), ..Spec::DEFAULT };
}
image_defs::image! {
    /// A name that starts with a digit, with a minimal parent and a builder of its own.
    Digits = Spec {
        name: "389ds",
        parent: Parent::image(&Slim),
        layout: Layout::Minimal,
        builder: Some(Parent::image(&Child)),
        ..Spec::DEFAULT
    };
}
image_defs::image! {
    /// `lab/child-v2` is `lab/child.v2`'s job name.
    Dashed = Spec { name: "lab/child-v2", parent: Parent::Root(Root::Rig), ..Spec::DEFAULT };
}
image_defs::image! {
    /// Another tarball with the same file name, in another folder.
    SameFileName = Spec {
        name: "other",
        parent: Parent::Root(Root::tarball("elsewhere/stage3-amd64-openrc-20260101T000000Z.tar.xz")),
        ..Spec::DEFAULT
    };
}

/// A registry with tarball roots, builders and names the job-name mapping changes.
fn lab() -> Registry {
    Registry::new(vec![&OnTarball, &Child, &Slim, &BuiltOnTarball, &Cache, &Digits]).expect("valid lab images")
}

fn all(registry: &Registry) -> Pipeline {
    pipeline::pipeline(registry, &registry.in_order().collect::<Vec<_>>(), Selection::All).unwrap()
}

/// The pipeline of the rig images, as `cargo xtask ci ... 'rig/.*'` makes it.
fn rig(registry: &Registry) -> Pipeline {
    let names = xtask::cli::resolve_names(registry, &["rig/.*".to_owned()]).unwrap();
    let images = registry.with_ancestors(&names).unwrap();
    pipeline::pipeline(registry, &images, Selection::Images(names)).unwrap()
}

const LOGS: Option<&str> = Some("target/buildah-gentoo/logs");
const NO_IMAGE: Options = Options { ci_image: None, logs: LOGS };
const WITH_IMAGE: Options = Options { ci_image: Some(CI_IMAGE), logs: LOGS };

#[test]
fn generated_pipelines_match_their_snapshots() {
    let registry = Registry::global().unwrap();
    let rig = rig(registry);
    insta::assert_snapshot!("gitlab@rig", gitlab::render(&rig, NO_IMAGE));
    insta::assert_snapshot!("github@rig", github::render(&rig, NO_IMAGE));
    let lab = lab();
    let lab = all(&lab);
    insta::assert_snapshot!("gitlab@lab-with-ci-image", gitlab::render(&lab, WITH_IMAGE));
    insta::assert_snapshot!("github@lab-with-ci-image", github::render(&lab, WITH_IMAGE));
}

#[test]
fn jobs_are_sorted_driver_then_roots_then_images_and_the_output_is_stable() {
    let lab = lab();
    let pipeline = all(&lab);
    let names: Vec<&str> = pipeline.jobs.iter().map(|job| job.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "driver",
            "root-rig",
            "root-stage3-amd64-openrc-20260101t000000z-tar-xz",
            "_389ds",
            "cache-image",
            "lab-built-on-tarball",
            "lab-child-v2",
            "lab-on-tarball",
            "lab-slim"
        ]
    );
    // The order images are given in does not matter.
    let mut reversed: Vec<&'static dyn Image> = lab.in_order().collect();
    reversed.reverse();
    assert_eq!(pipeline::pipeline(&lab, &reversed, Selection::All).unwrap(), pipeline);
    assert_eq!(gitlab::render(&pipeline, NO_IMAGE), gitlab::render(&all(&lab), NO_IMAGE));
}

#[test]
fn two_images_or_tarballs_with_one_job_name_are_refused() {
    let registry = Registry::new(vec![&OnTarball, &Child, &Dashed]).unwrap();
    let error = pipeline::pipeline(&registry, &registry.in_order().collect::<Vec<_>>(), Selection::All).unwrap_err();
    let text = format!("{error:#}");
    assert!(text.contains("`lab/child-v2`") && text.contains("`lab/child.v2`"), "{text}");
    assert!(text.contains("CI job `lab-child-v2`"), "{text}");

    let registry = Registry::new(vec![&OnTarball, &SameFileName]).unwrap();
    let error = pipeline::pipeline(&registry, &registry.in_order().collect::<Vec<_>>(), Selection::All).unwrap_err();
    let text = format!("{error:#}");
    assert!(text.contains(&format!("`{TARBALL}`")) && text.contains("`elsewhere/stage3-amd64"), "{text}");
}

/// The files of every case: (registry name, pipeline) × (GitLab, GitHub) × (no image, an image).
fn write_all(dir: &Utf8Path) -> (Vec<Utf8PathBuf>, Vec<Utf8PathBuf>) {
    let registry = Registry::global().unwrap();
    let lab = lab();
    let mut gitlab_files = Vec::new();
    let mut github_files = Vec::new();
    for (name, pipeline) in [("rig", rig(registry)), ("all", all(registry)), ("lab", all(&lab))] {
        for (suffix, options) in [("", NO_IMAGE), ("-image", WITH_IMAGE)] {
            let path = dir.join(format!("{name}{suffix}.gitlab-ci.yml"));
            std::fs::write(&path, gitlab::render(&pipeline, options)).unwrap();
            gitlab_files.push(path);
            let path = dir.join(format!("{name}{suffix}.github.yml"));
            std::fs::write(&path, github::render(&pipeline, options)).unwrap();
            github_files.push(path);
        }
    }
    (gitlab_files, github_files)
}

fn temp_dir() -> (tempfile::TempDir, Utf8PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = Utf8Path::from_path(dir.path()).unwrap().to_owned();
    (dir, path)
}

#[test]
fn generated_files_pass_the_gitlab_and_github_schemas() {
    let (_dir, dir) = temp_dir();
    let (gitlab_files, github_files) = write_all(&dir);
    assert_eq!(ci_schema_errors("vendor.gitlab-ci", &gitlab_files), None);
    assert_eq!(ci_schema_errors("vendor.github-workflows", &github_files), None);
}

/// The schema check can fail: a broken copy of each generated file is rejected, for the reason
/// broken into it.
#[test]
fn the_schema_check_rejects_broken_files() {
    let (_dir, dir) = temp_dir();
    let registry = Registry::global().unwrap();
    let rig = rig(registry);
    let cases = [
        (
            "vendor.gitlab-ci",
            gitlab::render(&rig, NO_IMAGE),
            "artifacts: true",
            "artifacts: maybe",
            "'maybe' is not of type 'boolean'",
        ),
        ("vendor.gitlab-ci", gitlab::render(&rig, NO_IMAGE), "  needs:", "  neds:", "('neds' was unexpected)"),
        (
            "vendor.github-workflows",
            github::render(&rig, NO_IMAGE),
            "    runs-on:",
            "    run-on:",
            "'runs-on' is a required property",
        ),
        (
            "vendor.github-workflows",
            github::render(&rig, NO_IMAGE),
            "    needs:\n",
            "    needs: 3\n",
            "is not of type 'array'",
        ),
    ];
    for (index, (schema, text, from, to, expected)) in cases.into_iter().enumerate() {
        let broken = text.replace(from, to);
        assert_ne!(broken, text, "`{from}` is in the generated file");
        let path = dir.join(format!("broken-{index}.yml"));
        std::fs::write(&path, broken).unwrap();
        let errors = ci_schema_errors(schema, &[path]).unwrap_or_else(|| panic!("{schema} accepted `{to}`"));
        assert!(errors.contains(expected), "{schema}, `{to}`: {errors}");
    }
}

/// The jobs an image's job must need, from the graph: the driver, the root job of a tarball it
/// starts on (as parent or builder), its parent's and its builder's jobs when they are images.
fn edges(registry: &Registry, image: &dyn Image) -> BTreeSet<String> {
    let mut needs = BTreeSet::from(["driver".to_owned()]);
    for start in std::iter::once(registry.parent_of(image)).chain(registry.builder_of(image)) {
        match start {
            ResolvedParent::Root(Root::Tarball { path, .. }) => needs.insert(root_job_name(path)),
            ResolvedParent::Root(Root::Rig) => needs.insert(RIG_ROOT_JOB.to_owned()),
            ResolvedParent::Root(_) => false,
            ResolvedParent::Image(_) => false,
        };
    }
    needs.extend(
        registry.parent_image(image).into_iter().chain(registry.builder_image(image)).map(|i| job_name(i.name())),
    );
    needs
}

/// The root jobs of `registry`'s images: one per tarball root, and the rig root's.
fn root_jobs(registry: &Registry) -> BTreeSet<String> {
    let mut jobs: BTreeSet<String> = tarball_roots(registry).into_iter().map(root_job_name).collect();
    if registry.in_order().any(|image| {
        std::iter::once(registry.parent_of(image))
            .chain(registry.builder_of(image))
            .any(|start| start == ResolvedParent::Root(Root::Rig))
    }) {
        jobs.insert(RIG_ROOT_JOB.to_owned());
    }
    jobs
}

fn tarball_roots(registry: &Registry) -> BTreeSet<&'static str> {
    let mut roots = BTreeSet::new();
    for image in registry.in_order() {
        for start in std::iter::once(registry.parent_of(image)).chain(registry.builder_of(image)) {
            if let ResolvedParent::Root(Root::Tarball { path, .. }) = start {
                roots.insert(path);
            }
        }
    }
    roots
}

fn strings(value: &Value) -> Vec<&str> {
    value.as_array().unwrap_or_else(|| panic!("a list: {value}")).iter().map(|item| item.as_str().unwrap()).collect()
}

/// A GitLab `needs:` entry: a job name, or `{job: NAME, artifacts: BOOL}`.
fn gitlab_need(entry: &Value) -> (String, bool) {
    match entry {
        Value::String(name) => (name.clone(), false),
        Value::Object(fields) => (fields["job"].as_str().unwrap().to_owned(), fields["artifacts"] == Value::Bool(true)),
        other => panic!("a needs entry: {other}"),
    }
}

/// Reads the GitLab file back and checks every job against the graph of `registry`.
fn check_gitlab(registry: &Registry, document: &Value, ci_image: Option<&str>) {
    let jobs = document.as_object().unwrap();
    assert_eq!(strings(&jobs["stages"]), ["build"]);
    let expected_jobs: BTreeSet<String> = ["stages".to_owned(), "driver".to_owned()]
        .into_iter()
        .chain(root_jobs(registry))
        .chain(registry.in_order().map(|image| job_name(image.name())))
        .collect();
    assert_eq!(jobs.keys().cloned().collect::<BTreeSet<_>>(), expected_jobs);
    for (name, job) in jobs.iter().filter(|(name, _)| *name != "stages") {
        assert_eq!(job["stage"], "build", "{name}: one stage, no barriers");
        assert_eq!(job.get("image").and_then(Value::as_str), ci_image, "{name}");
    }
    let driver = &jobs["driver"];
    assert_eq!(driver["needs"], Value::Array(Vec::new()));
    assert_eq!(strings(&driver["script"]), ["cargo install --locked --path xtask --root target/driver"]);
    assert_eq!(strings(&driver["artifacts"]["paths"]), ["target/driver/bin/xtask"]);

    let runs_driver = |job: &Value, command: &str| {
        assert_eq!(job["variables"]["BUILDAH_GENTOO"], "$CI_PROJECT_DIR/target/driver/bin/xtask");
        assert_eq!(job["variables"]["CARGO_MANIFEST_DIR"], "$CI_PROJECT_DIR/xtask");
        assert_eq!(strings(&job["script"]), ["chmod +x \"$BUILDAH_GENTOO\"", command]);
        assert_eq!(job["artifacts"]["when"], "always", "{command}: logs kept, failed or not");
        assert_eq!(strings(&job["artifacts"]["paths"]), ["target/buildah-gentoo/logs/"]);
    };
    for path in tarball_roots(registry) {
        let job = &jobs[&root_job_name(path)];
        let needs: Vec<(String, bool)> = job["needs"].as_array().unwrap().iter().map(gitlab_need).collect();
        assert_eq!(needs, [("driver".to_owned(), true)]);
        runs_driver(job, &format!("\"$BUILDAH_GENTOO\" ci root {path}"));
    }
    if let Some(job) = jobs.get(RIG_ROOT_JOB) {
        let needs: Vec<(String, bool)> = job["needs"].as_array().unwrap().iter().map(gitlab_need).collect();
        assert_eq!(needs, [("driver".to_owned(), true)]);
        runs_driver(job, "\"$BUILDAH_GENTOO\" ci rig-root");
    }
    for image in registry.in_order() {
        let job = &jobs[&job_name(image.name())];
        let needs: Vec<(String, bool)> = job["needs"].as_array().unwrap().iter().map(gitlab_need).collect();
        let names: BTreeSet<String> = needs.iter().map(|(name, _)| name.clone()).collect();
        assert_eq!(names, edges(registry, image), "{}", image.name());
        assert_eq!(names.len(), needs.len(), "{}: each need once", image.name());
        for (name, artifacts) in needs {
            assert_eq!(artifacts, name == "driver", "{}: only the driver's artifact is fetched", image.name());
        }
        runs_driver(job, &format!("\"$BUILDAH_GENTOO\" ci job {}", image.name()));
    }
}

/// Reads the GitHub workflow back and checks every job against the graph of `registry`.
fn check_github(registry: &Registry, document: &Value, ci_image: Option<&str>) {
    let jobs = document["jobs"].as_object().unwrap();
    let expected_jobs: BTreeSet<String> = ["driver".to_owned()]
        .into_iter()
        .chain(root_jobs(registry))
        .chain(registry.in_order().map(|image| job_name(image.name())))
        .collect();
    assert_eq!(jobs.keys().cloned().collect::<BTreeSet<_>>(), expected_jobs);
    let uses = |job: &Value| -> Vec<String> {
        job["steps"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|step| step.get("uses")?.as_str().map(str::to_owned))
            .collect()
    };
    let driver = &jobs["driver"];
    assert_eq!(driver.get("needs"), None);
    assert_eq!(uses(driver), ["actions/checkout@v4", "actions/upload-artifact@v4"]);
    assert_eq!(driver.get("container").and_then(Value::as_str), ci_image);
    let upload = &driver["steps"][2]["with"];
    assert_eq!((upload["name"].as_str(), upload["path"].as_str()), (Some("xtask"), Some("target/driver/bin/xtask")));
    assert_eq!(driver["steps"][1]["run"], "cargo install --locked --path xtask --root target/driver");

    let runs_driver = |job: &Value, command: &str| {
        assert_eq!(uses(job), ["actions/checkout@v4", "actions/download-artifact@v4", "actions/upload-artifact@v4"]);
        assert_eq!(job["steps"][3]["if"], "always()", "{command}: logs kept, failed or not");
        assert_eq!(job["steps"][3]["with"]["path"], "target/buildah-gentoo/logs/");
        assert_eq!(job["steps"][1]["with"]["name"], "xtask");
        assert_eq!(job["steps"][1]["with"]["path"], "target/driver/bin");
        let script = job["steps"][2]["run"].as_str().unwrap();
        for line in [
            "export BUILDAH_GENTOO=\"$GITHUB_WORKSPACE/target/driver/bin/xtask\" CARGO_MANIFEST_DIR=\"$GITHUB_WORKSPACE/xtask\"",
            "chmod +x \"$BUILDAH_GENTOO\"",
            command,
        ] {
            assert!(script.lines().any(|l| l == line), "`{line}` in:\n{script}");
        }
        assert!(script.ends_with(&format!("{command}\n")), "{script}");
        let env = job["steps"][2]["env"].as_object().unwrap();
        for (name, value) in env {
            let context = if name == "REGISTRY_AUTH_JSON" { "secrets" } else { "vars" };
            assert_eq!(value.as_str().unwrap(), format!("${{{{ {context}.{name} }}}}"), "variables by reference only");
        }
        match ci_image {
            Some(image) => assert_eq!(job["container"], serde_json::json!({"image": image, "options": "--privileged"})),
            None => assert_eq!(job.get("container"), None),
        }
    };
    let needs = |job: &Value| -> Vec<String> { strings(&job["needs"]).into_iter().map(str::to_owned).collect() };
    for path in tarball_roots(registry) {
        let job = &jobs[&root_job_name(path)];
        assert_eq!(needs(job), ["driver"]);
        runs_driver(job, &format!("\"$BUILDAH_GENTOO\" ci root {path}"));
    }
    if let Some(job) = jobs.get(RIG_ROOT_JOB) {
        assert_eq!(needs(job), ["driver"]);
        runs_driver(job, "\"$BUILDAH_GENTOO\" ci rig-root");
    }
    for image in registry.in_order() {
        let job = &jobs[&job_name(image.name())];
        let needs = needs(job);
        assert_eq!(needs.iter().cloned().collect::<BTreeSet<_>>(), edges(registry, image), "{}", image.name());
        assert_eq!(needs.len(), edges(registry, image).len(), "{}: each need once", image.name());
        assert_eq!(job["name"], image.name());
        runs_driver(job, &format!("\"$BUILDAH_GENTOO\" ci job {}", image.name()));
    }
}

#[test]
fn every_job_needs_exactly_its_edges_of_the_graph() {
    let (_dir, dir) = temp_dir();
    let lab = lab();
    for (registry, name) in [(Registry::global().unwrap(), "all"), (&lab, "lab")] {
        let pipeline = all(registry);
        for options in [NO_IMAGE, WITH_IMAGE] {
            let path = dir.join(format!("{name}.gitlab-ci.yml"));
            std::fs::write(&path, gitlab::render(&pipeline, options)).unwrap();
            check_gitlab(registry, &yaml_as_json(&path), options.ci_image);
            let path = dir.join(format!("{name}.github.yml"));
            std::fs::write(&path, github::render(&pipeline, options)).unwrap();
            check_github(registry, &yaml_as_json(&path), options.ci_image);
        }
    }
}

/// The structural check can fail: a pipeline with an edge too many, or one too few, is caught.
#[test]
fn the_edge_check_catches_a_wrong_needs() {
    let (_dir, dir) = temp_dir();
    let lab = lab();
    let mut pipeline = all(&lab);
    let child = pipeline.jobs.iter_mut().find(|job| job.name == "lab-child-v2").unwrap();
    child.needs.retain(|need| need != "lab-on-tarball");
    let path = dir.join("missing-edge.yml");
    std::fs::write(&path, github::render(&pipeline, NO_IMAGE)).unwrap();
    let document = yaml_as_json(&path);
    let panic =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check_github(&lab, &document, None))).unwrap_err();
    let message = panic.downcast_ref::<String>().unwrap();
    assert!(message.contains("lab/child.v2"), "{message}");

    let mut pipeline = all(&lab);
    let slim = pipeline.jobs.iter_mut().find(|job| job.name == "lab-slim").unwrap();
    slim.needs.push("cache-image".to_owned());
    std::fs::write(&path, gitlab::render(&pipeline, NO_IMAGE)).unwrap();
    let document = yaml_as_json(&path);
    let panic =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check_gitlab(&lab, &document, None))).unwrap_err();
    let message = panic.downcast_ref::<String>().unwrap();
    assert!(message.contains("lab/slim"), "{message}");
}

/// The variables the files document are the settings' own: each one, set, changes the settings
/// `ci job` loads.
#[test]
fn the_documented_variables_are_settings_variables() {
    let dir = tempfile::tempdir().unwrap();
    let workspace = Utf8Path::from_path(dir.path()).unwrap();
    let load = |var: Option<(&str, &str)>| {
        let env = move |key: &str| match (key, var) {
            ("HOME", _) => Some("/home/u".to_owned()),
            (key, Some((name, value))) if key == name => Some(value.to_owned()),
            _ => None,
        };
        xtask::settings::Settings::load(workspace, &env, &Default::default()).unwrap()
    };
    let defaults = load(None);
    let samples = [
        ("BUILDAH_GENTOO_REGISTRY", "registry.example:5000"),
        ("BUILDAH_GENTOO_NAMESPACE", "registry.example:5000/ci"),
        ("BUILDAH_GENTOO_CERTS_DIR", ".x509/certs.d"),
        ("BUILDAH_GENTOO_BINHOST_PUBLISH", "rsync://binhost.example/packages"),
        ("REGISTRY_AUTH_FILE", "/run/auth.json"),
        ("BUILDAH_GENTOO_CI_IMAGE", CI_IMAGE),
    ];
    let documented: Vec<&str> = pipeline::SETTINGS_VARIABLES.iter().map(|variable| variable.name).collect();
    assert_eq!(documented, samples[..4].iter().map(|(name, _)| *name).collect::<Vec<_>>());
    for (name, value) in samples {
        assert_ne!(load(Some((name, value))), defaults, "{name} is read by the settings");
    }
    let registry = Registry::global().unwrap();
    let rig = rig(registry);
    for text in [gitlab::render(&rig, NO_IMAGE), github::render(&rig, NO_IMAGE)] {
        for (name, _) in &samples[..5] {
            assert!(text.contains(name), "{name} is documented");
        }
    }
}

#[test]
fn the_ci_commands_parse_and_write_their_file() {
    use clap::Parser;
    use xtask::cli::ci::CiCommand;
    use xtask::cli::{Cli, Commands};

    let parse = |args: &[&str]| Cli::try_parse_from(["cargo xtask", "ci"].iter().chain(args));
    let Commands::Ci(ci) = parse(&["job", "rig/hello"]).unwrap().command else { panic!("not ci") };
    assert!(matches!(&ci.command, CiCommand::Job(job) if job.image == "rig/hello"));
    // A job needs the registry before it does anything.
    let error = parse(&["job", "rig/hello"]).unwrap().run().unwrap_err();
    assert!(format!("{error:#}").contains("no registry to push to"), "{error:#}");
    // The workspace's images start on no tarball: refused before anything runs.
    let error = parse(&["root", TARBALL]).unwrap().run().unwrap_err();
    assert!(format!("{error:#}").contains(&format!("no image starts on the tarball root `{TARBALL}`")), "{error:#}");
    assert!(parse(&["gitlab"]).is_err(), "images or --all");
    assert!(parse(&["github", "rig/hello", "--all"]).is_err(), "not both");

    let (_dir, dir) = temp_dir();
    let output = dir.join("ci/.gitlab-ci.yml");
    parse(&["gitlab", "rig/hello", "--output", output.as_str()]).unwrap().run().unwrap();
    let registry = Registry::global().unwrap();
    let expected = pipeline::pipeline(
        registry,
        &registry.with_ancestors(&["rig/hello"]).unwrap(),
        Selection::Images(vec!["rig/hello"]),
    )
    .unwrap();
    let ci_image = std::env::var("BUILDAH_GENTOO_CI_IMAGE").ok().filter(|image| !image.is_empty());
    let text = std::fs::read_to_string(&output).unwrap();
    assert_eq!(text, gitlab::render(&expected, Options { ci_image: ci_image.as_deref(), logs: LOGS }));
    assert!(text.starts_with("# Generated by `cargo xtask ci gitlab rig/hello`"), "{text}");
}
