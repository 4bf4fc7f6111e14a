//! Command-line interface: one module per subcommand.

pub mod bench;
pub mod check;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Deterministic simulation testing for distributed services.
#[derive(Debug, Parser)]
#[command(name = "faultlab", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a history (JSON Lines) for linearizability against a model.
    Check(check::CheckArgs),
    /// Benchmarks (`bench check`: the linearizability checker).
    Bench(bench::BenchArgs),
}

pub fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Check(args) => check::run(args),
        Command::Bench(args) => bench::run(args),
    }
}
