//! Every planted bug breaks a named property, and the same schedule is clean without it.

use super::super::*;
use super::harness::Cluster;
use super::random::run_seed;

/// Long, fixed timeouts: only explicit campaigns elect anyone.
fn scripted_config() -> RaftConfig {
    RaftConfig {
        election_timeout_ms_min: 10_000,
        election_timeout_ms_max: 10_001,
        append_entries_max: 1,
        pre_vote: false,
        check_quorum: false,
        ..RaftConfig::default()
    }
}

/// Raft Figure 8 on five nodes. Returns the violations seen.
fn figure8(bugs: RaftBugs) -> Vec<String> {
    let mut c = Cluster::new(5, scripted_config(), bugs, 8);
    // (a) n0 leads; its entry 2 reaches only n1.
    assert!(c.elect(0, 3, 20));
    c.run_ms(20);
    for b in 2..5 {
        c.cut_pair(0, b);
    }
    assert!(c.propose(0).is_some());
    c.run_ms(20);
    c.crash(0);
    c.heal();
    // (b) n4 wins with n2 and n3, appends its own entry 2, and is cut off at once.
    assert!(c.elect(4, 3, 20) || c.is_leader(4));
    c.isolate(4);
    c.crash(4);
    c.run_ms(20);
    // (c) n0 returns and leads a later term; it gets its old entry 2 onto n2 but its own
    // no-op only onto n1.
    c.restart(0);
    c.cut_pair(0, 3);
    assert!(c.elect(0, 5, 20), "n0 should win with n1, n2 and n3");
    let reached = c.step_until(20, |c| c.core(2).is_some_and(|n| n.last_index() >= 2));
    assert!(reached, "entry 2 should reach n2");
    c.cut.insert((0, 2));
    c.run_ms(20);
    c.crash(0);
    // (d) n4 returns and wins with n2 and n3 (its last term is newer), overwriting entry 2.
    c.restart(4);
    c.heal();
    assert!(c.elect(4, 5, 20), "n4 should win with n2 and n3");
    c.run_ms(200);
    c.violations
}

#[test]
fn commit_old_term_loses_a_committed_entry_figure_8() {
    let clean = figure8(RaftBugs::default());
    assert!(clean.is_empty(), "{clean:?}");
    let buggy = figure8(RaftBugs {
        commit_old_term: true,
        ..RaftBugs::default()
    });
    assert!(
        buggy
            .iter()
            .any(|v| v.contains("state machine safety") || v.contains("but")),
        "{buggy:?}"
    );
}

/// n0 votes for n1, crashes and restarts, then is asked by n2 in the same term.
fn double_vote(bugs: RaftBugs) -> Vec<String> {
    let mut c = Cluster::new(3, scripted_config(), bugs, 3);
    c.isolate(2);
    assert!(c.elect(1, 1, 20));
    c.crash(0);
    c.restart(0);
    c.heal();
    c.isolate(1);
    c.campaign(2);
    // n2's campaign is in term 1 only if it never heard of term 1: it was isolated.
    c.run_ms(50);
    c.violations
}

#[test]
fn vote_not_persisted_elects_two_leaders_in_one_term() {
    let clean = double_vote(RaftBugs::default());
    assert!(clean.is_empty(), "{clean:?}");
    let buggy = double_vote(RaftBugs {
        vote_not_persisted: true,
        ..RaftBugs::default()
    });
    assert!(
        buggy.iter().any(|v| v.contains("election safety")),
        "{buggy:?}"
    );
}

#[test]
fn truncate_on_stale_append_loses_committed_entries() {
    // Duplicated and reordered appends make the bug fire in random runs.
    let bugs = RaftBugs {
        truncate_on_stale_append: true,
        ..RaftBugs::default()
    };
    let caught = (0..40u64).find_map(|seed| {
        let nodes = if seed % 2 == 0 { 3 } else { 5 };
        run_seed(seed, nodes, bugs, 1_500)
            .err()
            .filter(|e| e.contains("leader completeness") || e.contains("safety"))
    });
    assert!(caught.is_some(), "no seed in 0..40 caught the bug");
    for seed in 0..40u64 {
        let nodes = if seed % 2 == 0 { 3 } else { 5 };
        if let Err(e) = run_seed(seed, nodes, RaftBugs::default(), 1_500) {
            panic!("{e}");
        }
    }
}

