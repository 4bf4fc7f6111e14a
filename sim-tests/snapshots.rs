//! Pins the digest and one-line summary of two seeds of every shipped scenario. Any change in
//! behaviour — a service, the simulator, the PRNG, a dependency bump — shows up here as a
//! reviewable diff in `snapshots/`. Accept intended changes with `INSTA_UPDATE=always`.

mod common;

use faultlab::runner::report::summary_line;

const PINNED_SEEDS: [u64; 2] = [1, 42];

fn pin(name: &str) {
    let sc = common::scenario(name);
    let lines: Vec<String> = PINNED_SEEDS
        .iter()
        .map(|&seed| summary_line(&common::run(&sc, seed, &[])))
        .collect();
    common::snapshot_settings().bind(|| {
        insta::assert_snapshot!(format!("run_{}", name.replace('-', "_")), lines.join("\n"));
    });
}

#[test]
fn idgen_calm() {
    pin("idgen-calm");
}

#[test]
fn idgen_partitions() {
    pin("idgen-partitions");
}

#[test]
fn idgen_clock_backwards() {
    pin("idgen-clock-backwards");
}

#[test]
fn idgen_crash_restart() {
    pin("idgen-crash-restart");
}

#[test]
fn idgen_burst() {
    pin("idgen-burst");
}

#[test]
fn idgen_swarm() {
    pin("idgen-swarm");
}

#[test]
fn every_shipped_scenario_is_pinned() {
    let source = include_str!("snapshots.rs");
    let dir = common::repo_path("fault-scenarios");
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        if let Some(name) = file.strip_suffix(".toml") {
            assert!(
                source.contains(&format!("pin(\"{name}\")")),
                "{file} is not pinned: add a test calling pin(\"{name}\")"
            );
        }
    }
}
