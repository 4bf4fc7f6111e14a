//! What `faultlab run` reports per scenario, as text and as JSON: seeds passed / failed /
//! unknown, totals of every counter, coverage of the `[expect]` minimums and of the service's
//! rare paths over the sweep, and each failure and unknown with the command that replays it.

use crate::backend::BackendKind;
use crate::bugs::BugSet;
use crate::counters::{Counter, Counters};
use crate::invariants::{Outcome, Overall};
use crate::runner::RunOptions;
use crate::runner::coverage::{Coverage, Reach};
use crate::runner::report::replay_command_for;
use crate::runner::seeds::SeedRange;
use crate::runner::sweep::SeedResult;
use crate::scenario::Scenario;
use serde::Serialize;
use std::collections::BTreeMap;

/// A seed that did not pass, and why.
#[derive(Debug, Serialize)]
pub struct Finding {
    seed: u64,
    invariant: &'static str,
    message: String,
    replay: String,
}

/// One scenario's sweep.
#[derive(Debug, Serialize)]
pub struct ScenarioReport {
    pub scenario: String,
    pub source: String,
    pub service: String,
    pub backend: BackendKind,
    pub seeds: String,
    pub seeds_run: u64,
    pub seeds_passed: u64,
    pub seeds_failed: u64,
    pub seeds_unknown: u64,
    /// Fail if any seed failed, else unknown if any seed or the coverage is unknown.
    pub overall: Overall,
    pub bugs: Vec<String>,
    pub failures: Vec<Finding>,
    pub unknowns: Vec<Finding>,
    /// `[expect]` minimums and in how many seeds each was reached.
    pub expectations: Vec<Reach>,
    /// Minimums no seed reached: the sweep is unknown about them.
    pub sometimes_unreached: Vec<Reach>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    pub digests: BTreeMap<u64, String>,
    pub totals: BTreeMap<&'static str, u64>,
    /// In how many seeds each service note (a rare path) was reached.
    pub notes: BTreeMap<String, u64>,
    pub elapsed_ms: u64,
}

pub fn scenario_report(
    program: &str,
    sc: &Scenario,
    seeds: &SeedRange,
    opts: &RunOptions,
    results: &[SeedResult],
    elapsed_ms: u64,
) -> ScenarioReport {
    let bug_set: BugSet = sc.bugs.union(&opts.extra_bugs).copied().collect();
    let flags = crate::runner::RandomizeFlags {
        knobs: sc.randomize.knobs || opts.randomize.knobs,
        buggify: sc.randomize.buggify || opts.randomize.buggify,
    };
    let replay =
        |seed| replay_command_for(program, &sc.source, seed, &bug_set, opts.backend, flags);
    let (mut failures, mut unknowns) = (Vec::new(), Vec::new());
    let mut totals = Counters::default();
    let mut coverage = Coverage::new(&sc.expect, &sc.expect_notes);
    for r in results {
        for v in &r.not_passed {
            let finding = Finding {
                seed: r.seed,
                invariant: v.invariant,
                message: v.outcome.message().to_string(),
                replay: replay(r.seed),
            };
            match v.outcome {
                Outcome::Fail(_) => failures.push(finding),
                Outcome::Unknown(_) => unknowns.push(finding),
                Outcome::Pass => {}
            }
        }
        totals.add_all(&r.counters);
        coverage.add(&r.counters);
    }
    let count = |o: Overall| results.iter().filter(|r| r.overall == o).count() as u64;
    let unreached = coverage.unreached();
    let seeds_overall = results
        .iter()
        .map(|r| r.overall)
        .max()
        .unwrap_or(Overall::Pass);
    let overall = if unreached.is_empty() {
        seeds_overall
    } else {
        seeds_overall.max(Overall::Unknown)
    };
    ScenarioReport {
        scenario: sc.name.clone(),
        source: sc.source.clone(),
        service: sc.service_name().to_string(),
        backend: opts.backend,
        seeds: seeds.to_string(),
        seeds_run: results.len() as u64,
        seeds_passed: count(Overall::Pass),
        seeds_failed: count(Overall::Fail),
        seeds_unknown: count(Overall::Unknown),
        overall,
        bugs: bug_set.iter().map(ToString::to_string).collect(),
        failures,
        unknowns,
        expectations: coverage.reaches(),
        sometimes_unreached: unreached,
        digest: (results.len() == 1).then(|| results[0].digest.to_string()),
        digests: results
            .iter()
            .map(|r| (r.seed, r.digest.to_string()))
            .collect(),
        totals: totals.to_map(),
        notes: coverage.notes().clone(),
        elapsed_ms,
    }
}

/// The totals line: operations, messages and faults, summed over the sweep.
const TOTALS: &[(&str, Counter)] = &[
    ("ops ok", Counter::OpsOk),
    ("fail", Counter::OpsFail),
    ("info", Counter::OpsInfo),
    ("| msgs", Counter::MessagesSent),
    ("dropped", Counter::DroppedMessages),
    ("dup", Counter::DuplicatedMessages),
    ("delayed", Counter::DelayedMessages),
    ("| faults", Counter::FaultsApplied),
    ("crashes", Counter::Crashes),
    ("pauses", Counter::Pauses),
    ("clock-back", Counter::ClockJumpsBackward),
];

pub fn print_text(r: &ScenarioReport) {
    let verdict = match r.overall {
        Overall::Pass => "all passed".to_string(),
        _ => format!(
            "{} passed, {} FAILING, {} unknown{}",
            r.seeds_passed,
            r.seeds_failed,
            r.seeds_unknown,
            if r.sometimes_unreached.is_empty() {
                ""
            } else {
                ", coverage unknown"
            }
        ),
    };
    let bugs = if r.bugs.is_empty() {
        String::new()
    } else {
        format!(" bugs: {}", r.bugs.join(", "))
    };
    println!(
        "{:<28} seeds {:<8} {:>4} run in {:.1}s, {verdict}{bugs}",
        r.scenario,
        r.seeds,
        r.seeds_run,
        r.elapsed_ms as f64 / 1000.0
    );
    let t = |c: Counter| r.totals.get(c.name()).copied().unwrap_or(0);
    let totals: Vec<String> = TOTALS
        .iter()
        .map(|(label, c)| format!("{label} {}", t(*c)))
        .collect();
    println!("    {}", totals.join(" "));
    if !r.notes.is_empty() {
        let cov: Vec<String> = r
            .notes
            .iter()
            .map(|(k, n)| format!("{k} in {n}/{}", r.seeds_run))
            .collect();
        println!("    rare paths reached (seeds): {}", cov.join(", "));
    }
    for gap in &r.sometimes_unreached {
        println!(
            "  UNREACHED {} >= {} in none of {} seeds: the sweep says nothing about this \
             (run more seeds)",
            gap.expectation, gap.min, r.seeds_run
        );
    }
    const SHOWN_MAX: usize = 10;
    for (label, list) in [("FAIL", &r.failures), ("unknown", &r.unknowns)] {
        for f in list.iter().take(SHOWN_MAX) {
            println!("  {label} seed {}: {}: {}", f.seed, f.invariant, f.message);
            println!("       replay: {}", f.replay);
        }
        if list.len() > SHOWN_MAX {
            println!(
                "    ... {} more (use --json for all)",
                list.len() - SHOWN_MAX
            );
        }
    }
}