/// The leader's clock runs at half speed, the followers' at 1.5x; the drift bound says so.
/// The leader is cut off and keeps serving lease reads while the others elect a new leader
/// and commit writes.
fn lease_under_drift(bugs: RaftBugs, seed: u64) -> (u64, Vec<String>) {
    let cfg = RaftConfig {
        lease_read: Some(LeaseConfig {
            drift_bound_ppm: 500_000,
        }),
        ..RaftConfig::default()
    };
    let mut c = Cluster::new(3, cfg, bugs, seed);
    c.nodes[0].rate_ppm = 500_000;
    c.nodes[1].rate_ppm = 1_500_000;
    c.nodes[2].rate_ppm = 1_500_000;
    // Fresh nodes honour a possible pre-crash lease promise: no votes for the first election
    // timeout.
    assert!(c.elect(0, 20, 20));
    let mut ctx = 0;
    for _ in 0..20 {
        c.propose(0);
        ctx += 1;
        c.read(0, ctx);
        c.run_ms(10);
    }
    c.isolate(0);
    for _ in 0..200 {
        if let Some(l) = c.leader().filter(|&l| l != 0) {
            c.propose(l);
        }
        ctx += 1;
        c.read(0, ctx);
        c.run_ms(5);
    }
    (c.reads_by_lease, c.violations)
}

#[test]
fn lease_read_no_drift_bound_serves_stale_reads() {
    let bugs = RaftBugs {
        lease_read_no_drift_bound: true,
        ..RaftBugs::default()
    };
    for seed in 0..10 {
        let (by_lease, clean) = lease_under_drift(RaftBugs::default(), seed);
        assert!(clean.is_empty(), "seed {seed}: {clean:?}");
        assert!(by_lease > 0, "seed {seed}: the lease was never used");
    }
    let caught = (0..10).find(|&seed| {
        lease_under_drift(bugs, seed)
            .1
            .iter()
            .any(|v| v.contains("stale read"))
    });
    assert!(
        caught.is_some(),
        "no seed in 0..10 served a stale lease read"
    );
}

/// n1 acknowledges an entry, then loses power before its sync completes; n0, which committed
/// the entry on that acknowledgement, dies too; can n2 (which never had it) win?
fn ack_then_power_loss(host_acks_before_sync: bool) -> (bool, Vec<String>) {
    let cfg = RaftConfig {
        pre_vote: false,
        ..scripted_config()
    };
    let bugs = RaftBugs {
        host_acks_before_fsync: host_acks_before_sync,
        ..RaftBugs::default()
    };
    let mut c = Cluster::new(3, cfg, bugs, 11);
    c.host_acks_before_sync = host_acks_before_sync;
    assert!(c.elect(0, 3, 20));
    c.run_ms(20);
    c.cut_pair(0, 2);
    assert!(c.propose(0).is_some());
    let target = c.core(0).map_or(0, |n| n.last_index());
    assert!(c.step_until(20, |c| {
        c.core(0).is_some_and(|n| n.commit_index() >= target)
    }));
    c.crash(1);
    c.crash(0);
    c.heal();
    c.restart(1);
    let won = c.elect(2, 5, 20);
    (won, c.violations)
}

#[test]
fn a_host_that_acks_before_fsync_loses_committed_entries() {
    // The one-line host switch the `Ready` contract makes explicit: send before sync.
    let (won, clean) = ack_then_power_loss(false);
    assert!(!won && clean.is_empty(), "{clean:?}");
    let (won, buggy) = ack_then_power_loss(true);
    assert!(won, "n2 should win once n1 forgot the entry");
    assert!(
        buggy.iter().any(|v| v.contains("leader completeness")),
        "{buggy:?}"
    );
}
