//! `faultlab check`: linearizability of a recorded history.

use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The history file (JSON Lines).
    pub history: PathBuf,
}

pub fn run(args: CheckArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("check of {} is not built yet", args.history.display())
}
