//! `faultlab shrink` end to end: for a planted bug of every service, the shrunk scenario it
//! writes still fails the same invariant under `faultlab run`, with fewer faults and fewer
//! operations than the catching run; a seed that does not fail is an error.

use crate::common::{run, scenario};
use faultlab::Registry;
use faultlab::counters::Counter;
use faultlab::scenario::Scenario;
use faultlab::shrink::explicit::entries_from_log;
use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};

fn faultlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_faultlab"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("faultlab runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A scratch file removed when the test ends.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// One planted bug, the scenario built to catch it, a seed that catches it, and a run budget
/// that keeps the test to a few seconds.
struct Case {
    scenario: &'static str,
    bug: &'static str,
    seed: u64,
    runs_max: u32,
}

fn shrinks(case: &Case) {
    let Case {
        scenario: name,
        bug,
        seed,
        runs_max,
    } = *case;
    let original = run(&scenario(name), seed, &[bug]);
    let target = original
        .failures()
        .next()
        .unwrap_or_else(|| panic!("{name} seed {seed} --bug {bug} must fail to be shrunk"))
        .invariant;
    let faults_before = entries_from_log(original.log.records(), original.heal_at)
        .unwrap_or_else(|e| panic!("{e}"))
        .len();
    let ops_before = original.counters[Counter::OpsInvoked];

    let out = TempFile(
        std::env::temp_dir().join(format!("faultlab-shrink-{bug}-{}.toml", std::process::id())),
    );
    let out_str = out.0.to_string_lossy().into_owned();
    let (seed_str, runs_str) = (seed.to_string(), runs_max.to_string());
    let path = format!("fault-scenarios/{name}.toml");
    let shrunk = faultlab(&[
        "shrink",
        "--scenario",
        &path,
        "--seed",
        &seed_str,
        "--bug",
        bug,
        "--runs-max",
        &runs_str,
        "--out",
        &out_str,
    ]);
    let said = text(&shrunk.stdout);
    assert_eq!(
        shrunk.status.code(),
        Some(0),
        "{said}{}",
        text(&shrunk.stderr)
    );
    assert!(
        said.starts_with(&format!("shrank {name} seed {seed}")) && said.contains(target),
        "{said}"
    );

    // Standalone: an explicit schedule, no swarm.
    let sc = Scenario::load(&out.0, &Registry::builtin()).unwrap_or_else(|e| panic!("{e}"));
    assert!(sc.random.is_none(), "a shrunk scenario draws no faults");
    assert!(
        sc.schedule.len() < faults_before,
        "{name} --bug {bug}: {} faults, the catching run applied {faults_before}",
        sc.schedule.len()
    );

    let range = format!("{seed}..={seed}");
    let rerun = faultlab(&[
        "run",
        "--scenario",
        &out_str,
        "--seeds",
        &range,
        "--bug",
        bug,
        "--json",
    ]);
    assert_eq!(rerun.status.code(), Some(1), "{}", text(&rerun.stdout));
    let v: Value = serde_json::from_str(&text(&rerun.stdout)).expect("one JSON object");
    let failed: Vec<&str> = v["failures"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["invariant"].as_str())
        .collect();
    assert!(
        failed.contains(&target),
        "the shrunk scenario must fail {target}, it failed {failed:?}"
    );
    let ops_after = v["totals"]["ops_invoked"].as_u64().unwrap_or(u64::MAX);
    assert!(
        ops_after < ops_before,
        "{name} --bug {bug}: {ops_after} operations, the catching run invoked {ops_before}"
    );
}

#[test]
fn shrinks_an_idgen_clock_rollback() {
    shrinks(&Case {
        scenario: "idgen-clock-backwards",
        bug: "idgen-clock-rollback",
        seed: 0,
        runs_max: 12,
    });
}

#[test]
fn shrinks_a_kv_stale_read() {
    shrinks(&Case {
        scenario: "kv-partition-halves",
        bug: "kv-stale-read",
        seed: 0,
        runs_max: 10,
    });
}

#[test]
fn shrinks_a_lock_without_fencing() {
    shrinks(&Case {
        scenario: "lock-holder-stall",
        bug: "lock-no-fencing",
        seed: 0,
        runs_max: 10,
    });
}

#[test]
fn a_seed_that_does_not_fail_is_an_error() {
    let out = faultlab(&[
        "shrink",
        "--scenario",
        "fault-scenarios/idgen-calm.toml",
        "--seed",
        "0",
        "--out",
        "/dev/null",
    ]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("does not fail") && err.contains("nothing to shrink"),
        "{err}"
    );
}
