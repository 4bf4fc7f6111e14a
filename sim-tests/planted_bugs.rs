//! Negative tests (FoundationDB's `tests/negative/`): every shipped scenario names the planted
//! bugs it is built to catch (`catches = [...]`); with one switched on, some seed below the
//! bound must fail, and on that seed the correct service must pass. Every planted bug of every
//! service is caught by at least one shipped scenario. The invariants find the bug from the
//! records; they are never told which bug is on. The seed that caught each bug last time is
//! tried first (`planted_bugs.seeds`), which spares the search; the bound is the same.

use crate::common;
use faultlab::Registry;
use faultlab::backend::BackendKind;
use faultlab::invariants::Overall;

/// A planted bug and a scenario built to catch it.
pub struct Case {
    /// The bug's name.
    pub bug: String,
    /// The scenario's name.
    pub scenario: String,
}

/// Every (bug, scenario) pair the shipped scenarios declare.
pub fn cases() -> Vec<Case> {
    common::shipped_scenarios()
        .into_iter()
        .flat_map(|name| {
            let sc = common::scenario(&name);
            sc.catches
                .iter()
                .map(|b| Case {
                    bug: b.name.to_string(),
                    scenario: name.clone(),
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The first seed below `seeds_max` on which `backend` catches `case`'s bug (and the correct
/// service passes that seed).
#[cfg(madsim)]
pub fn check(case: &Case, backend: BackendKind, seeds_max: u64) -> Result<u64, String> {
    check_from(case, backend, seeds_max, None)
}

/// As [`check`], trying `hint` first: a seed known to catch the bug costs two runs instead of
/// a search from seed 0. The claim checked is the same — some seed below the bound catches
/// it, and the correct service passes there.
fn check_from(
    case: &Case,
    backend: BackendKind,
    seeds_max: u64,
    hint: Option<u64>,
) -> Result<u64, String> {
    let sc = common::scenario(&case.scenario);
    let hinted = hint.filter(|&h| h < seeds_max);
    for seed in hinted.into_iter().chain(0..seeds_max) {
        let with_bug = common::run_on(&sc, seed, &[case.bug.as_str()], backend);
        if with_bug.overall() == Overall::Fail {
            correct_passes(case, &sc, seed, backend);
            return Ok(seed);
        }
    }
    Err(format!(
        "{} went unnoticed on {backend} in {seeds_max} seeds of {}",
        case.bug, case.scenario
    ))
}

/// The correct service passes `seed`: the scenarios test's own run of it when it has one.
fn correct_passes(case: &Case, sc: &faultlab::scenario::Scenario, seed: u64, backend: BackendKind) {
    #[cfg(not(madsim))]
    if backend == BackendKind::Turmoil
        && let Some(r) = common::shipped_runs()
            .iter()
            .find(|r| r.name == case.scenario)
            .and_then(|r| r.by_seed.get(&seed))
    {
        common::assert_seed_passed(&case.scenario, r);
        return;
    }
    let _ = case;
    common::assert_passed(&common::run_on(sc, seed, &[], backend));
}

/// Seeds tried per (bug, scenario) in `cargo test`; `faultlab bench bugs` measures the real
/// distribution (the README's table).
#[cfg(not(madsim))]
const SEEDS_MAX: u64 = 30;

/// The seed that caught each (bug, scenario) last time, tried first (`bug scenario seed` per
/// line). A missing or stale line only costs time; the test says which line to write.
#[cfg(not(madsim))]
const HINTS: &str = include_str!("planted_bugs.seeds");

#[cfg(not(madsim))]
fn hint(case: &Case) -> Option<u64> {
    HINTS.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        let (bug, scenario, seed) = (words.next()?, words.next()?, words.next()?);
        (bug == case.bug && scenario == case.scenario)
            .then(|| seed.parse().ok())
            .flatten()
    })
}

#[cfg(not(madsim))]
#[test]
fn every_planted_bug_is_caught_within_its_bound() {
    let mut caught = Vec::new();
    let mut missed = Vec::new();
    let mut stale = Vec::new();
    for case in cases() {
        let hint = hint(&case);
        match check_from(&case, BackendKind::Turmoil, SEEDS_MAX, hint) {
            Ok(seed) => {
                if hint != Some(seed) {
                    stale.push(format!("{} {} {seed}", case.bug, case.scenario));
                }
                caught.push(format!("{} in {} at seed {seed}", case.bug, case.scenario));
            }
            Err(e) => missed.push(e),
        }
    }
    common::announce(&format!("planted bugs caught: {}", caught.join("; ")));
    if !stale.is_empty() {
        common::announce(&format!(
            "sim-tests/planted_bugs.seeds is missing or stale for (searched from seed 0; write these lines):\n{}",
            stale.join("\n")
        ));
    }
    assert!(missed.is_empty(), "{missed:#?}");
}

#[cfg(not(madsim))]
#[test]
fn every_planted_bug_has_a_scenario_that_catches_it() {
    let cases = cases();
    for bug in Registry::builtin().all_bugs() {
        assert!(
            cases.iter().any(|c| c.bug == bug.name),
            "planted bug {bug} is in no shipped scenario's `catches`"
        );
    }
}
