//! `faultlab bench bugs`: seeds and wall time to catch every planted bug in the scenarios built
//! to catch it.

use super::common::{RandomizeArgs, load_scenarios};
use crate::backend::BackendKind;
use crate::bench::bugs::{BugReport, Shrunk, hunt, shrink_first_catch};
use crate::plugin::Registry;
use anyhow::Context;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct BugBenchArgs {
    /// Scenario files or directories; every bug in their `catches` is hunted.
    #[arg(long = "scenario", default_value = "fault-scenarios", num_args = 1..)]
    pub scenarios: Vec<PathBuf>,
    /// Only this bug (repeatable).
    #[arg(long = "bug")]
    pub bugs: Vec<String>,
    /// Disjoint blocks of seeds per bug (block k starts at seed k * 10000).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub blocks: u64,
    /// Give up on a block after this many seeds.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..))]
    pub seeds_max: u64,
    /// The simulator.
    #[arg(long, value_enum, default_value_t = BackendKind::Turmoil)]
    pub backend: BackendKind,
    /// One JSON array of reports instead of the table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub randomize: RandomizeArgs,
    /// Also shrink each bug's first catch (`faultlab shrink`) and show faults and operations
    /// before → after.
    #[arg(long)]
    pub shrink: bool,
    /// Run budget of each shrink.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    pub shrink_runs_max: u32,
}

pub fn run(args: &BugBenchArgs, registry: &Registry) -> anyhow::Result<ExitCode> {
    let mut scenarios = load_scenarios(&args.scenarios, registry)?;
    for sc in &mut scenarios {
        sc.randomize.knobs |= args.randomize.knobs;
        sc.randomize.buggify |= args.randomize.buggify;
    }
    let mut reports: Vec<BugReport> = Vec::new();
    if !args.json {
        let shrunk = if args.shrink {
            format!(
                " {:>14} {:>16} {:>5}",
                "shrunk faults", "shrunk ops", "runs"
            )
        } else {
            String::new()
        };
        println!(
            "{:<30} {:<24} {:>7} {:>7} {:>10}{shrunk}  caught by",
            "bug", "scenario", "median", "worst", "wall p50"
        );
    }
    for sc in &scenarios {
        for &bug in &sc.catches {
            if !args.bugs.is_empty() && !args.bugs.iter().any(|b| b == bug.name) {
                continue;
            }
            let mut r = hunt(sc, bug, args.blocks, args.seeds_max, 10_000, args.backend)?;
            if args.shrink {
                let text = std::fs::read_to_string(&sc.source)
                    .with_context(|| format!("{}: cannot read the scenario", sc.source))?;
                let flags = args.randomize.flags();
                r.shrunk = shrink_first_catch(&r, sc, &text, bug, flags, args.shrink_runs_max)?;
            }
            if !args.json {
                let show =
                    |s: Option<u64>| s.map_or(format!(">{}", args.seeds_max), |n| n.to_string());
                let by: Vec<&str> = r.hunts.iter().filter_map(|h| h.caught_by).collect();
                let mut by_unique = by.clone();
                by_unique.sort_unstable();
                by_unique.dedup();
                let shrunk = match (&r.shrunk, args.shrink) {
                    (Some(s), _) => shrunk_columns(s),
                    (None, true) => format!(" {:>14} {:>16} {:>5}", "-", "-", "-"),
                    (None, false) => String::new(),
                };
                println!(
                    "{:<30} {:<24} {:>7} {:>7} {:>8.1} s{shrunk}  {}",
                    r.bug,
                    r.scenario,
                    show(r.median()),
                    show(r.worst()),
                    r.median_wall_ms() / 1000.0,
                    by_unique.join(", ")
                );
            }
            reports.push(r);
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
    }
    let all_caught = reports.iter().all(|r| r.worst().is_some());
    Ok(ExitCode::from(if all_caught { 0 } else { 1 }))
}

/// `  15 → 1   11304 → 420   17` (a `+` after the runs: the budget ran out first).
fn shrunk_columns(s: &Shrunk) -> String {
    let faults = format!("{} → {}", s.before.faults, s.after.faults);
    let ops = format!("{} → {}", s.before.ops, s.after.ops);
    let runs = format!("{}{}", s.runs, if s.budget_exhausted { "+" } else { "" });
    format!(" {faults:>14} {ops:>16} {runs:>5}")
}
