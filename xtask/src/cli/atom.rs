use std::io::BufRead;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use image_defs::Atom;
use serde::Serialize;

#[derive(Debug, clap::Args)]
pub struct AtomArgs {
    /// Atoms to explain; `-` reads one atom per line from standard input.
    #[arg(required = true)]
    pub atoms: Vec<String>,
}

/// One line of output: the parts of a valid atom, or why it is invalid.
#[derive(Serialize)]
#[serde(untagged)]
pub enum Explanation<'a> {
    Valid {
        input: &'a str,
        ok: bool,
        blocker: Option<&'static str>,
        operator: Option<&'static str>,
        category: &'a str,
        package: &'a str,
        version: Option<&'a str>,
        slot: Option<&'a str>,
        subslot: Option<&'a str>,
        slot_operator: Option<&'static str>,
        repo: Option<&'a str>,
        #[serde(rename = "use")]
        use_deps: Vec<&'a str>,
    },
    Invalid {
        input: &'a str,
        ok: bool,
        error: String,
    },
}

/// Explains one atom.
pub fn explain(input: &str) -> Explanation<'_> {
    match Atom::parse(input) {
        Ok(atom) => Explanation::Valid {
            input,
            ok: true,
            blocker: atom.blocker().map(|b| b.as_str()),
            operator: atom.operator().map(|o| o.as_str()),
            category: atom.category(),
            package: atom.package(),
            version: atom.version(),
            slot: atom.slot(),
            subslot: atom.subslot(),
            slot_operator: atom.slot_operator().map(|o| o.as_str()),
            repo: atom.repo(),
            use_deps: atom.use_deps().collect(),
        },
        Err(error) => Explanation::Invalid { input, ok: false, error: error.to_string() },
    }
}

pub fn run(args: &AtomArgs) -> Result<ExitCode> {
    let mut inputs = Vec::new();
    for arg in &args.atoms {
        if arg == "-" {
            for line in std::io::stdin().lock().lines() {
                let line = line.context("reading atoms from standard input")?;
                if !line.trim().is_empty() {
                    inputs.push(line.trim().to_owned());
                }
            }
        } else {
            inputs.push(arg.clone());
        }
    }
    let mut all_valid = true;
    for input in &inputs {
        let explanation = explain(input);
        all_valid &= matches!(explanation, Explanation::Valid { .. });
        println!("{}", serde_json::to_string(&explanation)?);
    }
    Ok(if all_valid { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
