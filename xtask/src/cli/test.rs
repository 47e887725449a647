use std::process::ExitCode;

use anyhow::Result;
use xshell::{cmd, Shell};

use super::Context;
use crate::prerequisites::{self, BUILD_TOOLS, RIG_TOOLS, TEST_TOOLS};

#[derive(Debug, clap::Args)]
pub struct TestArgs {
    /// Extra arguments for `cargo test` (e.g. a test name filter), after `--`.
    #[arg(last = true)]
    pub cargo_args: Vec<String>,
}

/// Installs what the tests need (Debian, root) and runs every test of the workspace, the end-to-end
/// suite included, with snapshot updates off so a changed snapshot fails.
pub fn run(context: &Context, args: &TestArgs) -> Result<ExitCode> {
    let sh = Shell::new()?;
    sh.change_dir(&context.workspace);
    for tools in [BUILD_TOOLS, RIG_TOOLS, TEST_TOOLS] {
        prerequisites::ensure(&sh, tools)?;
    }
    let python = prerequisites::portage_python(&sh, &context.workspace.join(&context.settings.work_dir))?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let extra = &args.cargo_args;
    cmd!(sh, "{cargo} test --workspace --no-fail-fast {extra...}")
        .env("PORTAGE_PYTHON", python.as_str())
        .env("INSTA_UPDATE", "no")
        .env("BUILDAH_ISOLATION", context.settings.isolation.as_str())
        .run()?;
    Ok(ExitCode::SUCCESS)
}
