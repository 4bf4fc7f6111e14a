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
    };
    let outcome = run_seed(&sc, args.seed, &opts)?;
    let dir = args.out.unwrap_or_else(|| {
        PathBuf::from("faultlab-out").join(format!("{}-seed{}", sc.name, args.seed))
    });
    crate::report::write_run_dir(&program, &sc, &outcome, &dir)?;
    if let Some(path) = &args.trace_json {
        let json = crate::trace::chrome_json(outcome.log.records(), sc.nodes, sc.clients);
        std::fs::write(path, json).with_context(|| format!("{}: cannot write", path.display()))?;
    }
    print!("{}", summary_text(&program, &outcome));
    println!("records    {}", dir.display());
    println!("digest {}", outcome.digest);
    Ok(ExitCode::from(outcome.overall().exit_code()))
}
