//! Knobs and BUGGIFY (`[randomize]`, `--knobs`, `--buggify`): draws are per seed, reported,
//! replayable bit for bit, and leave runs without them untouched (the pinned snapshots).

use crate::common;
use faultlab::runner::{RandomizeFlags, RunOptions, run_seed};

fn with(knobs: bool, buggify: bool) -> RunOptions {
    RunOptions {
        randomize: RandomizeFlags { knobs, buggify },
        ..RunOptions::default()
    }
}

#[test]
fn knob_draws_differ_by_seed_are_reported_and_replay_identically() {
    let sc = common::scenario("kv-flaky-net");
    let opts = with(true, false);
    let a = run_seed(&sc, 1, &opts).expect("runs");
    let again = run_seed(&sc, 1, &opts).expect("runs");
    assert_eq!(a.digest, again.digest, "same seed, same knobs, same run");
    assert_eq!(a.randomized.knobs, again.randomized.knobs);
    assert!(!a.randomized.knobs.is_empty(), "kv declares knobs");
    let draws: Vec<_> = (2..8)
        .map(|seed| run_seed(&sc, seed, &opts).expect("runs").randomized.knobs)
        .collect();
    assert!(
        draws.iter().any(|d| *d != a.randomized.knobs),
        "every seed drew the same knobs: {draws:?}"
    );
    let plain = run_seed(&sc, 1, &RunOptions::default()).expect("runs");
    assert_ne!(plain.digest, a.digest, "the knobs changed nothing");
    assert!(plain.randomized.knobs.is_empty());
    common::assert_passed(&a);
}

#[test]
fn buggify_points_fire_only_when_on_and_only_where_active() {
    let sc = common::scenario("kv-flaky-net");
    let points = sc.plugin().buggify_points();
    assert!(!points.is_empty(), "kv declares its BUGGIFY points");
    let mut fired_somewhere = false;
    for seed in 0..8 {
        let on = run_seed(&sc, seed, &with(false, true)).expect("runs");
        common::assert_passed(&on);
        for note in on.counters.notes.keys() {
            let declared = points.contains(&note.as_str());
            assert!(
                declared || !note.starts_with("buggify/"),
                "undeclared point {note} fired"
            );
        }
        for point in points {
            let fired = on.counters.notes.get(*point).copied().unwrap_or(0);
            if !on.randomized.buggify_active.contains(point) {
                assert_eq!(fired, 0, "seed {seed}: inactive {point} fired");
            }
            fired_somewhere |= fired > 0;
        }
        let off = run_seed(&sc, seed, &RunOptions::default()).expect("runs");
        assert!(
            points.iter().all(|p| !off.counters.notes.contains_key(*p)),
            "seed {seed}: a point fired with BUGGIFY off"
        );
    }
    assert!(fired_somewhere, "no BUGGIFY point fired in 8 seeds");
}
