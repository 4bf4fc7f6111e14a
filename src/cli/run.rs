//! `faultlab run`: sweep seeds of one or more scenarios and summarise. Exit code: 1 if any
//! seed failed, else 3 if any seed (or the sweep's coverage) is unknown, else 0.

use super::common::{Elapsed, RandomizeArgs, load_scenarios, program_name, resolve_bugs};
use super::run_report::{ScenarioReport, print_text, scenario_report};
use crate::backend::BackendKind;
use crate::invariants::Overall;
use crate::plugin::Registry;
use crate::runner::seeds::SeedRange;
use crate::runner::sweep::{SeedResult, sweep};
use crate::runner::{RunOptions, RunOutcome};
use crate::scenario::Scenario;
use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Scenario files, or directories whose *.toml files are all run.
    #[arg(long = "scenario", required = true, num_args = 1..)]
    pub scenarios: Vec<PathBuf>,
    /// Seeds to run: N, A..B (B excluded) or A..=B.
    #[arg(long, default_value = "0..20", allow_hyphen_values = true)]
    pub seeds: SeedRange,
    /// Switch on a planted bug (repeatable), e.g. idgen-clock-rollback; `faultlab scenarios`
    /// lists them.
    #[arg(long = "bug")]
    pub bugs: Vec<String>,
    /// The simulator.
    #[arg(long, value_enum, default_value_t = BackendKind::Turmoil)]
    pub backend: BackendKind,
    /// Bound on the event log (records beyond it are dropped and `records-complete` turns
    /// unknown); for long runs whose memory is being measured.
    #[arg(long, default_value_t = crate::runner::EVENTS_MAX_DEFAULT)]
    pub events_max: usize,
    /// Print one JSON object per scenario (an array when there are several) instead of text.
    #[arg(long)]
    pub json: bool,
    /// Runs in parallel (default: the machine's cores).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub jobs: Option<u32>,
    /// Write a replay report (summary, history, events) for every seed that failed or ended
    /// unknown into this directory.
    #[arg(long)]
    pub failures_dir: Option<PathBuf>,
    #[command(flatten)]
    pub randomize: RandomizeArgs,
}

pub fn run(args: RunArgs, registry: &Registry) -> anyhow::Result<ExitCode> {
    let elapsed = Elapsed::start();
    let program = program_name();
    let scenarios = load_scenarios(&args.scenarios, registry)?;
    let jobs = args.jobs.map_or_else(
        || std::thread::available_parallelism().map_or(1, usize::from),
        |j| j as usize,
    );
    let mut reports = Vec::new();
    for sc in &scenarios {
        let opts = RunOptions {
            extra_bugs: resolve_bugs(sc, &args.bugs)?,
            randomize: args.randomize.flags(),
            backend: args.backend,
            events_max: args.events_max,
            abstract_states: false,
        };
        let started = Elapsed::start();
        let (results, written) = run_one(sc, &args, &opts, jobs)?;
        let report = scenario_report(&program, sc, &args.seeds, &opts, &results, started.ms());
        if !args.json {
            print_text(&report);
            if written > 0
                && let Some(dir) = &args.failures_dir
            {
                println!(
                    "    reports of {written} seed(s) written under {}",
                    dir.display()
                );
            }
        }
        reports.push(report);
    }
    let overall = reports
        .iter()
        .map(|r| r.overall)
        .max()
        .unwrap_or(Overall::Pass);
    if args.json {
        let text = if reports.len() == 1 {
            serde_json::to_string_pretty(&reports[0])?
        } else {
            serde_json::to_string_pretty(&reports)?
        };
        println!("{text}");
    } else {
        print_total(&reports, overall, &elapsed);
    }
    Ok(ExitCode::from(overall.exit_code()))
}

fn print_total(reports: &[ScenarioReport], overall: Overall, elapsed: &Elapsed) {
    let sum = |f: fn(&ScenarioReport) -> u64| reports.iter().map(f).sum::<u64>();
    println!(
        "total: {} scenario(s), {} seeds: {} passed, {} failed, {} unknown, in {}",
        reports.len(),
        sum(|r| r.seeds_run),
        sum(|r| r.seeds_passed),
        sum(|r| r.seeds_failed),
        sum(|r| r.seeds_unknown),
        elapsed.human()
    );
    match overall {
        Overall::Pass => println!("verdict: pass (exit 0)"),
        Overall::Fail => println!(
            "verdict: FAIL (exit 1) — replay a failing seed with the command printed above; \
             `--failures-dir DIR` keeps every failing run's records"
        ),
        Overall::Unknown => println!(
            "verdict: UNKNOWN (exit 3) — not a pass: something could not be decided (see the \
             `unknown` lines); more seeds, a liveness phase or a larger checker budget decide it"
        ),
    }
}

fn run_one(
    sc: &Scenario,
    args: &RunArgs,
    opts: &RunOptions,
    jobs: usize,
) -> anyhow::Result<(Vec<SeedResult>, u64)> {
    let bar = ProgressBar::new(args.seeds.len());
    if args.json || !std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar.set_style(
        ProgressStyle::with_template("{prefix:>20} [{bar:30}] {pos}/{len} seeds {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_prefix(sc.name.clone());
    let program = program_name();
    let (failed, unknown, written) = (AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0));
    let on_done = |o: &RunOutcome| {
        bar.inc(1);
        match o.overall() {
            Overall::Pass => return,
            Overall::Fail => failed.fetch_add(1, Ordering::Relaxed),
            Overall::Unknown => unknown.fetch_add(1, Ordering::Relaxed),
        };
        bar.set_message(format!(
            "({} failing, {} unknown)",
            failed.load(Ordering::Relaxed),
            unknown.load(Ordering::Relaxed)
        ));
        if let Some(dir) = &args.failures_dir {
            let out = dir.join(format!("{}-seed{}", o.scenario, o.seed));
            let written_out = crate::report::write_run_dir(&program, sc, o, &out);
            match written_out {
                Ok(()) => {
                    written.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => bar.println(format!("cannot write report for seed {}: {e:#}", o.seed)),
            }
        }
    };
    let results = sweep(sc, args.seeds, opts, jobs, &on_done)
        .with_context(|| format!("scenario {}", sc.source))?;
    bar.finish_and_clear();
    Ok((results, written.into_inner()))
}
