//! Negative tests (FoundationDB's `tests/negative/`): with a planted bug switched on, the
//! matching scenario must fail — on one of the named invariants — within a bounded number of
//! seeds; on the seed that catches it, the correct service must pass. A harness that cannot
//! catch these catches nothing. The invariants find the bug from the records; they are never
//! told which bug is on.

use crate::common;
use faultlab::backend::BackendKind;
use faultlab::services::ServiceKind;

pub struct Case {
    pub bug: &'static str,
    pub scenario: &'static str,
    /// Invariants that may report the bug (any one of them suffices).
    pub caught_by: &'static [&'static str],
    /// The bug must show within this many seeds (0..seeds_max).
    pub seeds_max: u64,
}

pub const CASES: &[Case] = &[
    Case {
        bug: "idgen-clock-rollback",
        scenario: "idgen-clock-backwards",
        caught_by: &["per-node-monotonic", "unique-ids"],
        seeds_max: 5,
    },
    Case {
        bug: "idgen-sequence-wrap",
        scenario: "idgen-burst",
        caught_by: &["unique-ids", "per-node-monotonic"],
        seeds_max: 5,
    },
    Case {
        bug: "idgen-restart-forgets",
        scenario: "idgen-crash-restart",
        caught_by: &["monotonic-across-restarts", "unique-ids"],
        seeds_max: 5,
    },
];

/// The first seed below `seeds_max` on which `backend` catches `case`'s bug (and the correct
/// service passes that seed).
pub fn check(case: &Case, backend: BackendKind, seeds_max: u64) -> Result<u64, String> {
    let sc = common::scenario(case.scenario);
    for seed in 0..seeds_max {
        let with_bug = common::run_on(&sc, seed, &[case.bug], backend);
        let names: Vec<&str> = with_bug.failures().map(|v| v.invariant).collect();
        if names.iter().any(|n| case.caught_by.contains(n)) {
            common::assert_passed(&common::run_on(&sc, seed, &[], backend));
            return Ok(seed);
        }
    }
    Err(format!(
        "{} went unnoticed on {backend} in {seeds_max} seeds of {} (expected one of {:?} to fail)",
        case.bug, case.scenario, case.caught_by
    ))
}

// The table's own tests belong to the turmoil binary (`sim`); the madsim binary borrows the
// table and `check` only.
#[cfg(not(madsim))]
#[test]
fn every_planted_bug_is_caught_within_its_bound() {
    let missed: Vec<String> = CASES
        .iter()
        .filter_map(|c| check(c, BackendKind::Turmoil, c.seeds_max).err())
        .collect();
    assert!(missed.is_empty(), "{missed:#?}");
}

#[cfg(not(madsim))]
#[test]
fn every_planted_bug_has_a_negative_test() {
    for bug in ServiceKind::all_bugs() {
        assert!(
            CASES.iter().any(|c| c.bug == bug.name),
            "planted bug {bug} has no negative test"
        );
    }
    for c in CASES {
        assert!(
            ServiceKind::find_bug(c.bug).is_ok(),
            "{}: no such bug",
            c.bug
        );
    }
}
