//! Values with quotes, `$()`, backticks, newlines and spaces in env, labels, commands and paths: the
//! rendered script, run by `sh`, must hand buildah exactly the argv the executor would.

use std::collections::BTreeMap;
use std::process::Command as Process;

use buildah_gentoo_tests::fixed_settings;
use image_defs::{CopyFile, Parent, Port, Registry, Spec};
use xtask::plan::{self, script, Var};
use xtask::settings::RepositorySource;

const NASTY: &str =
    "it's \"quoted\" $(touch pwned) `touch pwned` $HOME ${HOME} \\ * ? ~ ; & | < > #\nsecond line\ttab  two spaces ";

image_defs::image! {
    Hostile = Spec {
        name: "hostile",
        parent: Parent::registry("docker.io/gentoo/stage3:latest"),
        packages: &[image_defs::atom!("app-misc/hello")],
        // Environment names are shell names (checked at compile time); values may hold anything.
        env: &[("NASTY", NASTY), ("EMPTY", "")],
        labels: &[("org.example.nasty", NASTY), ("with space $(x)", "`y`")],
        entrypoint: Some(&["/bin/sh", "-c", NASTY]),
        cmd: Some(&[NASTY, ""]),
        user: Some("user name$(x)"),
        workdir: Some("/work dir/'$(x)'"),
        ports: &[Port::udp(53)],
        files: &[CopyFile::new(file!(), "odd files/it's $(x) `y`.conf", "/etc/odd dir/$(x)/\"it's\"\nnewline")],
        test: Some(&["/bin/echo", NASTY]),
        ..Spec::DEFAULT
    };
}

#[test]
fn sh_passes_every_value_through_verbatim() {
    static HOSTILE: Hostile = Hostile;
    let registry = Registry::new(vec![&HOSTILE]).expect("valid registry");
    let mut settings = fixed_settings();
    settings.cache_dir = "/tmp/cache dir/it's $(touch pwned)/`x`".into();
    settings.repository = RepositorySource::Folder("/repo with space/\"q\"".into());
    settings.work_dir = "target/work dir $(x)".into();
    // The odd file does not exist: the planner only needs its hash, which gathering the inputs reads.
    let global = Registry::global().unwrap();
    let copied_files = Hostile::SPEC.files.iter().map(|file| (file.source_path().to_owned(), "0".repeat(64))).collect();
    let inputs = xtask::plan::PlanInputs {
        registry: &registry,
        copied_files,
        ..buildah_gentoo_tests::fixed_inputs(global, &settings)
    };
    let plan = plan::plan(&[&HOSTILE], &inputs).expect("plan");

    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("argv.log");
    // Shell functions stand in for buildah and for cargo (the SBOM step): they record their argv,
    // NUL-separated, one record per call, and print a container/image id for the script's assignments.
    let record = format!("printf '%s\\0' \"$@\" >> '{0}'; printf 'END\\0' >> '{0}'; echo fake-id;", log.display());
    let prelude = format!("buildah() {{ {record} }}\ncargo() {{ {record} }}\n");
    let script = script::render(&plan, "hostile").replacen("set -eu\n", &format!("set -eu\n{prelude}"), 1).replacen(
        "\nrun=$$\n",
        "\nrun=the-run\n",
        1,
    );
    // `du` of the mounted root runs on the host: the stand-in's mount point is `fake-id`.
    std::fs::create_dir(dir.path().join("fake-id")).unwrap();
    let output = Process::new("sh").arg("-c").arg(&script).current_dir(dir.path()).output().expect("sh runs");
    assert!(output.status.success(), "script failed: {}", String::from_utf8_lossy(&output.stderr));
    assert!(!dir.path().join("pwned").exists(), "a value was executed by the shell");

    let recorded = std::fs::read(&log).unwrap();
    let mut calls: Vec<Vec<String>> = vec![vec![]];
    for field in recorded.split(|&b| b == 0) {
        let field = String::from_utf8(field.to_vec()).unwrap();
        if field == "END" {
            calls.push(vec![]);
        } else {
            calls.last_mut().unwrap().push(field);
        }
    }
    // The log ends in NUL, so `split` yields one empty field after the last END.
    assert_eq!(calls.pop(), Some(vec![String::new()]));

    let vars: BTreeMap<Var, String> = [
        (Var("ctr"), "fake-id".to_owned()),
        (Var("image"), "fake-id".to_owned()),
        (Var("test_ctr"), "fake-id".to_owned()),
        (Var("root"), "fake-id".to_owned()),
        (Var("base_digest"), "fake-id".to_owned()),
        (Var("base_id"), "fake-id".to_owned()),
        (Var("inputs"), "fake-id".to_owned()),
        (Var("binpkg_flags"), "fake-id".to_owned()),
        (Var("binpkg_key"), "fake-id".to_owned()),
        (Var("run"), "the-run".to_owned()),
        // The script runs in a folder that is no git checkout: no revision.
        (Var("revision"), String::new()),
        (Var("PWD"), dir.path().to_str().unwrap().to_owned()),
    ]
    .into_iter()
    .collect();
    let expected: Vec<Vec<String>> = plan.images[0]
        .prelude
        .iter()
        .chain(&plan.images[0].steps)
        .filter(|step| step.command().form != xtask::plan::Form::Value)
        // Host tools (`du` of the mounted root) run for real; the stand-ins record buildah and cargo.
        .filter(|step| {
            let program = step.command().argv[0].resolve(&vars).unwrap();
            program == "buildah" || program == "cargo"
        })
        .map(|step| {
            let argv = step.command().argv;
            argv[1..].iter().map(|word| word.resolve(&vars).unwrap()).collect()
        })
        .collect();
    assert_eq!(calls.len(), expected.len(), "one buildah (or cargo) call per step that calls one");
    for (call, want) in calls.iter().zip(&expected) {
        assert_eq!(call, want);
    }
    // The nasty value really is in there, unchanged.
    // buildah expands `$NAME` in env values, so the planner doubles every `$` (buildah turns `$$` back
    // into `$`); the e2e suite checks the value that lands in the image config.
    assert!(expected.iter().flatten().any(|arg| arg == &format!("NASTY={}", NASTY.replace('$', "$$"))));
    assert!(expected.iter().flatten().any(|arg| arg == NASTY));
}
