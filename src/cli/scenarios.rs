//! `faultlab scenarios`: the catalogue of scenario files, one line each — what runs, on how
//! many nodes, under which faults, and what it is for.

use super::common::load_scenarios;
use crate::fault::FaultKind;
use crate::plugin::Registry;
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
}

pub fn run(args: &ScenariosArgs, registry: &Registry) -> anyhow::Result<ExitCode> {
    let scenarios = load_scenarios(&args.dir, registry)?;
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
