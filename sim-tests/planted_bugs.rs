//! Negative tests (FoundationDB's `tests/negative/`): with a planted bug switched on, the
//! matching scenario must fail — on the named invariant — within a bounded number of seeds;
//! with the bug off, the same seeds must pass. A harness that cannot catch these catches nothing.

mod common;

use faultlab::bugs::PlantedBug;

struct Case {
    bug: PlantedBug,
    scenario: &'static str,
    /// Invariants that may report the bug (any one of them suffices).
    caught_by: &'static [&'static str],
    /// The bug must show within this many seeds (0..seeds_max).
    seeds_max: u64,
}

const CASES: &[Case] = &[
    Case {
        bug: PlantedBug::IdgenClockRollback,
        scenario: "idgen-clock-backwards",
        caught_by: &["per-node-monotonic", "unique-ids"],
        seeds_max: 5,
    },
    Case {
        bug: PlantedBug::IdgenSequenceWrap,
        scenario: "idgen-burst",
        caught_by: &["unique-ids", "per-node-monotonic"],
        seeds_max: 5,
    },
    Case {
        bug: PlantedBug::IdgenRestartForgets,
        scenario: "idgen-crash-restart",
        caught_by: &["monotonic-across-restarts", "unique-ids"],
        seeds_max: 5,
    },
];

fn check(case: &Case) {
    let sc = common::scenario(case.scenario);
    let mut caught_at = None;
    for seed in 0..case.seeds_max {
        let with_bug = common::run(&sc, seed, &[case.bug]);
        let names: Vec<&str> = with_bug.failures().map(|v| v.invariant).collect();
        if names.iter().any(|n| case.caught_by.contains(n)) {
            caught_at = Some(seed);
            let without = common::run(&sc, seed, &[]);
            let hint = common::replay_hint("planted_bugs", &without);
            let spurious: Vec<String> = without.failures().map(|v| format!("{v:?}")).collect();
            assert!(
                spurious.is_empty(),
                "{}: seed {seed} fails even without the bug: {spurious:#?}\n{hint}",
                case.scenario
            );
            break;
        }
    }
    assert!(
        caught_at.is_some(),
        "{} went unnoticed in {} seeds of {} (expected one of {:?} to fail)",
        case.bug,
        case.seeds_max,
        case.scenario,
        case.caught_by
    );
}

#[test]
fn idgen_clock_rollback_is_caught() {
    check(&CASES[0]);
}

#[test]
fn idgen_sequence_wrap_is_caught() {
    check(&CASES[1]);
}

#[test]
fn idgen_restart_forgets_is_caught() {
    check(&CASES[2]);
}

#[test]
fn every_planted_bug_has_a_negative_test() {
    for bug in PlantedBug::ALL {
        assert!(
            CASES.iter().any(|c| c.bug == bug),
            "planted bug {bug} has no negative test"
        );
    }
}
