//! Pins the digest and one-line summary of two seeds of every shipped scenario. Any change in
//! behaviour — a service, the simulator, the PRNG, a dependency bump — shows up here as a
//! reviewable diff in `snapshots/`. Accept intended changes with `INSTA_UPDATE=always` (and say
//! why in the commit); a new scenario needs its snapshot committed, or CI fails.

use crate::common;
use faultlab::runner::report::summary_line;

const PINNED_SEEDS: [u64; 2] = [1, 42];

#[test]
fn every_shipped_scenario_is_pinned() {
    for name in common::shipped_scenarios() {
        let sc = common::scenario(&name);
        let lines: Vec<String> = PINNED_SEEDS
            .iter()
            .map(|&seed| summary_line(&common::run(&sc, seed, &[])))
            .collect();
        common::snapshot_settings().bind(|| {
            insta::assert_snapshot!(format!("run_{}", name.replace('-', "_")), lines.join("\n"));
        });
    }
}
