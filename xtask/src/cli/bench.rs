use std::process::ExitCode;

use anyhow::Result;

use super::Context;
use crate::bench::{self, Figure, Rounds};

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Rounds per figure (default 5; the figures that build images run at most 3, the no-op pair of
    /// figure 1 five times as many).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=100))]
    pub runs: Option<u16>,
    /// Only these figures (default: all).
    #[arg(long, value_enum, num_args = 1.., value_name = "FIGURE")]
    pub only: Vec<Figure>,
    /// Fewer rounds (3, and 1 of the builds): a quick look, not figures to publish.
    #[arg(long)]
    pub quick: bool,
}

pub fn run(context: &Context, args: &BenchArgs) -> Result<ExitCode> {
    let rounds = Rounds::new(args.runs.map(usize::from), args.quick);
    let rows = bench::run(context.workspace(), &args.only, &rounds)?;
    let builds = args.only.is_empty() || args.only.iter().any(|figure| figure.builds());
    print!("{}\n{}", bench::machine(builds), bench::table::render(&rows));
    Ok(ExitCode::SUCCESS)
}
