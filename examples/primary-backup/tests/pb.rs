//! The primary-backup register under faults, with the test builder: no scenario file needed
//! (the shipped one in `scenarios/` is read too). `FAULTLAB_SEED=N` replays one seed,
//! `FAULTLAB_SEEDS=A..B` sweeps more.

use faultlab::prelude::*;
use primary_backup::{ACK_BEFORE_REPLICATION, PbService};

/// The fault mix of the tutorial: the primary crashes (and comes back from a backup), a
/// backup is cut off for a while, messages are lost and delayed.
fn faults() -> Sim<PbService> {
    Sim::<PbService>::new()
        .nodes(3)
        .clients(4)
        .safety_ms(4000)
        .think_ms(0, 5)
        .timeout_ms(300)
        .crash(1000, 0, 200)
        .isolate(1800, 2, 300)
        .crash(2600, 0, 100)
        .swarm(&[FaultKind::NetLoss, FaultKind::NetDelay, FaultKind::Crash])
        .set("faults.random.mean_interval_ms", 400)
        .set("faults.random.fault_ms_max", 400)
        .expect_min("crashes", 2)
}

#[test]
fn survives_crashes_partitions_and_a_lossy_network() {
    faults().seeds(0..20).run().assert_pass();
}

#[test]
fn acking_before_replication_is_caught() {
    let seed = faults()
        .bug(ACK_BEFORE_REPLICATION)
        .seeds(0..50)
        .run()
        .assert_caught();
    eprintln!("pb-ack-before-replication caught at seed {seed}");
}

#[test]
fn the_shipped_scenario_passes() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/pb-primary-crash.toml"
    );
    Sim::<PbService>::from_file(path)
        .seeds(0..10)
        .run()
        .assert_pass();
}
