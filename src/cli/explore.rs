//! `faultlab explore`: a coverage-guided campaign from one scenario. Prints coverage growth,
//! writes every failing invariant's input as a standalone scenario file (shrunk), keeps the
//! corpus for the next campaign, and writes `explore.html` (coverage against runs, guided and
//! the random baseline). Exit code as `run`: 1 on a failure, else 3 if a run ended unknown or
//! an `[expect]` minimum was never reached, else 0.

use super::common::{Elapsed, RandomizeArgs, program_name, read_scenario, resolve_bugs};
use crate::backend::BackendKind;
use crate::explore::{
    ExploreOptions, ExploreReport, Found, Point, Strategy, corpus, explore, page,
};
use crate::plugin::Registry;
use crate::runner::RunOptions;
use crate::scenario::Scenario;
use crate::shrink::{ShrinkOptions, shrink};
use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct ExploreArgs {
    /// The scenario to start from (its swarm of faults is the first inputs' source).
    #[arg(long)]
    pub scenario: PathBuf,
    /// Runs to make.
    #[arg(long, default_value_t = 200)]
    pub runs: u64,
    /// Runs in parallel (default: the machine's cores); the result is the same for any value.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub jobs: Option<u32>,
    /// The campaign seed: the same seed gives the same corpus and the same first failure.
    #[arg(long, default_value_t = 0)]
    pub campaign_seed: u64,
    /// Guided (default) or the random swarm alone.
    #[arg(long, value_enum, default_value_t = Strategy::Guided)]
    pub strategy: Strategy,
    /// Also run the random swarm with the same budget, for the page's comparison.
    #[arg(long)]
    pub baseline: bool,
    /// A corpus directory: its inputs run first, and the corpus is written back at the end.
    #[arg(long)]
    pub corpus: Option<PathBuf>,
    /// Where failing inputs and `explore.html` go (default faultlab-out/explore/<scenario>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Stop at the first failing run.
    #[arg(long)]
    pub stop_at_first_failure: bool,
    /// Simulation runs each failure's shrink may take (0: write the failing input unshrunk).
    #[arg(long, default_value_t = crate::shrink::RUNS_MAX_DEFAULT)]
    pub shrink_runs_max: u32,
    /// Switch on a planted bug (repeatable).
    #[arg(long = "bug")]
    pub bugs: Vec<String>,
    /// The simulator.
    #[arg(long, value_enum, default_value_t = BackendKind::Turmoil)]
    pub backend: BackendKind,
    #[command(flatten)]
    pub randomize: RandomizeArgs,
}

