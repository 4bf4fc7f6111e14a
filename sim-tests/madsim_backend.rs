//! The madsim backend on every shipped scenario: each seed passes (no fail, no unknown), every
//! `[expect]` minimum is reached in the range, different seeds differ, and a seed replays to
//! the same event log record by record — in one process, on fresh threads, and in two
//! processes byte for byte. Planted bugs are caught within 200 seeds.

use crate::{common, planted_bugs};
use faultlab::backend::BackendKind;
use faultlab::counters::Counter;
use faultlab::runner::RunOptions;
use faultlab::runner::coverage::Coverage;
use faultlab::runner::determinism::check_determinism;
use faultlab::runner::seeds::SeedRange;
use faultlab::runner::sweep::sweep;
use std::path::PathBuf;
use std::process::Command;

fn madsim() -> RunOptions {
    RunOptions {
        backend: BackendKind::Madsim,
        ..RunOptions::default()
    }
}

/// madsim's own switch for its determinism mode; here it widens our record-by-record check
/// from one seed per scenario to every seed.
const CHECK_ALL_ENV: &str = "MADSIM_TEST_CHECK_DETERMINISM";

/// Planted bugs must show on madsim within this many seeds.
const BUG_SEEDS_MAX: u64 = 200;

#[test]
fn every_shipped_scenario_passes_and_replays_on_madsim() {
    let seeds = common::seeds(SeedRange { start: 0, end: 5 });
    let check_all = std::env::var_os(CHECK_ALL_ENV).is_some();
    let names = common::shipped_scenarios();
    common::announce(&format!(
        "madsim: seeds {seeds} of {} shipped scenarios{}",
        names.len(),
        if check_all { ", each run twice" } else { "" }
    ));
    let jobs = std::thread::available_parallelism().map_or(1, usize::from);
    for name in names {
        let sc = common::scenario(&name);
        let results = sweep(&sc, seeds, &madsim(), jobs, &|o| {
            assert_eq!(o.backend, BackendKind::Madsim);
            common::assert_passed(o)
        })
        .unwrap_or_else(|e| panic!("{name}: harness error: {e}"));
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
            "{name}: never reached in {seeds}: {gaps:?}"
        );
        let mut digests: Vec<_> = results.iter().map(|r| r.digest.0).collect();
        digests.sort_unstable();
        digests.dedup();
        assert_eq!(
            digests.len(),
            results.len(),
            "{name}: seeds gave equal digests"
        );
        let checked: Vec<u64> = if check_all {
            seeds.iter().collect()
        } else {
            vec![seeds.start]
        };
        for seed in checked {
            let again = check_determinism(&sc, seed, &madsim())
                .unwrap_or_else(|e| panic!("{name}: harness error: {e}"))
                .unwrap_or_else(|d| panic!("{name}: {d}"));
            let first = results.iter().find(|r| r.seed == seed);
            assert_eq!(
                Some(again.digest),
                first.map(|r| r.digest),
                "{name} seed {seed}: a sweep run and a lone run differ\n{}",
                common::replay_hint(&again)
            );
        }
    }
}

#[test]
fn the_backends_agree_in_kind() {
    // Digests differ across backends (different schedulers and latencies); what a scenario
    // does must not: the same verdicts, and faults firing on both.
    for name in ["idgen-swarm", "idgen-crash-restart", "idgen-partitions"] {
        let sc = common::scenario(name);
        let t = common::run_on(&sc, 1, &[], BackendKind::Turmoil);
        let m = common::run_on(&sc, 1, &[], BackendKind::Madsim);
        assert_ne!(t.digest, m.digest, "{name}: two simulators, one digest?");
        assert_eq!(t.overall(), m.overall(), "{name}: verdicts differ");
        let (ft, fm) = (
            t.counters[Counter::FaultsApplied],
            m.counters[Counter::FaultsApplied],
        );
        assert!(
            ft > 0 && fm > 0,
            "{name}: faults applied: turmoil {ft}, madsim {fm}"
        );
    }
}

#[test]
fn every_planted_bug_is_caught_on_madsim() {
    let mut caught = Vec::new();
    for case in planted_bugs::cases() {
        match planted_bugs::check(&case, BackendKind::Madsim, BUG_SEEDS_MAX) {
            Ok(seed) => caught.push(format!("{} at seed {seed}", case.bug)),
            Err(e) => panic!("{e}"),
        }
    }
    common::announce(&format!("madsim caught: {}", caught.join(", ")));
}

fn faultlab(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_faultlab"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap_or_else(|e| panic!("cannot run faultlab: {e}"))
}

#[test]
fn two_processes_replay_a_madsim_seed_byte_for_byte() {
    let base = std::env::temp_dir().join(format!("faultlab-madsim-det-{}", std::process::id()));
    let dirs: Vec<PathBuf> = ["a", "b"].iter().map(|d| base.join(d)).collect();
    let mut digests = Vec::new();
    for dir in &dirs {
        let out = faultlab(&[
            "replay",
            "--backend",
            "madsim",
            "--scenario",
            "fault-scenarios/idgen-swarm.toml",
            "--seed",
            "7",
            "--out",
            dir.to_str().unwrap_or_default(),
        ]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert_eq!(out.status.code(), Some(0), "{text}");
        digests.push(text.lines().last().map(str::to_string));
    }
    assert!(
        digests[0]
            .as_deref()
            .is_some_and(|l| l.starts_with("digest "))
    );
    assert_eq!(digests[0], digests[1]);
    for file in ["history.jsonl", "events.jsonl", "summary.txt"] {
        let read = |d: &PathBuf| std::fs::read(d.join(file)).unwrap_or_default();
        let (x, y) = (read(&dirs[0]), read(&dirs[1]));
        assert!(!x.is_empty(), "{file} is empty");
        assert!(x == y, "{file} differs between two processes");
    }
    let _ = std::fs::remove_dir_all(&base);
}
