use std::process::ExitCode;

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use anyhow::{bail, Context as _, Result};
use xshell::{cmd, Shell};

use super::Context;
use crate::prerequisites::{self, BUILD_TOOLS, IMPORT_TOOLS, RIG_TOOLS, TEST_TOOLS};

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
    for tools in [BUILD_TOOLS, RIG_TOOLS, IMPORT_TOOLS, TEST_TOOLS] {
        prerequisites::ensure(&sh, tools)?;
    }
    let work_dir = context.workspace.join(&context.settings.work_dir);
    let python = prerequisites::portage_python(&sh, &work_dir)?;
    let (spdx_python, spdx_schema) = prerequisites::spdx_validator(&sh, &work_dir)?;
    let check_jsonschema = prerequisites::ci_schema_validator(&sh, &work_dir)?;
    let gitlab_ci_local = prerequisites::gitlab_ci_local(&sh, &work_dir)?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let extra = &args.cargo_args;
    let mut command: std::process::Command = cmd!(sh, "{cargo} test --workspace --no-fail-fast {extra...}")
        .env("PORTAGE_PYTHON", python.as_str())
        .env("SPDX_PYTHON", spdx_python.as_str())
        .env("SPDX_SCHEMA", spdx_schema.as_str())
        .env("CHECK_JSONSCHEMA", check_jsonschema.as_str())
        .env("GITLAB_CI_LOCAL", gitlab_ci_local.as_str())
        .env("INSTA_UPDATE", "no")
        .env("BUILDAH_ISOLATION", context.settings.isolation.as_str())
        .into();
    // Passed through line by line, and counted, so the run ends on one line with the totals of every
    // test binary (cargo's last line is that of the last binary alone).
    let mut child = command.stdout(Stdio::piped()).spawn().context("starting cargo test")?;
    let mut totals = Totals::default();
    for line in BufReader::new(child.stdout.take().expect("piped stdout")).lines() {
        let line = line.context("reading cargo test's output")?;
        println!("{line}");
        totals.add(&line);
    }
    let status = child.wait()?;
    println!("\n{} passed, {} failed, {} skipped", totals.passed, totals.failed, totals.ignored);
    if !status.success() {
        bail!("cargo test failed ({status})");
    }
    Ok(ExitCode::SUCCESS)
}

/// Sums of cargo's `test result: ok. 3 passed; 0 failed; 1 ignored; ...` lines.
#[derive(Debug, Default, PartialEq, Eq)]
struct Totals {
    passed: u64,
    failed: u64,
    ignored: u64,
}

impl Totals {
    fn add(&mut self, line: &str) {
        let Some(rest) = line.strip_prefix("test result: ") else { return };
        for part in rest.split(['.', ';']) {
            let mut words = part.split_whitespace();
            let (Some(count), Some(what)) = (words.next(), words.next()) else { continue };
            let Ok(count) = count.parse::<u64>() else { continue };
            match what {
                "passed" => self.passed += count,
                "failed" => self.failed += count,
                "ignored" => self.ignored += count,
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Totals;

    #[test]
    fn totals_add_up_cargo_result_lines() {
        let mut totals = Totals::default();
        totals.add("test result: ok. 12 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 359.10s");
        totals.add("test result: FAILED. 3 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.1s");
        totals.add("running 3 tests");
        assert_eq!(totals, Totals { passed: 15, failed: 2, ignored: 1 });
    }
}
