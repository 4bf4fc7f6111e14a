//! The command-line interface, for any registry of services: `faultlab`'s own binary is
//! `cli::main_with(Registry::builtin())`, and a crate with services of its own gets the same
//! `run / replay / shrink / bench / scenarios / check / serve / load` for them in three lines:
//!
//! ```ignore
//! fn main() -> std::process::ExitCode {
//!     faultlab::cli::main_with(faultlab::Registry::new().with::<MyService>())
//! }
//! ```
//!
//! Every command a run prints (replay, shrink) names the binary that is running.
//!
//! This is the binary edge: errors become `anyhow` here and exit codes in [`main_with`]. Exit
//! codes: 0 = pass, 1 = an invariant or check failed, 2 = bad input or usage, 3 = the
//! checker ran out of budget (unknown). One module per subcommand.

mod bench_bugs;
mod bench_check;
mod bench_explore;
mod bench_sim;
pub mod check;
mod check_files;
mod common;
mod explore;
mod real;
mod replay;
mod run;
mod run_report;
mod scenarios;
mod shrink;
pub mod trace;

use crate::plugin::Registry;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use std::process::ExitCode;

/// Deterministic simulation testing for distributed services.
#[derive(Debug, Parser)]
#[command(name = "faultlab", version, about, long_about = None)]
pub struct Cli {
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
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
    /// Coverage-guided search over fault schedules from one scenario (exit 1 on a failure).
    Explore(explore::ExploreArgs),
    /// Shrink a failing seed to a smaller scenario that fails the same invariant.
    Shrink(shrink::ShrinkArgs),
    /// List scenario files: service, nodes, fault kinds, what each is for.
    Scenarios(scenarios::ScenariosArgs),
    /// List the registered services and their planted bugs and knobs.
    Services,
}

/// The benchmarks.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Seeds and wall time to catch every planted bug in the scenarios built to catch it.
    Bugs(bench_bugs::BugBenchArgs),
    /// Simulated seconds per wall second and runs per minute, on one core.
    Sim(bench_sim::SimBenchArgs),
    /// Checker throughput on seeded generated histories, and where it turns unknown.
    Check(bench_check::CheckBenchArgs),
    /// Guided exploration against the random swarm: runs to catch each planted bug, and
    /// distinct abstract states, from each service's generic swarm scenario.
    Explore(bench_explore::ExploreBenchArgs),
}

/// The whole command line for the services of `registry`: parses the process's arguments,
/// runs the subcommand and returns its exit code (errors are printed, exit 2). The help
/// names the running binary.
pub fn main_with(registry: Registry) -> ExitCode {
    let program = common::program_name();
    let command = Cli::command().name(common::binary_name(&program));
    let cli = match Cli::from_arg_matches(&command.get_matches()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    match dispatch(cli, &registry) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

/// Runs one parsed command line against `registry`.
pub fn dispatch(cli: Cli, registry: &Registry) -> anyhow::Result<ExitCode> {
    let trace_file = match &cli.command {
        Command::Replay(args) => args.trace.clone(),
        _ => None,
    };
    trace::init(trace_file.as_deref())?;
    match cli.command {
        Command::Run(args) => run::run(args, registry),
        Command::Replay(args) => replay::run(args, registry),
        Command::Serve(args) => real::serve_cmd(args, registry),
        Command::Load(args) => real::load_cmd(args, registry),
        Command::Check(args) => check::run(args),
        Command::Bench(BenchCommand::Bugs(args)) => bench_bugs::run(&args, registry),
        Command::Bench(BenchCommand::Sim(args)) => bench_sim::run(args, registry),
        Command::Bench(BenchCommand::Check(args)) => bench_check::run(&args),
        Command::Bench(BenchCommand::Explore(args)) => bench_explore::run(&args, registry),
        Command::Shrink(args) => shrink::run(&args, registry),
        Command::Explore(args) => explore::run(&args, registry),
        Command::Scenarios(args) => scenarios::run(&args, registry),
        Command::Services => scenarios::services(registry),
    }
}
