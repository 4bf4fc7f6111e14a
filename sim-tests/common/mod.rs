//! Shared by the sim-tests: scenario loading, seed selection, replay hints, snapshot settings.

use faultlab::Registry;
use faultlab::backend::BackendKind;
use faultlab::bugs::BugSet;
use faultlab::invariants::Verdict;
use faultlab::runner::seeds::{SeedRange, seeds_from_env};
use faultlab::runner::sweep::{SeedResult, sweep};
use faultlab::runner::{RunOptions, RunOutcome, run_seed};
use faultlab::scenario::Scenario;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

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

/// One line per verdict that did not pass: status, invariant, message.
fn verdict_lines<'a>(verdicts: impl Iterator<Item = &'a Verdict>) -> Vec<String> {
    verdicts
        .map(|v| {
            format!(
                "{} {}: {}",
                v.outcome.status(),
                v.invariant,
                v.outcome.message()
            )
        })
        .collect()
}

/// Asserts a run neither failed nor ended unknown.
pub fn assert_passed(o: &RunOutcome) {
    let bad = verdict_lines(o.not_passed());
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

/// The seeds of every shipped scenario whose summary lines `snapshots` pins: inside the
/// default range of `scenarios`, so the two tests share their runs.
pub const PINNED_SEEDS: [u64; 2] = [1, 2];

/// The correct service's runs of one shipped scenario.
pub struct ShippedRuns {
    /// The scenario's name.
    pub name: String,
    /// The seeds `scenarios` judges (0..3, or FAULTLAB_SEED / FAULTLAB_SEEDS).
    pub judged: SeedRange,
    /// Every run, by seed: the judged range and the pinned seeds.
    pub by_seed: BTreeMap<u64, SeedResult>,
}

/// Every shipped scenario run once per test binary over the judged seeds and the pinned ones
/// (in parallel, on all cores): `scenarios` judges them, `snapshots` pins two of them. They
/// used to run the same scenarios each on their own, 88 runs of 220 done twice.
pub fn shipped_runs() -> &'static [ShippedRuns] {
    static RUNS: OnceLock<Vec<ShippedRuns>> = OnceLock::new();
    RUNS.get_or_init(|| {
        let judged = seeds(SeedRange { start: 0, end: 3 });
        let jobs = std::thread::available_parallelism().map_or(1, usize::from);
        shipped_scenarios()
            .into_iter()
            .map(|name| {
                let sc = scenario(&name);
                let mut ranges = vec![judged];
                ranges.extend(
                    PINNED_SEEDS
                        .iter()
                        .filter(|&&s| !(judged.start..judged.end).contains(&s))
                        .map(|&s| SeedRange {
                            start: s,
                            end: s + 1,
                        }),
                );
                let mut by_seed = BTreeMap::new();
                for range in ranges {
                    let results = sweep(&sc, range, &RunOptions::default(), jobs, &|_| {})
                        .unwrap_or_else(|e| panic!("{name}: harness error: {e}"));
                    by_seed.extend(results.into_iter().map(|r| (r.seed, r)));
                }
                ShippedRuns {
                    name,
                    judged,
                    by_seed,
                }
            })
            .collect()
    })
}

/// Asserts a shipped scenario's run neither failed nor ended unknown.
pub fn assert_seed_passed(name: &str, r: &SeedResult) {
    let bad = verdict_lines(r.not_passed.iter());
    assert!(
        bad.is_empty(),
        "{name} seed {seed}: {bad:#?}\nreplay with:\n  FAULTLAB_SEED={seed} cargo test --test sim scenarios\n  \
         cargo run --release -- replay --scenario fault-scenarios/{name}.toml --seed {seed}",
        seed = r.seed,
    );
}
