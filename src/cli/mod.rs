//! Command-line interface: one module per subcommand.

mod bench_bugs;
mod bench_check;
mod bench_sim;
pub mod check;
mod check_files;
mod common;
mod real;
mod replay;
mod run;
mod run_report;
mod scenarios;
mod shrink;
pub mod trace;

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
    /// Run seeds of scenarios under fault injection and summarise (exit 1 if any invariant fails).
    Run(run::RunArgs),
    /// Replay one seed: write its history, events and summary, print its digest.
    Replay(replay::ReplayArgs),
    /// Run one node of a service on a real UDP socket and disk (until killed).
    Serve(real::ServeArgs),
    /// Drive a real cluster with clients, write the history, check it.
    Load(real::LoadArgs),
    /// Check histories (JSON Lines or Jepsen EDN) for linearizability against a model.
    Check(check::CheckArgs),
    /// Benchmarks: bug-hunting speed (`bugs`), simulator speed (`sim`), checker speed (`check`).
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Shrink a failing seed to a smaller scenario that fails the same invariant.
    Shrink(shrink::ShrinkArgs),
    /// List scenario files: service, nodes, fault kinds, what each is for.
    Scenarios(scenarios::ScenariosArgs),
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Seeds and wall time to catch every planted bug in the scenarios built to catch it.
    Bugs(bench_bugs::BugBenchArgs),
    /// Simulated seconds per wall second and runs per minute, on one core.
    Sim(bench_sim::SimBenchArgs),
    /// Checker throughput on seeded generated histories, and where it turns unknown.
    Check(bench_check::CheckBenchArgs),
}

pub fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    let trace_file = match &cli.command {
        Command::Replay(args) => args.trace.clone(),
        _ => None,
    };
    trace::init(trace_file.as_deref())?;
    match cli.command {
        Command::Run(args) => run::run(args),
        Command::Replay(args) => replay::run(args),
        Command::Serve(args) => real::serve_cmd(args),
        Command::Load(args) => real::load_cmd(args),
        Command::Check(args) => check::run(args),
        Command::Bench(BenchCommand::Bugs(args)) => bench_bugs::run(&args),
        Command::Bench(BenchCommand::Sim(args)) => bench_sim::run(args),
        Command::Bench(BenchCommand::Check(args)) => bench_check::run(&args),
        Command::Shrink(args) => shrink::run(&args),
        Command::Scenarios(args) => scenarios::run(&args),
    }
}
