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
        run_id: "plan".to_owned(),
        packages: Default::default(),
        source_dates: xtask::source_date::SourceDates { rig: 1_763_856_000, repository: 1_700_000_000 },
    }
}
