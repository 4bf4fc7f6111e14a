use super::*;
use crate::Registry;
use crate::bugs::BugSet;

/// A short KV swarm: small enough for a debug-build test, faults of every node kind.
const KV: &str = r#"
service = "kv"
nodes = 3
clients = 3
duration_ms = 1500
liveness_ms = 1500
[workload]
think_ms_max = 20
timeout_ms = 400
[faults.random]
kinds = ["partition", "crash", "pause", "clock-jump", "net-delay"]
start_ms = 100
mean_interval_ms = 250
fault_ms_min = 100
fault_ms_max = 600
delay_ms_max = 60
"#;

fn scenario(text: &str) -> Scenario {
    Scenario::parse(
        text,
        "explore-test.toml",
        Some("explore-test"),
        &Registry::builtin(),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

fn opts(strategy: Strategy, runs: u64, jobs: usize) -> ExploreOptions {
    ExploreOptions {
        runs,
        jobs,
        campaign_seed: 3,
        strategy,
        run: RunOptions::default(),
        stop_at_first_failure: false,
        seed_inputs: Vec::new(),
    }
}

fn campaign(o: &ExploreOptions) -> ExploreReport {
    explore(&scenario(KV), KV, o, &|_| {}).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_campaign_is_the_same_for_any_number_of_jobs() {
    let one = campaign(&opts(Strategy::Guided, 2 * BATCH as u64, 1));
    let two = campaign(&opts(Strategy::Guided, 2 * BATCH as u64, 2));
    assert_eq!(one.runs, 2 * BATCH as u64);
    assert_eq!(one.curve, two.curve);
    assert_eq!(one.corpus, two.corpus);
    assert!(one.corpus_len > 0, "the first runs reach new coverage");
    assert!(one.states() > 0, "Raft replicas report abstract states");
    assert!(
        one.curve.windows(2).all(|w| w[0].features <= w[1].features),
        "coverage only grows"
    );
    assert!(
        one.corpus
            .iter()
            .any(|i| i.seed >= 3_000_000 + BATCH as u64 || i.seed < 3_000_000),
        "the second batch has mutants (seeds outside the fresh block or kept from a parent): {:?}",
        one.corpus.iter().map(|i| i.seed).collect::<Vec<_>>()
    );
}

#[test]
fn a_stored_corpus_runs_first_and_reproduces() {
    let first = campaign(&opts(Strategy::Guided, BATCH as u64, 1));
    let stored: Vec<Input> = first.corpus.clone();
    assert!(!stored.is_empty());
    let mut o = opts(Strategy::Guided, stored.len() as u64, 1);
    o.seed_inputs = stored.clone();
    let again = campaign(&o);
    // The stored inputs are explicit schedules of the first runs: they reach the same states.
    assert_eq!(again.runs, stored.len() as u64);
    assert!(again.states() > 0);
}

#[test]
fn the_random_baseline_runs_fresh_swarm_seeds_only() {
    let r = campaign(&opts(Strategy::Random, BATCH as u64, 2));
    assert!(
        r.corpus
            .iter()
            .all(|i| (3_000_000..3_000_000 + BATCH as u64).contains(&i.seed)),
        "{:?}",
        r.corpus.iter().map(|i| i.seed).collect::<Vec<_>>()
    );
}

#[test]
fn a_planted_bug_is_found_and_its_input_reproduces() {
    let mut o = opts(Strategy::Guided, 40, 2);
    o.run.extra_bugs = ["kv-vote-not-persisted", "kv-ack-before-fsync"]
        .iter()
        .filter_map(|b| Registry::builtin().find_bug(b).ok().map(|(_, bug)| bug))
        .collect::<BugSet>();
    assert_eq!(o.run.extra_bugs.len(), 2, "both bugs are registered");
    o.stop_at_first_failure = true;
    let sc = scenario(KV);
    let r = explore(&sc, KV, &o, &|_| {}).unwrap_or_else(|e| panic!("{e}"));
    let Some(found) = r.first_failure() else {
        panic!("not found in {} runs", r.runs);
    };
    assert_eq!(r.runs, found.run, "stops at the first failure");
    let input = sc
        .reparse(&found.scenario_text, "found.toml", None)
        .unwrap_or_else(|e| panic!("{e}"));
    let again = run_seed(&input, found.seed, &o.run).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        again.failures().next().map(|v| v.invariant),
        Some(found.invariant),
        "the written input fails the same invariant"
    );
}
