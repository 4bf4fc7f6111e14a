//! `faultlab scenarios`: the catalogue of scenario files, one line each — what runs, on how
//! many nodes, under which faults, and what it is for; with `--coverage`, the audit of what
//! they leave unexercised ([`crate::audit`]).

use super::common::load_scenarios;
use crate::audit::{self, Audit, Gap, ServiceAudit};
use crate::fault::FaultKind;
use crate::invariants::Overall;
use crate::plugin::Registry;
use crate::runner::seeds::SeedRange;
use crate::scenario::Scenario;
use clap::Args;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct ScenariosArgs {
    /// The directory (or files) to list.
    #[arg(long, default_value = "fault-scenarios", num_args = 1..)]
    pub dir: Vec<PathBuf>,
    /// The directory (or files) to list, as a positional argument (wins over `--dir`).
    pub paths: Vec<PathBuf>,
    /// Audit the scenarios instead of listing them: per service, the options no scenario sets
    /// away from its default and the declared notes (rare paths) no seed reaches. Exit 0 when
    /// nothing is missing, 3 (not covered) otherwise.
    #[arg(long)]
    pub coverage: bool,
    /// With `--coverage`: the seeds run of every scenario.
    #[arg(long, default_value = "0..3", allow_hyphen_values = true)]
    pub seeds: SeedRange,
    /// With `--coverage`: runs in parallel (default: the machine's cores).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub jobs: Option<u32>,
}

