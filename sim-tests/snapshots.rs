//! Pins the digest and one-line summary of two seeds of every shipped scenario (runs shared
//! with `scenarios`: `common::shipped_runs`). Any change in
//! behaviour — a service, the simulator, the PRNG, a dependency bump — shows up here as a
//! reviewable diff in `snapshots/`. Accept intended changes with `INSTA_UPDATE=always` (and say
//! why in the commit); a new scenario needs its snapshot committed, or CI fails.

use crate::common;

#[test]
fn every_shipped_scenario_is_pinned() {
    for shipped in common::shipped_runs() {
        let lines: Vec<String> = common::PINNED_SEEDS
            .iter()
            .map(|seed| {
                let r = shipped.by_seed.get(seed);
                r.unwrap_or_else(|| panic!("{}: seed {seed} was not run", shipped.name))
                    .line
                    .clone()
            })
            .collect();
        common::snapshot_settings().bind(|| {
            insta::assert_snapshot!(
                format!("run_{}", shipped.name.replace('-', "_")),
                lines.join("\n")
            );
        });
    }
}
