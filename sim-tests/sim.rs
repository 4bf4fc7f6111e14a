//! The simulation tests, one test binary (so a cold `cargo test` links the crate once for
//! them): every shipped scenario, pinned snapshots, planted bugs, fault effects, scenario
//! errors, the CLI end to end, shrinking, the regression seeds and the real-socket cluster.
//!
//! `FAULTLAB_SEED=N cargo test --test sim` replays one seed of every scenario-driven test;
//! `FAULTLAB_SEEDS=A..B cargo test --test sim scenarios` sweeps a range.

mod cli;
mod common;
mod faults;
mod notes_declared;
mod own_service;
mod planted_bugs;
mod plugin_boundary;
mod randomize;
mod real_cluster;
mod regressions;
mod report;
mod scenario_errors;
mod scenarios;
mod shrink;
mod snapshots;
mod trace;
