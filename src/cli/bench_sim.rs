//! `faultlab bench sim`: simulator speed.

use clap::Args;
use faultlab::bench::sim::{DEFAULT_SCENARIO, bench_sim};
use faultlab::runner::seeds::SeedRange;
use faultlab::scenario::Scenario;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct SimBenchArgs {
    /// Scenario to time (default: the built-in 5-node ID-generator scenario, 10 simulated seconds).
    #[arg(long)]
    pub scenario: Option<PathBuf>,
    /// Seeds to run, one after another on one thread.
    #[arg(long, default_value = "0..20")]
    pub seeds: SeedRange,
    /// Override the simulator step (ms); turmoil delivers messages on step boundaries.
    #[arg(long)]
    pub tick_ms: Option<u64>,
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: SimBenchArgs) -> anyhow::Result<ExitCode> {
    let mut sc = match &args.scenario {
        Some(path) => Scenario::load(path)?,
        None => Scenario::parse(
            DEFAULT_SCENARIO,
            "<built-in idgen benchmark>",
            Some("idgen-bench"),
        )?,
    };
    if let Some(tick) = args.tick_ms {
        anyhow::ensure!((1..=100).contains(&tick), "--tick-ms must be 1..=100");
        sc.network.tick_ms = tick;
    }
    let r = bench_sim(&sc, args.seeds)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        println!("scenario            {} (tick {} ms)", r.scenario, r.tick_ms);
        println!(
            "runs                {} x {:.1} simulated s, one thread",
            r.runs, r.sim_seconds_per_run
        );
        println!(
            "wall per run        p50 {:.1} ms, max {:.1} ms",
            r.wall_ms_per_run_p50, r.wall_ms_per_run_max
        );
        println!(
            "time compression    {:.0}x (simulated s per wall s)",
            r.time_compression
        );
        println!("runs per minute     {:.0}", r.runs_per_minute);
        println!("simulator steps/s   {:.0}", r.sim_steps_per_second);
        println!(
            "per run             {} events, {} client operations",
            r.events_per_run, r.ops_per_run
        );
    }
    Ok(ExitCode::SUCCESS)
}
