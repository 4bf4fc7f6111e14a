//! How fast the simulator runs: simulated seconds per wall-clock second (time compression) and
//! runs per minute, one run after another on one thread (one core).

use crate::counters::Counter;
use crate::runner::seeds::SeedRange;
use crate::runner::{RunError, RunOptions, run_seed};
use crate::scenario::Scenario;
use serde::Serialize;

/// The benchmark's default: the 5-node ID generator, 5 clients, 10 simulated seconds, no
/// faults, no liveness phase — the same workload as `fault-scenarios/idgen-calm.toml`.
pub const DEFAULT_SCENARIO: &str = r#"
description = "benchmark: 5 ID-generator nodes, 5 clients, 10 simulated seconds"
service = "idgen"
nodes = 5
clients = 5
duration_ms = 10000
liveness_ms = 0

[workload]
think_ms_min = 0
think_ms_max = 10
timeout_ms = 200

[expect]
ops_ok_min = 0
"#;

/// What `faultlab bench sim` measured.
#[derive(Debug, Clone, Serialize)]
pub struct SimBenchReport {
    /// The scenario's name.
    pub scenario: String,
    /// The simulator step.
    pub tick_ms: u64,
    /// Runs timed.
    pub runs: u64,
    /// Simulated seconds per run.
    pub sim_seconds_per_run: f64,
    /// Wall time of all runs.
    pub wall_ms_total: f64,
    /// Median wall time per run.
    pub wall_ms_per_run_p50: f64,
    /// Slowest run.
    pub wall_ms_per_run_max: f64,
    /// Simulated seconds per wall-clock second.
    pub time_compression: f64,
    /// Runs per minute on one core.
    pub runs_per_minute: f64,
    /// Simulator steps per wall second.
    pub sim_steps_per_second: f64,
    /// Events per run.
    pub events_per_run: u64,
    /// Client operations per run.
    pub ops_per_run: u64,
}

/// Runs `seeds` of `scenario` back to back on this thread.
pub fn bench_sim(scenario: &Scenario, seeds: SeedRange) -> Result<SimBenchReport, RunError> {
    let opts = RunOptions::default();
    let mut walls_ms = Vec::new();
    let (mut events, mut ops) = (0u64, 0u64);
    for seed in seeds.iter() {
        #[allow(clippy::disallowed_methods)] // measuring the wall clock is the point of a benchmark
        let started = std::time::Instant::now();
        let out = run_seed(scenario, seed, &opts)?;
        walls_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        let c = &out.counters;
        events += c[Counter::Events];
        ops += c[Counter::OpsOk] + c[Counter::OpsFail] + c[Counter::OpsInfo];
    }
    walls_ms.sort_by(f64::total_cmp);
    let runs = walls_ms.len() as u64;
    let total_ms: f64 = walls_ms.iter().sum();
    let sim_s = scenario.total_ms() as f64 / 1000.0;
    let steps_per_run = scenario.total_ms() as f64 / scenario.network.tick_ms as f64;
    let per_run_s = total_ms / 1000.0 / runs.max(1) as f64;
    Ok(SimBenchReport {
        scenario: scenario.name.clone(),
        tick_ms: scenario.network.tick_ms,
        runs,
        sim_seconds_per_run: sim_s,
        wall_ms_total: total_ms,
        wall_ms_per_run_p50: walls_ms.get(walls_ms.len() / 2).copied().unwrap_or(0.0),
        wall_ms_per_run_max: walls_ms.last().copied().unwrap_or(0.0),
        time_compression: sim_s / per_run_s,
        runs_per_minute: 60.0 / per_run_s,
        sim_steps_per_second: steps_per_run / per_run_s,
        events_per_run: events / runs.max(1),
        ops_per_run: ops / runs.max(1),
    })
}
