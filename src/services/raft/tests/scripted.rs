//! Scripted interactions in the etcd-raft style: campaign, deliver, advance time, check state.

use super::super::*;
use super::harness::{Cluster, Cmd};
use crate::ids::NodeId;
use crate::rng::component_rng;
use crate::time::LocalInstant;

fn quiet() -> RaftConfig {
    RaftConfig {
        election_timeout_ms_min: 10_000,
        election_timeout_ms_max: 10_001,
        ..RaftConfig::default()
    }
}

fn lone_core(cfg: RaftConfig) -> RaftCore<Cmd> {
    let mut rng = component_rng(1, "scripted", 0);
    let members = [NodeId(0), NodeId(1), NodeId(2)];
    RaftCore::new(
        NodeId(0),
        &members,
        cfg,
        RaftBugs::default(),
        Recovered::default(),
        LocalInstant::default(),
        &mut rng,
    )
}

#[test]
fn a_candidate_persists_its_vote_before_asking() {
    let mut rng = component_rng(1, "scripted", 1);
    let mut core = lone_core(RaftConfig {
        pre_vote: false,
        ..quiet()
    });
    core.campaign(LocalInstant { ns: 1 }, &mut rng);
    let ready = core.ready();
    assert_eq!(
        ready.hard_state,
        Some(HardState {
            term: 1,
            vote: Some(NodeId(0))
        })
    );
    assert!(
        ready.needs_sync(),
        "the vote must be durable before the requests leave"
    );
    let labels: Vec<_> = ready.messages.iter().map(|(_, m)| m.label()).collect();
    assert_eq!(labels, ["raft/vote", "raft/vote"]);
    assert!(core.ready().is_empty());
}

#[test]
fn a_leader_is_elected_and_replicates() {
    let mut c = Cluster::new(3, RaftConfig::default(), RaftBugs::default(), 1);
    c.run_ms(1_000);
    let l = c.leader().expect("a leader within a second");
    let cmd = c.propose(l).expect("leader accepts");
    c.run_ms(100);
    for id in 0..3 {
        let core = c.core(id).expect("live");
        assert_eq!(core.commit_index(), core.last_index());
        assert_eq!(core.leader(), Some(NodeId(l)));
        let last = core.entry(core.last_index()).map(|e| e.payload.clone());
        assert_eq!(last, Some(Payload::Command(cmd)));
    }
    assert!(c.converged());
    let follower = (l + 1) % 3;
    assert_eq!(
        c.with_core(follower, |core, now, _| core.propose(7, now)),
        Some(Err(RequestError::NotLeader {
            hint: Some(NodeId(l))
        }))
    );
    assert!(c.violations.is_empty(), "{:?}", c.violations);
}

#[test]
fn pre_vote_keeps_a_rejoining_node_from_disrupting_the_leader() {
    for pre_vote in [true, false] {
        let cfg = RaftConfig {
            pre_vote,
            check_quorum: false,
            ..RaftConfig::default()
        };
        let mut c = Cluster::new(3, cfg, RaftBugs::default(), 2);
        c.run_ms(1_000);
        let l = c.leader().expect("leader");
        let term = c.core(l).map(|n| n.term());
        let lonely = (l + 1) % 3;
        c.isolate(lonely);
        c.run_ms(2_000); // it times out again and again
        c.heal();
        c.run_ms(500);
        let after = c.core(l).map(|n| (n.role(), n.term()));
        if pre_vote {
            assert_eq!(after, term.map(|t| (Role::Leader, t)), "leader undisturbed");
        } else {
            assert!(
                after.map(|(_, t)| t) > term,
                "without pre-vote the term is bumped"
            );
        }
        assert!(c.violations.is_empty(), "{:?}", c.violations);
    }
}

#[test]
fn check_quorum_steps_down_an_isolated_leader() {
    let mut c = Cluster::new(3, RaftConfig::default(), RaftBugs::default(), 3);
    c.run_ms(1_000);
    let l = c.leader().expect("leader");
    c.isolate(l);
    c.run_ms(400); // more than two minimum election timeouts
    assert_eq!(c.core(l).map(|n| n.role()), Some(Role::Follower));
    assert!(
        c.with_core(l, |n, now, _| n.read_index(1, now))
            .is_some_and(|r| r.is_err()),
        "a deposed leader refuses reads"
    );
    let new = c.leader().expect("the majority elected a new leader");
    assert_ne!(new, l);
}

#[test]
fn a_divergent_follower_is_repaired_and_a_lagging_one_gets_a_snapshot() {
    let cfg = RaftConfig {
        compact_after_entries: 10,
        snapshot_chunk_bytes: 16,
        append_entries_max: 3,
        ..RaftConfig::default()
    };
    let mut c = Cluster::new(3, cfg, RaftBugs::default(), 4);
    c.run_ms(1_000);
    let l = c.leader().expect("leader");
    let (f1, f2) = ((l + 1) % 3, (l + 2) % 3);
    // The leader appends entries no one else gets, then loses its leadership.
    c.isolate(l);
    for _ in 0..5 {
        c.propose(l);
    }
    c.crash(f2);
    c.run_ms(1_000);
    // f1 alone cannot elect; bring f2 back and let them move on without l.
    c.restart(f2);
    c.run_ms(1_000);
    let new = c.leader().expect("new leader");
    assert_ne!(new, l);
    for _ in 0..40 {
        c.propose(new);
        c.run_ms(5);
    }
    assert!(
        c.core(new).is_some_and(|n| n.snapshot_meta().index > 0),
        "the new leader compacted"
    );
    c.heal();
    c.run_ms(1_000);
    let target = c.core(new).map(|n| n.commit_index());
    for id in [l, f1, f2] {
        assert_eq!(c.core(id).map(|n| n.commit_index()), target, "n{id}");
    }
    assert!(
        c.converged(),
        "the old leader's divergent suffix was replaced"
    );
    assert!(c.violations.is_empty(), "{:?}", c.violations);
}

