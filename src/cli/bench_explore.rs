//! `faultlab bench explore`: guided exploration against the random swarm, per planted bug and
//! per service, from each service's generic swarm scenario.

use super::common::load_scenarios;
use crate::backend::BackendKind;
use crate::bench::explore::{BugRace, RaceOptions, StatesRace, median, race_bug, race_states};
use crate::explore::Strategy;
use crate::plugin::Registry;
use crate::runner::RunOptions;
use crate::scenario::Scenario;
use anyhow::Context;
use clap::Args;
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct ExploreBenchArgs {
    /// Where the swarm scenarios are (a service's generic scenario is its `*-swarm*.toml`
    /// whose `catches` names the bug, else `<service>-swarm.toml`).
    #[arg(long = "scenario", default_value = "fault-scenarios", num_args = 1..)]
    pub scenarios: Vec<PathBuf>,
    /// Only these services (repeatable; default: every registered service with a swarm).
    #[arg(long = "service")]
    pub services: Vec<String>,
    /// Only these bugs (repeatable).
    #[arg(long = "bug")]
    pub bugs: Vec<String>,
    /// Campaigns per strategy (campaign seeds 1..=N).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=100))]
    pub campaigns: u64,
    /// Run budget of one campaign.
    #[arg(long, default_value_t = 48, value_parser = clap::value_parser!(u64).range(1..))]
    pub runs: u64,
    /// Threads per campaign (results do not depend on it).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub jobs: u32,
    /// Skip the distinct-states race.
    #[arg(long, conflicts_with = "states_only")]
    pub no_states: bool,
    /// Only the distinct-states race (no planted bug).
    #[arg(long)]
    pub states_only: bool,
    /// The simulator.
    #[arg(long, value_enum, default_value_t = BackendKind::Turmoil)]
    pub backend: BackendKind,
    /// One JSON object instead of the tables.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct Output {
    bugs: Vec<BugRace>,
    states: Vec<StatesRace>,
    /// Median over bugs of random median / guided median.
    median_speedup: f64,
    /// Worst (smallest) per-bug speedup.
    worst_speedup: f64,
}

pub fn run(args: &ExploreBenchArgs, registry: &Registry) -> anyhow::Result<ExitCode> {
    let scenarios = load_scenarios(&args.scenarios, registry)?;
    let o = RaceOptions {
        campaigns: args.campaigns,
        runs: args.runs,
        jobs: args.jobs as usize,
        run: RunOptions {
            backend: args.backend,
            ..RunOptions::default()
        },
    };
    let mut out = Output {
        bugs: Vec::new(),
        states: Vec::new(),
        median_speedup: 0.0,
        worst_speedup: 0.0,
    };
    if !args.json {
        println!(
            "{:<34} {:<20} {:>14} {:>14} {:>8}",
            "bug", "from", "guided med/max", "random med/max", "speedup"
        );
    }
    for svc in registry.services() {
        if !args.services.is_empty() && !args.services.iter().any(|s| s == svc.name()) {
            continue;
        }
        let swarms: Vec<&Scenario> = scenarios
            .iter()
            .filter(|s| s.service.name() == svc.name() && s.name.contains("swarm"))
            .collect();
        // The plainest swarm: `<service>-swarm` (or `mr-swarm`), not `idgen-leases-swarm`.
        let Some(generic) = swarms
            .iter()
            .filter(|s| s.name.ends_with("-swarm"))
            .min_by_key(|s| (s.name.len(), s.name.clone()))
            .or(swarms.first())
        else {
            continue;
        };
        for bug in svc.bugs() {
            if args.states_only
                || (!args.bugs.is_empty() && !args.bugs.iter().any(|b| b == bug.name))
            {
                continue;
            }
            let sc = swarms
                .iter()
                .find(|s| s.catches.contains(bug))
                .unwrap_or(generic);
            let text = std::fs::read_to_string(&sc.source)
                .with_context(|| format!("{}: cannot read", sc.source))?;
            let race = race_bug(sc, &text, *bug, &o)?;
            if !args.json {
                print_bug(&race);
            }
            out.bugs.push(race);
        }
        if !args.no_states && args.bugs.is_empty() {
            let text = std::fs::read_to_string(&generic.source)
                .with_context(|| format!("{}: cannot read", generic.source))?;
            out.states.push(race_states(generic, &text, &o)?);
        }
    }
    let speedups: Vec<f64> = out.bugs.iter().map(speedup).collect();
    out.median_speedup = median_f64(&speedups);
    out.worst_speedup = speedups.iter().copied().fold(f64::INFINITY, f64::min);
    if speedups.is_empty() {
        out.worst_speedup = 0.0;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(ExitCode::SUCCESS);
    }
    if !out.bugs.is_empty() {
        let caught = |st: Strategy| out.bugs.iter().map(|b| b.caught(st)).sum::<usize>();
        let campaigns: usize = out.bugs.iter().map(|b| b.guided.len()).sum();
        println!(
            "\ncampaigns that caught their bug within {} runs: guided {} of {campaigns}, random {} of {campaigns}",
            args.runs,
            caught(Strategy::Guided),
            caught(Strategy::Random)
        );
        println!(
            "\nmedian speedup over {} bugs: {:.2}× (random runs to catch / guided); worst {:.2}×",
            out.bugs.len(),
            out.median_speedup,
            out.worst_speedup
        );
    }
    if !out.states.is_empty() {
        println!(
            "\n{:<20} {:>6} {:>16} {:>16} {:>7}",
            "distinct states", "runs", "guided states", "random states", "ratio"
        );
        for s in &out.states {
            let (g, r) = (
                s.median_states(Strategy::Guided),
                s.median_states(Strategy::Random),
            );
            println!(
                "{:<20} {:>6} {:>16} {:>16} {:>6.2}×",
                s.scenario,
                s.runs,
                g,
                r,
                g as f64 / r.max(1) as f64
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn speedup(r: &BugRace) -> f64 {
    r.median(Strategy::Random) as f64 / r.median(Strategy::Guided).max(1) as f64
}

fn median_f64(v: &[f64]) -> f64 {
    let mut s: Vec<u64> = v.iter().map(|x| (x * 1000.0).round() as u64).collect();
    s.sort_unstable();
    median(s) as f64 / 1000.0
}

fn print_bug(r: &BugRace) {
    let side = |s: Strategy| {
        let caught = r.caught(s);
        let n = r.guided.len();
        if caught == 0 {
            format!("— (0/{n})")
        } else {
            format!(
                "{}/{}{}",
                r.median(s),
                r.worst(s),
                if caught < n { "*" } else { "" }
            )
        }
    };
    println!(
        "{:<34} {:<20} {:>14} {:>14} {:>7.2}×",
        r.bug,
        r.scenario,
        side(Strategy::Guided),
        side(Strategy::Random),
        speedup(r)
    );
}
