//! `faultlab replay`: run one seed, write its records, print its digest.

use super::common::{RandomizeArgs, program_name, resolve_bugs, write_report};
use clap::Args;
use faultlab::backend::BackendKind;
use faultlab::runner::report::summary_text;
use faultlab::runner::{RunOptions, run_seed};
use faultlab::scenario::Scenario;
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
    /// Where to write summary.txt, history.jsonl and events.jsonl
    /// (default: faultlab-out/<scenario>-seed<N>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Bound on the event log (records beyond it are dropped and `records-complete` turns
    /// unknown); for long runs whose memory is being measured.
    #[arg(long, default_value_t = faultlab::runner::EVENTS_MAX_DEFAULT)]
    pub events_max: usize,
    /// Also write tracing output (filtered by RUST_LOG, default info) to this file.
    #[arg(long)]
    pub trace: Option<PathBuf>,
    #[command(flatten)]
    pub randomize: RandomizeArgs,
}

pub fn run(args: ReplayArgs) -> anyhow::Result<ExitCode> {
    let program = program_name();
    let sc = Scenario::load(&args.scenario)?;
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
    write_report(&program, &outcome, &dir)?;
    print!("{}", summary_text(&program, &outcome));
    println!("records    {}", dir.display());
    println!("digest {}", outcome.digest);
    Ok(ExitCode::from(outcome.overall().exit_code()))
}
