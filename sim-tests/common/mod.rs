//! Shared by the sim-tests: scenario loading, seed selection, replay hints, snapshot settings.

use faultlab::Registry;
use faultlab::backend::BackendKind;
use faultlab::bugs::BugSet;
use faultlab::runner::seeds::{SeedRange, seeds_from_env};
use faultlab::runner::{RunOptions, RunOutcome, run_seed};
use faultlab::scenario::Scenario;
use std::io::Write;
use std::path::{Path, PathBuf};

pub fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Every shipped scenario's name (file stem), sorted. Fails loudly when the directory is
/// missing, unreadable or empty, so scenario-driven tests never pass vacuously.
pub fn shipped_scenarios() -> Vec<String> {
    let dir = repo_path("fault-scenarios");
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: cannot list the shipped scenarios: {e}", dir.display()));
    let mut names: Vec<String> = entries
        .map(|e| e.unwrap_or_else(|e| panic!("{}: {e}", dir.display())))
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            name.strip_suffix(".toml").map(str::to_string)
        })
        .collect();
    names.sort();
    assert!(!names.is_empty(), "{}: no *.toml scenarios", dir.display());
    names
}

pub fn scenario(name: &str) -> Scenario {
    let path = format!("fault-scenarios/{name}.toml");
    let sc = Scenario::load(&repo_path(&path), &Registry::builtin());
    let mut sc = sc.unwrap_or_else(|e| panic!("{e}"));
    // Replay commands should name the file relative to the repository.
    sc.source = path;
    sc
}

/// The seeds a sim-test runs: `default` unless FAULTLAB_SEED / FAULTLAB_SEEDS say otherwise.
pub fn seeds(default: SeedRange) -> SeedRange {
    seeds_from_env(default).unwrap_or_else(|e| panic!("{e}"))
}

/// Says something even when the test harness captures output (a long sweep should say what it
/// is doing): writes straight to the process's stderr.
pub fn announce(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

pub fn bugs(names: &[&str]) -> BugSet {
    names
        .iter()
        .map(|n| {
            Registry::builtin()
                .find_bug(n)
                .unwrap_or_else(|e| panic!("{e}"))
                .1
        })
        .collect()
}

pub fn run(sc: &Scenario, seed: u64, bug_names: &[&str]) -> RunOutcome {
    run_on(sc, seed, bug_names, BackendKind::default())
}

pub fn run_on(sc: &Scenario, seed: u64, bug_names: &[&str], backend: BackendKind) -> RunOutcome {
    let opts = RunOptions {
        extra_bugs: bugs(bug_names),
        backend,
        ..RunOptions::default()
    };
    run_seed(sc, seed, &opts)
        .unwrap_or_else(|e| panic!("{} seed {seed}: harness error: {e}", sc.name))
}

/// How to reproduce a failing seed, printed with every failure.
pub fn replay_hint(o: &RunOutcome) -> String {
    let bugs: String = o.bugs.iter().map(|b| format!(" --bug {b}")).collect();
    let (test, run) = match o.backend {
        BackendKind::Turmoil => ("cargo test --test sim", "cargo run --release --"),
        BackendKind::Madsim => ("cargo simtest", "target/sim/release/faultlab"),
    };
    format!(
        "replay with:\n  FAULTLAB_SEED={seed} {test}\n  {run} replay --backend {backend} --scenario {src} --seed {seed}{bugs}",
        seed = o.seed,
        src = o.source,
        backend = o.backend,
    )
}

/// Asserts a run neither failed nor ended unknown.
pub fn assert_passed(o: &RunOutcome) {
    let bad: Vec<String> = o
        .not_passed()
        .map(|v| {
            format!(
                "{} {}: {}",
                v.outcome.status(),
                v.invariant,
                v.outcome.message()
            )
        })
        .collect();
    assert!(
        bad.is_empty(),
        "{} seed {}: {bad:#?}\n{}",
        o.scenario,
        o.seed,
        replay_hint(o)
    );
}

/// Every snapshot lives in the top-level `snapshots/` directory.
pub fn snapshot_settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(repo_path("snapshots"));
    s.set_prepend_module_to_snapshot(false);
    s
}
