//! Every shipped scenario (`fault-scenarios/*.toml`, whatever the service) with the correct
//! service: each seed passes every invariant (no fail, no unknown), every `[expect]` minimum
//! is reached in at least one seed of the range (coverage), and different seeds give different
//! runs. (Same seed, same run: `snapshots.rs` and `cli.rs`.)
//!
//! Seeds: 0..3 by default; `FAULTLAB_SEED=N` replays one, `FAULTLAB_SEEDS=A..B` sweeps. The
//! runs are shared with `snapshots` (`common::shipped_runs`).

use crate::common;
use faultlab::runner::coverage::Coverage;

#[test]
fn every_shipped_scenario_passes_and_replays() {
    let runs = common::shipped_runs();
    let seeds = runs.first().map(|r| r.judged);
    common::announce(&format!(
        "scenarios: seeds {} of {} shipped scenarios",
        seeds.map_or(String::new(), |s| s.to_string()),
        runs.len()
    ));
    for shipped in runs {
        let name = &shipped.name;
        let seeds = shipped.judged;
        let results: Vec<_> = (seeds.start..seeds.end)
            .map(|seed| {
                let r = shipped.by_seed.get(&seed);
                r.unwrap_or_else(|| panic!("{name}: seed {seed} was not run"))
            })
            .collect();
        for r in &results {
            common::assert_seed_passed(name, r);
        }
        let sc = common::scenario(name);
        let mut coverage = Coverage::new(&sc.expect, &sc.expect_notes);
        for r in &results {
            coverage.add(&r.counters);
        }
        let gaps: Vec<String> = coverage
            .unreached()
            .iter()
            .map(|r| format!("{} >= {}", r.expectation, r.min))
            .collect();
        assert!(
            gaps.is_empty(),
            "{name}: never reached in seeds {seeds}: {gaps:?} — the faults never fired"
        );
        let mut digests: Vec<_> = results.iter().map(|r| r.digest.0).collect();
        digests.sort_unstable();
        digests.dedup();
        assert_eq!(
            digests.len(),
            results.len(),
            "{name}: different seeds gave the same digest"
        );
        // Replaying a seed is checked elsewhere, more strictly: `snapshots` compares two seeds
        // of every shipped scenario with digests pinned in another process on another machine,
        // and `cli::replay_twice_...` replays in two processes.
    }
}