pub fn run(args: &ExploreArgs, registry: &Registry) -> anyhow::Result<ExitCode> {
    let elapsed = Elapsed::start();
    let program = program_name();
    let (sc, text) = read_scenario(&args.scenario, registry)?;
    let run = RunOptions {
        extra_bugs: resolve_bugs(&sc, &args.bugs)?,
        backend: args.backend,
        randomize: args.randomize.flags(),
        ..RunOptions::default()
    };
    let seed_inputs = match &args.corpus {
        Some(dir) => corpus::load(dir)?,
        None => Vec::new(),
    };
    let opts = ExploreOptions {
        runs: args.runs,
        jobs: args.jobs.map_or_else(
            || std::thread::available_parallelism().map_or(1, usize::from),
            |j| j as usize,
        ),
        campaign_seed: args.campaign_seed,
        strategy: args.strategy,
        run: run.clone(),
        stop_at_first_failure: args.stop_at_first_failure,
        seed_inputs,
    };
    let loaded = opts.seed_inputs.len();
    let report = campaign(&sc, &text, &opts, "explore")?;
    let baseline = if args.baseline && args.strategy == Strategy::Guided {
        let base = ExploreOptions {
            strategy: Strategy::Random,
            seed_inputs: Vec::new(),
            ..opts.clone()
        };
        Some(campaign(&sc, &text, &base, "baseline")?)
    } else {
        None
    };
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("faultlab-out/explore").join(&sc.name));
    std::fs::create_dir_all(&out).with_context(|| format!("{}: cannot create", out.display()))?;
    println!(
        "{}: {} runs ({} from the stored corpus), {} coverage features, {} abstract states, \
         corpus {} inputs, {} run(s) unknown, in {}",
        sc.name,
        report.runs,
        loaded.min(report.runs as usize),
        report.features(),
        report.states(),
        report.corpus_len,
        report.unknown_runs,
        elapsed.human()
    );
    if let Some(b) = &baseline {
        println!(
            "  random swarm, same budget: {} coverage features, {} abstract states{}",
            b.features(),
            b.states(),
            b.first_failure()
                .map(|f| format!(", first failure at run {}", f.run))
                .unwrap_or_default()
        );
    }
    for f in &report.found {
        let file = write_found(&sc, f, &run, args.shrink_runs_max, &out, registry)?;
        println!(
            "  FAIL at run {} ({}): {} — {}\n    input: {}\n    reproduce: {program} run --scenario {} --seeds {}..={}{}",
            f.run,
            if f.mutant { "mutant" } else { "swarm seed" },
            f.invariant,
            f.message,
            file.display(),
            file.display(),
            f.seed,
            f.seed,
            args.bugs
                .iter()
                .map(|b| format!(" --bug {b}"))
                .collect::<String>()
        );
    }
    for gap in &report.sometimes_unreached {
        println!("  sometimes never reached: {gap}");
    }
    if let Some(dir) = &args.corpus {
        let kept: Vec<_> = report.corpus.iter().collect();
        let path = corpus::save(dir, &kept)?;
        println!(
            "  corpus: {} inputs written to {}",
            kept.len(),
            path.display()
        );
    }
    let html = out.join("explore.html");
    std::fs::write(&html, page::render(&report, baseline.as_ref()))
        .with_context(|| format!("{}: cannot write", html.display()))?;
    println!("  page: {}", html.display());
    let code = if !report.found.is_empty() {
        println!("verdict: FAIL (exit 1)");
        1
    } else if report.unknown_runs > 0 || !report.sometimes_unreached.is_empty() {
        println!(
            "verdict: UNKNOWN (exit 3) — not a pass: runs ended unknown or a minimum was never reached"
        );
        3
    } else {
        println!(
            "verdict: pass (exit 0) — no invariant failed in {} runs",
            report.runs
        );
        0
    };
    Ok(ExitCode::from(code))
}

fn campaign(
    sc: &Scenario,
    text: &str,
    opts: &ExploreOptions,
    prefix: &'static str,
) -> anyhow::Result<ExploreReport> {
    let bar = ProgressBar::new(opts.runs);
    if !std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar.set_style(
        ProgressStyle::with_template("{prefix:>10} [{bar:30}] {pos}/{len} runs {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_prefix(prefix);
    let on_run = |p: &Point| {
        bar.set_position(p.runs);
        bar.set_message(format!("{} features, {} states", p.features, p.states));
    };
    let report = explore(sc, text, opts, &on_run)?;
    bar.finish_and_clear();
    Ok(report)
}

/// Writes a failing input, shrunk when possible, as a scenario file; returns its path.
fn write_found(
    sc: &Scenario,
    f: &Found,
    run: &RunOptions,
    runs_max: u32,
    out: &Path,
    registry: &Registry,
) -> anyhow::Result<PathBuf> {
    let path = out.join(format!("{}-{}-seed{}.toml", sc.name, f.invariant, f.seed));
    let source = path.display().to_string();
    let input = Scenario::parse(&f.scenario_text, &source, None, registry)?;
    let header = format!(
        "# Found by `faultlab explore` from {} (run {}): fails `{}`.\n",
        sc.source, f.run, f.invariant
    );
    let shrunk = (runs_max > 0)
        .then(|| {
            shrink(
                &input,
                &f.scenario_text,
                &ShrinkOptions {
                    seed: f.seed,
                    run: run.clone(),
                    runs_max,
                },
            )
        })
        .and_then(Result::ok);
    let body = match shrunk {
        Some(s) => format!("{header}{}", s.file_text(&source)),
        None => format!("{header}\n{}", f.scenario_text),
    };
    std::fs::write(&path, body).with_context(|| format!("{source}: cannot write"))?;
    Ok(path)
}
