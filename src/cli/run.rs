//! `faultlab run`: sweep seeds of one or more scenarios and summarise.

use super::common::{load_scenarios, merge_bugs, program_name};
use anyhow::Context;
use clap::Args;
use faultlab::bugs::BugSet;
use faultlab::bugs::PlantedBug;
use faultlab::invariants::Outcome;
use faultlab::runner::report::replay_command_for;
use faultlab::runner::seeds::SeedRange;
use faultlab::runner::sweep::{SeedResult, sweep};
use faultlab::runner::{RunOptions, RunOutcome};
use faultlab::scenario::Scenario;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Scenario files, or directories whose *.toml files are all run.
    #[arg(long = "scenario", required = true, num_args = 1..)]
    pub scenarios: Vec<PathBuf>,
    /// Seeds to run: N, A..B (B excluded) or A..=B.
    #[arg(long, default_value = "0..20")]
    pub seeds: SeedRange,
    /// Switch on a planted bug (repeatable), e.g. idgen-clock-rollback.
    #[arg(long = "bug")]
    pub bugs: Vec<PlantedBug>,
    /// Print one JSON object per scenario (an array when there are several) instead of text.
    #[arg(long)]
    pub json: bool,
    /// Runs in parallel (default: the machine's cores).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Write a replay report (summary, history, events) for every failing seed into this directory.
    #[arg(long)]
    pub failures_dir: Option<PathBuf>,
}

#[derive(Debug, Serialize)]
struct FailureJson {
    seed: u64,
    invariant: &'static str,
    message: String,
    replay: String,
}

#[derive(Debug, Serialize)]
struct ScenarioJson {
    scenario: String,
    source: String,
    seeds: String,
    seeds_run: u64,
    seeds_failed: u64,
    bugs: Vec<String>,
    failures: Vec<FailureJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    digest: Option<String>,
    digests: BTreeMap<u64, String>,
    totals: BTreeMap<&'static str, u64>,
    notes: BTreeMap<String, u64>,
}

pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let program = program_name();
    let scenarios = load_scenarios(&args.scenarios)?;
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    let mut reports = Vec::new();
    let mut any_failed = false;
    for sc in &scenarios {
        let bugs = merge_bugs(sc, &args.bugs)?;
        let opts = RunOptions {
            extra_bugs: bugs,
            ..RunOptions::default()
        };
        let results = run_one(sc, &args, &opts, jobs)?;
        let report = scenario_json(&program, sc, &args, &opts, &results);
        any_failed |= report.seeds_failed > 0;
        if !args.json {
            print_text(&report);
        }
        reports.push(report);
    }
    if args.json {
        let text = if reports.len() == 1 {
            serde_json::to_string_pretty(&reports[0])?
        } else {
            serde_json::to_string_pretty(&reports)?
        };
        println!("{text}");
    } else if scenarios.len() > 1 {
        let seeds: u64 = reports.iter().map(|r| r.seeds_run).sum();
        let failed: u64 = reports.iter().map(|r| r.seeds_failed).sum();
        println!(
            "total: {} scenarios, {seeds} seeds, {failed} failing",
            scenarios.len()
        );
    }
    Ok(if any_failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn run_one(
    sc: &Scenario,
    args: &RunArgs,
    opts: &RunOptions,
    jobs: usize,
) -> anyhow::Result<Vec<SeedResult>> {
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
    let write_failure = |o: &RunOutcome| {
        bar.inc(1);
        if o.failed() {
            bar.set_message("(failures)");
            if let Some(dir) = &args.failures_dir {
                let out = dir.join(format!("{}-seed{}", o.scenario, o.seed));
                if let Err(e) = super::common::write_report(&program, o, &out) {
                    bar.println(format!("cannot write report for seed {}: {e:#}", o.seed));
                }
            }
        }
    };
    let results = sweep(sc, args.seeds, opts, jobs, &write_failure)
        .with_context(|| format!("scenario {}", sc.source))?;
    bar.finish_and_clear();
    Ok(results)
}

fn scenario_json(
    program: &str,
    sc: &Scenario,
    args: &RunArgs,
    opts: &RunOptions,
    results: &[SeedResult],
) -> ScenarioJson {
    let bug_set: BugSet = sc.bugs.union(&opts.extra_bugs).copied().collect();
    let bugs: Vec<String> = bug_set.iter().map(ToString::to_string).collect();
    let replay = |seed: u64| replay_command_for(program, &sc.source, seed, &bug_set);
    let mut failures = Vec::new();
    let mut totals: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut notes: BTreeMap<String, u64> = BTreeMap::new();
    for r in results {
        for v in &r.failures {
            let message = match &v.outcome {
                Outcome::Fail(m) | Outcome::Unknown(m) => m.clone(),
                Outcome::Pass => String::new(),
            };
            failures.push(FailureJson {
                seed: r.seed,
                invariant: v.invariant,
                message,
                replay: replay(r.seed),
            });
        }
        let s = &r.stats;
        for (k, v) in [
            ("ops_ok", s.ops_ok),
            ("ops_fail", s.ops_fail),
            ("ops_info", s.ops_info),
            ("messages_sent", s.messages_sent),
            ("dropped_messages", s.dropped_messages()),
            ("duplicated_messages", s.duplicated),
            ("faults_applied", s.faults_applied),
            ("crashes", s.crashes),
            ("restarts", s.restarts),
            ("pauses", s.pauses),
            ("clock_jumps_backward", s.clock_jumps_backward),
        ] {
            *totals.entry(k).or_default() += v;
        }
        // Coverage: in how many seeds each rare path was reached.
        for label in s.notes.keys() {
            *notes.entry(label.clone()).or_default() += 1;
        }
    }
    let digests: BTreeMap<u64, String> = results
        .iter()
        .map(|r| (r.seed, r.digest.to_string()))
        .collect();
    ScenarioJson {
        scenario: sc.name.clone(),
        source: sc.source.clone(),
        seeds: args.seeds.to_string(),
        seeds_run: results.len() as u64,
        seeds_failed: results.iter().filter(|r| !r.failures.is_empty()).count() as u64,
        bugs,
        failures,
        digest: (results.len() == 1).then(|| results[0].digest.to_string()),
        digests,
        totals,
        notes,
    }
}

fn print_text(r: &ScenarioJson) {
    let verdict = if r.seeds_failed == 0 {
        "all passed".to_string()
    } else {
        format!("{} FAILING", r.seeds_failed)
    };
    let bugs = if r.bugs.is_empty() {
        String::new()
    } else {
        format!(" bugs: {}", r.bugs.join(", "))
    };
    println!(
        "{:<28} seeds {:<8} {:>4} run, {verdict}{bugs}",
        r.scenario, r.seeds, r.seeds_run
    );
    let t = |k: &str| r.totals.get(k).copied().unwrap_or(0);
    println!(
        "    ops ok {} fail {} info {} | msgs {} dropped {} dup {} | faults {} crashes {} restarts {} pauses {} clock-back {}",
        t("ops_ok"),
        t("ops_fail"),
        t("ops_info"),
        t("messages_sent"),
        t("dropped_messages"),
        t("duplicated_messages"),
        t("faults_applied"),
        t("crashes"),
        t("restarts"),
        t("pauses"),
        t("clock_jumps_backward")
    );
    if !r.notes.is_empty() {
        let cov: Vec<String> = r
            .notes
            .iter()
            .map(|(k, n)| format!("{k} in {n}/{} seeds", r.seeds_run))
            .collect();
        println!("    reached: {}", cov.join(", "));
    }
    const SHOWN_MAX: usize = 10;
    for f in r.failures.iter().take(SHOWN_MAX) {
        println!("  FAIL seed {}: {}: {}", f.seed, f.invariant, f.message);
        println!("       replay: {}", f.replay);
    }
    if r.failures.len() > SHOWN_MAX {
        println!(
            "    ... {} more failures (use --json for all)",
            r.failures.len() - SHOWN_MAX
        );
    }
}
