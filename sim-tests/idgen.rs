//! The ID generator under every shipped idgen scenario: each seed passes every invariant,
//! replays to the same digest, and its faults had their effect.
//!
//! Seeds: 0..3 by default; `FAULTLAB_SEED=N` replays one, `FAULTLAB_SEEDS=A..B` sweeps.

mod common;

use faultlab::runner::seeds::SeedRange;

/// (scenario, a counter that must be non-zero in every seed — proof the faults fired).
const SCENARIOS: &[(&str, &str)] = &[
    ("idgen-calm", "ops_ok"),
    ("idgen-partitions", "dropped_messages"),
    ("idgen-clock-backwards", "clock_jumps_backward"),
    ("idgen-crash-restart", "restarts"),
    ("idgen-burst", "sequence_exhausted"),
    ("idgen-swarm", "faults_applied"),
];

fn effect(stats: &faultlab::runner::stats::RunStats, counter: &str) -> u64 {
    match counter {
        "ops_ok" => stats.ops_ok,
        "dropped_messages" => stats.dropped_messages(),
        "clock_jumps_backward" => stats.clock_jumps_backward,
        "restarts" => stats.restarts,
        "faults_applied" => stats.faults_applied,
        "sequence_exhausted" => stats
            .notes
            .get("idgen/sequence-exhausted")
            .copied()
            .unwrap_or(0),
        other => panic!("unknown counter {other}"),
    }
}

fn check_scenario(name: &str) {
    let counter = SCENARIOS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, c)| *c)
        .unwrap_or("ops_ok");
    let seeds = common::seeds(SeedRange { start: 0, end: 3 });
    let sc = common::scenario(name);
    let mut digests = Vec::new();
    for seed in seeds.iter() {
        let first = common::run(&sc, seed, &[]);
        let hint = common::replay_hint("idgen", &first);
        let failures: Vec<String> = first.failures().map(|v| format!("{v:?}")).collect();
        assert!(
            failures.is_empty(),
            "{name} seed {seed} failed: {failures:#?}\n{hint}"
        );
        assert!(
            effect(&first.stats, counter) > 0,
            "{name} seed {seed}: {counter} is 0 — the faults never fired\n{hint}"
        );
        let again = common::run(&sc, seed, &[]);
        assert_eq!(
            first.digest, again.digest,
            "{name} seed {seed} is not deterministic\n{hint}"
        );
        assert_eq!(
            first.history, again.history,
            "{name} seed {seed}: histories differ\n{hint}"
        );
        digests.push(first.digest);
    }
    let mut distinct = digests.clone();
    distinct.sort_by_key(|d| d.0);
    distinct.dedup();
    assert_eq!(
        distinct.len(),
        digests.len(),
        "{name}: different seeds gave the same digest: {digests:?}"
    );
}

#[test]
fn idgen_calm() {
    check_scenario("idgen-calm");
}

#[test]
fn idgen_partitions() {
    check_scenario("idgen-partitions");
}

#[test]
fn idgen_clock_backwards() {
    check_scenario("idgen-clock-backwards");
}

#[test]
fn idgen_crash_restart() {
    check_scenario("idgen-crash-restart");
}

#[test]
fn idgen_burst() {
    check_scenario("idgen-burst");
}

#[test]
fn idgen_swarm() {
    check_scenario("idgen-swarm");
}

#[test]
fn every_shipped_idgen_scenario_is_covered() {
    let dir = common::repo_path("fault-scenarios");
    let mut shipped: Vec<String> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok()?.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    shipped.retain(|f| f.starts_with("idgen-") && f.ends_with(".toml"));
    for file in shipped {
        let name = file.trim_end_matches(".toml");
        assert!(
            SCENARIOS.iter().any(|(n, _)| *n == name),
            "{file} has no sim-test: add it to SCENARIOS"
        );
    }
}
