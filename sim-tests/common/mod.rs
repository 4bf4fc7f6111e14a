//! Shared by the sim-tests: scenario loading, seed selection, replay hints, snapshot settings.
#![allow(dead_code)] // each test binary uses a different part of this module

use faultlab::bugs::PlantedBug;
use faultlab::runner::seeds::{SeedRange, seeds_from_env};
use faultlab::runner::{RunOptions, RunOutcome, run_seed};
use faultlab::scenario::Scenario;
use std::path::{Path, PathBuf};

pub fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

pub fn scenario(name: &str) -> Scenario {
    let path = format!("fault-scenarios/{name}.toml");
    let sc = Scenario::load(&repo_path(&path));
    let mut sc = sc.unwrap_or_else(|e| panic!("{e}"));
    // Replay commands should name the file relative to the repository.
    sc.source = path;
    sc
}

/// The seeds a sim-test runs: `default` unless FAULTLAB_SEED / FAULTLAB_SEEDS say otherwise.
pub fn seeds(default: SeedRange) -> SeedRange {
    seeds_from_env(default).unwrap_or_else(|e| panic!("{e}"))
}

pub fn run(sc: &Scenario, seed: u64, bugs: &[PlantedBug]) -> RunOutcome {
    let opts = RunOptions {
        extra_bugs: bugs.iter().copied().collect(),
        ..RunOptions::default()
    };
    run_seed(sc, seed, &opts)
        .unwrap_or_else(|e| panic!("{} seed {seed}: harness error: {e}", sc.name))
}

/// How to reproduce a failing seed, printed with every failure.
pub fn replay_hint(test: &str, o: &RunOutcome) -> String {
    let bugs: String = o.bugs.iter().map(|b| format!(" --bug {b}")).collect();
    format!(
        "replay with:\n  FAULTLAB_SEED={seed} cargo test --test {test}\n  cargo run --release -- replay --scenario {src} --seed {seed}{bugs}",
        seed = o.seed,
        src = o.source,
    )
}

/// Every snapshot lives in the top-level `snapshots/` directory.
pub fn snapshot_settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(repo_path("snapshots"));
    s.set_prepend_module_to_snapshot(false);
    s
}