#[test]
fn read_index_waits_for_the_no_op_and_a_heartbeat_round() {
    let mut c = Cluster::new(3, quiet(), RaftBugs::default(), 5);
    c.campaign(0);
    assert!(c.step_until(10, |c| c.is_leader(0)));
    // Not yet committed the no-op: the read is queued, not served.
    assert_eq!(c.core(0).map(|n| n.commit_index()), Some(0));
    assert!(c.read(0, 1));
    assert_eq!(c.reads_served, 0);
    c.run_ms(10);
    assert_eq!(c.reads_served, 1);
    // A leader cut off from everyone cannot confirm a read.
    c.isolate(0);
    assert!(c.read(0, 2));
    c.run_ms(40);
    assert_eq!(c.reads_served, 1);
    c.heal();
    c.run_ms(60); // the next heartbeat round confirms it
    assert_eq!(c.reads_served, 2);
    assert!(c.violations.is_empty(), "{:?}", c.violations);
}

#[test]
fn proposals_are_bounded() {
    let mut c = Cluster::new(
        1,
        RaftConfig {
            append_bytes_max: 50,
            ..RaftConfig::default()
        },
        RaftBugs::default(),
        6,
    );
    c.run_ms(1_000);
    assert!(c.is_leader(0), "a single node elects itself");
    assert!(c.propose(0).is_some());
    // `{"term":1,"index":3,"payload":{"command":18446744073709551615}}` is 63 bytes.
    let big = c.with_core(0, |n, now, _| n.propose(u64::MAX, now));
    assert_eq!(
        big,
        Some(Err(RequestError::TooLarge { bytes: 63, max: 50 }))
    );
    c.run_ms(10);
    assert!(c.converged());
}

#[test]
fn invalid_configs_name_the_field() {
    let bad = [
        (
            RaftConfig {
                election_timeout_ms_max: 150,
                ..RaftConfig::default()
            },
            "election_timeout_ms_max",
        ),
        (
            RaftConfig {
                heartbeat_ms: 100,
                ..RaftConfig::default()
            },
            "heartbeat_ms",
        ),
        (
            RaftConfig {
                snapshot_chunk_bytes: 40_000,
                ..RaftConfig::default()
            },
            "snapshot_chunk_bytes",
        ),
        (
            RaftConfig {
                lease_read: Some(LeaseConfig {
                    drift_bound_ppm: 1_000_000,
                }),
                ..RaftConfig::default()
            },
            "lease_read.drift_bound_ppm",
        ),
    ];
    for (cfg, field) in bad {
        assert_eq!(cfg.validate().map_err(|(f, _)| f), Err(field));
    }
    assert_eq!(RaftConfig::default().validate(), Ok(()));
}

fn append(term: u64, prev: (u64, u64), entries: Vec<Entry<Cmd>>) -> RaftMsg<Cmd> {
    RaftMsg::Append {
        term,
        prev_index: prev.0,
        prev_term: prev.1,
        entries,
        commit: 0,
        round: 1,
    }
}

fn entry(index: u64, term: u64) -> Entry<Cmd> {
    Entry {
        term,
        index,
        payload: Payload::Command(index),
    }
}

#[test]
fn a_stale_append_truncates_only_with_the_planted_bug() {
    for bug in [false, true] {
        let mut rng = component_rng(1, "scripted", 2);
        let members = [NodeId(0), NodeId(1), NodeId(2)];
        let bugs = RaftBugs {
            truncate_on_stale_append: bug,
            ..RaftBugs::default()
        };
        let t = LocalInstant { ns: 1 };
        let mut f: RaftCore<Cmd> = RaftCore::new(
            NodeId(1),
            &members,
            quiet(),
            bugs,
            Recovered::default(),
            t,
            &mut rng,
        );
        let all: Vec<_> = (1..=4).map(|i| entry(i, 1)).collect();
        f.step(NodeId(0), append(1, (0, 0), all), t, &mut rng);
        assert_eq!(f.ready().entries.len(), 4);
        // The first, shorter append was delayed and arrives now.
        f.step(
            NodeId(0),
            append(1, (0, 0), vec![entry(1, 1), entry(2, 1)]),
            t,
            &mut rng,
        );
        let ready = f.ready();
        if bug {
            assert_eq!((f.last_index(), ready.truncate_from), (2, Some(3)));
        } else {
            assert_eq!((f.last_index(), ready.truncate_from), (4, None));
            // A real conflict (a new leader's entry at 3) does truncate.
            f.step(NodeId(2), append(2, (2, 1), vec![entry(3, 2)]), t, &mut rng);
            let ready = f.ready();
            assert_eq!((f.last_index(), ready.truncate_from), (3, Some(3)));
            assert_eq!(ready.entries, vec![entry(3, 2)]);
            assert_eq!(ready.hard_state.map(|h| h.term), Some(2));
        }
    }
}
