//! Negative tests (FoundationDB's `tests/negative/`): every shipped scenario names the planted
//! bugs it is built to catch (`catches = [...]`); with one switched on, some seed below the
//! bound must fail, and on that seed the correct service must pass. Every planted bug of every
//! service is caught by at least one shipped scenario. The invariants find the bug from the
//! records; they are never told which bug is on.

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
pub fn check(case: &Case, backend: BackendKind, seeds_max: u64) -> Result<u64, String> {
    let sc = common::scenario(&case.scenario);
    for seed in 0..seeds_max {
        let with_bug = common::run_on(&sc, seed, &[case.bug.as_str()], backend);
        if with_bug.overall() == Overall::Fail {
            common::assert_passed(&common::run_on(&sc, seed, &[], backend));
            return Ok(seed);
        }
    }
    Err(format!(
        "{} went unnoticed on {backend} in {seeds_max} seeds of {}",
        case.bug, case.scenario
    ))
}

/// Seeds tried per (bug, scenario) in `cargo test`; `faultlab bench bugs` measures the real
/// distribution (the README's table).
#[cfg(not(madsim))]
const SEEDS_MAX: u64 = 30;

#[cfg(not(madsim))]
#[test]
fn every_planted_bug_is_caught_within_its_bound() {
    let mut caught = Vec::new();
    let mut missed = Vec::new();
    for case in cases() {
        match check(&case, BackendKind::Turmoil, SEEDS_MAX) {
            Ok(seed) => caught.push(format!("{} in {} at seed {seed}", case.bug, case.scenario)),
            Err(e) => missed.push(e),
        }
    }
    common::announce(&format!("planted bugs caught: {}", caught.join("; ")));
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
