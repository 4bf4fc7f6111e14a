//! `faultlab replay`: run one seed, write its records, print its digest.

use super::common::{RandomizeArgs, program_name, resolve_bugs};
use crate::backend::BackendKind;
use crate::plugin::Registry;
use crate::runner::report::summary_text;
use crate::runner::{RunOptions, run_seed};
use crate::scenario::Scenario;
use anyhow::Context;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The scenario file.
    #[arg(long)]
    pub scenario: PathBuf,
    /// The seed to replay.
    #[arg(long)]
    pub seed: u64,
    /// Switch on a planted bug (repeatable).
    #[arg(long = "bug")]
    pub bugs: Vec<String>,
    /// The simulator.
    #[arg(long, value_enum, default_value_t = BackendKind::Turmoil)]
    pub backend: BackendKind,
    /// Where to write summary.txt, history.jsonl, events.jsonl and report.html
    /// (default: faultlab-out/<scenario>-seed<N>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Bound on the event log (records beyond it are dropped and `records-complete` turns
    /// unknown); for long runs whose memory is being measured.
    #[arg(long, default_value_t = crate::runner::EVENTS_MAX_DEFAULT)]
    pub events_max: usize,
    /// Also write tracing output (filtered by RUST_LOG, default info) to this file.
    #[arg(long)]
    pub trace: Option<PathBuf>,
    /// Also write the run as Chrome / Perfetto trace-event JSON to this file (open it at
    /// ui.perfetto.dev): a track per node and per client, request and handler spans, faults,
    /// message arrows.
    #[arg(long)]
    pub trace_json: Option<PathBuf>,
    /// Keep in the trace only what ends at or after this time (ms of true simulated time).
    #[arg(long, requires = "trace_json")]
    pub trace_from_ms: Option<u64>,
    /// Keep in the trace only what starts at or before this time (ms of true simulated time).
    #[arg(long, requires = "trace_json")]
    pub trace_to_ms: Option<u64>,
    /// Keep in the trace only these nodes' tracks (comma-separated ids: `0,2`); every client's
    /// track stays, a message arrow stays when both its ends do.
    #[arg(long, requires = "trace_json", value_delimiter = ',')]
    pub trace_nodes: Option<Vec<u32>>,
    #[command(flatten)]
    pub randomize: RandomizeArgs,
}

pub fn run(args: ReplayArgs, registry: &Registry) -> anyhow::Result<ExitCode> {
    let program = program_name();
    let sc = Scenario::load(&args.scenario, registry)?;
    let opts = RunOptions {
        extra_bugs: resolve_bugs(&sc, &args.bugs)?,
        randomize: args.randomize.flags(),
        backend: args.backend,
        events_max: args.events_max,
        abstract_states: false,
    };
    let filter = trace_filter(&args, sc.nodes)?;
    let outcome = run_seed(&sc, args.seed, &opts)?;
    let dir = args.out.unwrap_or_else(|| {
        PathBuf::from("faultlab-out").join(format!("{}-seed{}", sc.name, args.seed))
    });
    crate::report::write_run_dir(&program, &sc, &outcome, &dir)?;
    if let Some(path) = &args.trace_json {
        let records = outcome.log.records();
        let json = crate::trace::chrome_json_filtered(records, sc.nodes, sc.clients, &filter);
        std::fs::write(path, json).with_context(|| format!("{}: cannot write", path.display()))?;
    }
    print!("{}", summary_text(&program, &outcome));
    println!("records    {}", dir.display());
    println!("digest {}", outcome.digest);
    Ok(ExitCode::from(outcome.overall().exit_code()))
}

/// The trace filter the flags ask for, checked against the scenario.
fn trace_filter(args: &ReplayArgs, nodes: u32) -> anyhow::Result<crate::trace::TraceFilter> {
    if let (Some(from), Some(to)) = (args.trace_from_ms, args.trace_to_ms)
        && from > to
    {
        anyhow::bail!("--trace-from-ms {from} is after --trace-to-ms {to}");
    }
    let nodes = match &args.trace_nodes {
        None => None,
        Some(ids) => {
            if let Some(bad) = ids.iter().find(|&&n| n >= nodes) {
                anyhow::bail!("--trace-nodes: node {bad} is not in this {nodes}-node scenario");
            }
            Some(ids.iter().map(|&n| crate::ids::NodeId(n)).collect())
        }
    };
    Ok(crate::trace::TraceFilter {
        from_ns: args.trace_from_ms.map(|ms| ms.saturating_mul(1_000_000)),
        to_ns: args.trace_to_ms.map(|ms| ms.saturating_mul(1_000_000)),
        nodes,
    })
}
