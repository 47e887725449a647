//! Shared helpers for the workspace's integration tests.

pub mod e2e;
pub mod servers;

use camino::Utf8PathBuf;

/// The workspace root (the folder holding the top-level `Cargo.toml`).
pub fn workspace_root() -> Utf8PathBuf {
    Utf8PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_owned()
}

use image_defs::Registry;
use xtask::plan::PlanInputs;
use xtask::settings::Settings;

/// Settings with fixed, machine-independent paths, so plans and snapshots are the same everywhere.
pub fn fixed_settings() -> Settings {
    Settings::defaults(camino::Utf8Path::new("/var/cache"))
}

/// Planner inputs with a fixed date and rig root.
pub fn fixed_inputs<'a>(registry: &'a Registry, settings: &'a Settings) -> PlanInputs<'a> {
    PlanInputs {
        registry,
        settings,
        date_tag: "20260101".to_owned(),
        rig_root: "localhost/buildah-gentoo/rig-root:0123456789ab".to_owned(),
        tarballs: Default::default(),
        source_dates: xtask::plan::SourceDates { rig: 1_763_856_000, repository: 1_700_000_000 },
        storage: Default::default(),
        // Every extra repository of the registry, with a fixed identity.
        repositories: xtask::plan::RepositoryIdentities {
            extra: registry
                .in_order()
                .flat_map(|image| registry.repositories_of(image))
                .map(|repository| (repository.name, format!("fixed {}", repository.name)))
                .collect(),
            ..Default::default()
        },
        // Read from the workspace, as gathering the inputs does: the images' own files.
        copied_files: {
            let images: Vec<_> = registry.in_order().collect();
            xtask::execute::inputs::copied_files(&workspace_root(), settings, &images).expect("the copied files")
        },
        binhost_tls: Default::default(),
        force: true,
    }
}

/// Checks an SPDX document against the official SPDX 2.3 JSON schema with Python's `jsonschema`:
/// `SPDX_PYTHON` and `SPDX_SCHEMA` when `cargo xtask test` set them, else a venv set up under
/// `target/buildah-gentoo/` (from PyPI). Returns the validator's complaint when the document fails.
pub fn spdx_schema_errors(document: &camino::Utf8Path) -> Option<String> {
    static VALIDATOR: std::sync::Mutex<Option<(Utf8PathBuf, Utf8PathBuf)>> = std::sync::Mutex::new(None);
    let (python, schema) = {
        let mut validator = VALIDATOR.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        validator
            .get_or_insert_with(|| match (std::env::var("SPDX_PYTHON"), std::env::var("SPDX_SCHEMA")) {
                (Ok(python), Ok(schema)) => (python.into(), schema.into()),
                _ => {
                    let sh = xshell::Shell::new().unwrap();
                    xtask::prerequisites::spdx_validator(&sh, &workspace_root().join("target/buildah-gentoo"))
                        .expect("setting up the SPDX schema check")
                }
            })
            .clone()
    };
    let script = "import json, sys, jsonschema\n\
                  schema = json.load(open(sys.argv[1]))\n\
                  assert schema.get('title') == 'SPDX 2.3', schema.get('title')\n\
                  errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(json.load(open(sys.argv[2]))), key=str)\n\
                  for error in errors: print(list(error.absolute_path), error.message)\n\
                  sys.exit(1 if errors else 0)\n";
    let output = std::process::Command::new(python.as_str())
        .args(["-c", script, schema.as_str(), document.as_str()])
        .output()
        .expect("running the SPDX schema check");
    if output.status.success() {
        None
    } else {
        Some(format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr)))
    }
}

/// `check-jsonschema` (PyPI): `CHECK_JSONSCHEMA` when `cargo xtask test` set it, else a venv set up
/// under `target/buildah-gentoo/` (from PyPI), once per test binary.
pub fn check_jsonschema() -> Utf8PathBuf {
    static CHECK: std::sync::Mutex<Option<Utf8PathBuf>> = std::sync::Mutex::new(None);
    let mut check = CHECK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    check
        .get_or_insert_with(|| match std::env::var("CHECK_JSONSCHEMA") {
            Ok(path) => path.into(),
            Err(_) => {
                let sh = xshell::Shell::new().unwrap();
                xtask::prerequisites::ci_schema_validator(&sh, &workspace_root().join("target/buildah-gentoo"))
                    .expect("setting up check-jsonschema")
            }
        })
        .clone()
}

/// Checks CI files against one of check-jsonschema's built-in schemas (`vendor.gitlab-ci`,
/// `vendor.github-workflows`). Returns the validator's complaint when a file fails.
pub fn ci_schema_errors(builtin_schema: &str, documents: &[Utf8PathBuf]) -> Option<String> {
    assert!(!documents.is_empty(), "no file to check");
    let output = std::process::Command::new(check_jsonschema().as_str())
        .args(["--verbose", "--builtin-schema", builtin_schema])
        .args(documents.iter().map(|document| document.as_str()))
        .output()
        .expect("running check-jsonschema");
    if output.status.success() {
        None
    } else {
        Some(format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr)))
    }
}

/// A YAML file as JSON, read by the ruamel.yaml of check-jsonschema's venv (YAML 1.2, as GitLab and
/// GitHub read it; no Rust YAML parser in the workspace).
pub fn yaml_as_json(document: &camino::Utf8Path) -> serde_json::Value {
    let python = check_jsonschema().with_file_name("python3");
    let script = "import json, sys\n\
                  from ruamel.yaml import YAML\n\
                  print(json.dumps(YAML(typ='safe', pure=True).load(open(sys.argv[1]))))\n";
    let output = std::process::Command::new(python.as_str())
        .args(["-c", script, document.as_str()])
        .output()
        .expect("running ruamel.yaml");
    assert!(output.status.success(), "reading {document}: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("JSON from ruamel.yaml")
}
