//! How fast the simulator runs: simulated seconds per wall-clock second (time compression), runs
//! per minute and simulated events per wall second, one run after another on one thread (one
//! core), on either backend.

use crate::backend::BackendKind;
use crate::counters::Counter;
use crate::runner::seeds::SeedRange;
use crate::runner::{RunError, RunOptions, run_seed};
use crate::scenario::Scenario;
use serde::Serialize;

/// The cluster sizes of the scaling series: a preset's load (5 clients, 10
/// simulated seconds) on ever more nodes.
pub const SCALING_NODES: &[u32] = &[3, 5, 9, 17, 33, 64];

/// What `faultlab bench sim` measured for one scenario on one backend.
#[derive(Debug, Clone, Serialize)]
pub struct SimBenchReport {
    /// The scenario's name.
    pub scenario: String,
    /// The simulator.
    pub backend: BackendKind,
    /// Cluster size.
    pub nodes: u32,
    /// The simulator step (a stepped simulator's; madsim has none).
    pub tick_ms: Option<u64>,
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
    /// Simulated events (event-log records) per wall second.
    pub events_per_second: f64,
    /// Wall time per simulated event.
    pub wall_ns_per_event: f64,
    /// Events per run (mean).
    pub events_per_run: u64,
    /// Client operations per run (mean).
    pub ops_per_run: u64,
}

/// Runs `seeds` of `scenario` back to back on this thread, on `backend`.
pub fn bench_sim(
    scenario: &Scenario,
    backend: BackendKind,
    seeds: SeedRange,
) -> Result<SimBenchReport, RunError> {
    let opts = RunOptions {
        backend,
        ..RunOptions::default()
    };
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
    let per_run_s = total_ms / 1000.0 / runs.max(1) as f64;
    let events_per_run = events as f64 / runs.max(1) as f64;
    Ok(SimBenchReport {
        scenario: scenario.name.clone(),
        backend,
        nodes: scenario.nodes,
        tick_ms: (backend == BackendKind::Turmoil).then_some(scenario.network.tick_ms),
        runs,
        sim_seconds_per_run: sim_s,
        wall_ms_total: total_ms,
        wall_ms_per_run_p50: walls_ms.get(walls_ms.len() / 2).copied().unwrap_or(0.0),
        wall_ms_per_run_max: walls_ms.last().copied().unwrap_or(0.0),
        time_compression: sim_s / per_run_s,
        runs_per_minute: 60.0 / per_run_s,
        events_per_second: events_per_run / per_run_s,
        wall_ns_per_event: per_run_s * 1e9 / events_per_run.max(1.0),
        events_per_run: events / runs.max(1),
        ops_per_run: ops / runs.max(1),
    })
}

/// The scaling series' scenarios: `text` (a scenario file's contents) with `nodes` nodes and
/// everything else — the clients, so the total load, and the duration — unchanged. The result
/// is parsed and validated like any scenario.
pub fn scenario_with_nodes(text: &str, nodes: u32) -> Result<String, toml::de::Error> {
    let mut table: toml::Table = text.parse()?;
    table.insert("nodes".into(), toml::Value::Integer(i64::from(nodes)));
    Ok(table.to_string())
}