pub fn run(args: &ScenariosArgs, registry: &Registry) -> anyhow::Result<ExitCode> {
    let paths = if args.paths.is_empty() {
        &args.dir
    } else {
        &args.paths
    };
    let scenarios = load_scenarios(paths, registry)?;
    if args.coverage {
        return coverage(args, registry, &scenarios);
    }
    let width = scenarios.iter().map(|s| s.name.len()).max().unwrap_or(8);
    println!(
        "{:<width$}  {:<5}  {:>5}  {:<52}  description",
        "scenario", "svc", "nodes", "faults (scheduled; swarm)"
    );
    for sc in &scenarios {
        println!(
            "{:<width$}  {:<5}  {:>5}  {:<52}  {}",
            sc.name,
            sc.service_name(),
            sc.nodes,
            fault_kinds(sc),
            sc.description
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `partition, heal; swarm: crash, pause` — the kinds the schedule names, then the swarm's.
fn fault_kinds(sc: &Scenario) -> String {
    let names = |kinds: BTreeSet<FaultKind>| {
        kinds
            .iter()
            .map(|k| k.name())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let scheduled: BTreeSet<FaultKind> = sc.schedule.iter().map(|t| t.spec.kind()).collect();
    let swarm: BTreeSet<FaultKind> = sc
        .random
        .iter()
        .flat_map(|r| r.kinds.iter().copied())
        .collect();
    match (scheduled.is_empty(), swarm.is_empty()) {
        (true, true) => "none".to_string(),
        (false, true) => names(scheduled),
        (true, false) => format!("swarm: {}", names(swarm)),
        (false, false) => format!("{}; swarm: {}", names(scheduled), names(swarm)),
    }
}

/// `services`: every registered service with its planted bugs and knobs.
pub fn services(registry: &Registry) -> anyhow::Result<ExitCode> {
    for s in registry.services() {
        println!("{:<8} {}", s.name(), s.about());
        for bug in s.bugs() {
            println!("         bug  {:<34} {}", bug.name, bug.about);
        }
        let knobs = s.knob_names();
        if !knobs.is_empty() {
            println!("         knobs {}", knobs.join(", "));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn coverage(
    args: &ScenariosArgs,
    registry: &Registry,
    scenarios: &[Scenario],
) -> anyhow::Result<ExitCode> {
    if args.seeds.is_empty() {
        anyhow::bail!("--seeds {}: no seed to run", args.seeds);
    }
    let jobs = args.jobs.map_or_else(
        || std::thread::available_parallelism().map_or(1, usize::from),
        |j| j as usize,
    );
    eprintln!(
        "running seeds {} of {} scenarios ({} runs, {jobs} jobs)...",
        args.seeds,
        scenarios.len(),
        args.seeds.len() * scenarios.len() as u64
    );
    let report = audit::audit(registry, scenarios, args.seeds, jobs, &|e| {
        eprintln!("  {} done", e.name);
    })?;
    print_audit(&report);
    Ok(match report.overall() {
        Overall::Pass => ExitCode::SUCCESS,
        // A gap is not a failure of the system under test; it is what no sweep judged.
        Overall::Unknown | Overall::Fail => ExitCode::from(3),
    })
}

/// Values shown per option before the rest are counted.
const VALUES_SHOWN_MAX: usize = 4;

fn print_audit(a: &Audit) {
    println!(
        "coverage: seeds {} of every scenario, {} runs",
        a.seeds, a.runs
    );
    for s in &a.services {
        print_service(s);
    }
    let gaps = a.gaps();
    let count = |f: fn(&Gap) -> bool| gaps.iter().filter(|g| f(g)).count();
    println!();
    println!(
        "gaps: {} (options no scenario moves from its default: {}; declared notes no seed \
         reached: {}; notes made but not declared: {})",
        gaps.len(),
        count(|g| matches!(g, Gap::OptionAtDefault { .. })),
        count(|g| matches!(g, Gap::NoteUnreached { .. })),
        count(|g| matches!(g, Gap::NoteUndeclared { .. })),
    );
    match a.overall() {
        Overall::Pass => println!("verdict: covered (exit 0)"),
        Overall::Unknown | Overall::Fail => {
            println!("verdict: not covered (unknown, exit 3): each gap is a state no sweep judged")
        }
    }
}

fn print_service(s: &ServiceAudit) {
    println!();
    println!("{} ({} scenarios)", s.service, s.scenarios.len());
    let width = s
        .options
        .iter()
        .map(|o| o.key.len())
        .chain(s.notes.iter().map(|(l, _)| l.len()))
        .chain(s.undeclared.keys().map(String::len))
        .max()
        .unwrap_or(6)
        .max(6);
    println!(
        "  {:<width$}  {:<12}  values set (scenarios)",
        "option", "moved in"
    );
    for o in &s.options {
        let moved = if o.away_in.is_empty() {
            "NONE".to_string()
        } else {
            format!("{} scen.", o.away_in.len())
        };
        println!("  {:<width$}  {:<12}  {}", o.key, moved, values(o));
    }
    println!("  {:<width$}  {:<12}  scenarios", "note", "seeds");
    for (label, reach) in &s.notes {
        if reach.seeds == 0 {
            println!("  {label:<width$}  {:<12}  -", "NOT REACHED");
        } else {
            println!(
                "  {label:<width$}  {:<12}  {}",
                reach.seeds,
                names(&reach.scenarios)
            );
        }
    }
    for (label, reach) in &s.undeclared {
        println!(
            "  {label:<width$}  {:<12}  {} (UNDECLARED)",
            reach.seeds,
            names(&reach.scenarios)
        );
    }
    let unique: Vec<String> = s
        .unique_states
        .iter()
        .map(|(name, n)| format!("{name} {n}"))
        .collect();
    println!(
        "  abstract states: {} distinct; reached by one scenario only: {}",
        s.abstract_states,
        if unique.is_empty() {
            "none".to_string()
        } else {
            unique.join(", ")
        }
    );
}

/// `6 (kv-even-group), 4096 (3 scenarios)`.
fn values(o: &audit::OptionRow) -> String {
    if o.values.is_empty() {
        return "-".to_string();
    }
    let mut parts: Vec<String> = o
        .values
        .iter()
        .take(VALUES_SHOWN_MAX)
        .map(|(v, scs)| match scs.len() {
            1 => format!("{v} ({})", names(scs)),
            n => format!("{v} ({n} scenarios)"),
        })
        .collect();
    if o.values.len() > VALUES_SHOWN_MAX {
        parts.push(format!("and {} more", o.values.len() - VALUES_SHOWN_MAX));
    }
    parts.join(", ")
}

/// Up to three names, then how many more.
fn names(scs: &BTreeSet<String>) -> String {
    const SHOWN: usize = 3;
    let mut out: Vec<&str> = scs.iter().take(SHOWN).map(String::as_str).collect();
    let more = scs.len().saturating_sub(SHOWN);
    let extra = format!("+{more}");
    if more > 0 {
        out.push(&extra);
    }
    out.join(", ")
}
