//! The job queue's pure parts driven by hand: the state machine (idempotent enqueue, leases,
//! acks, expiry and the schedule through the leader's duties), and nodes fed forged and
//! hostile input (the invariants: `invariants_tests.rs`).

use super::machine::{DutyConfig, JobState};
use super::msg::Effect;
use super::*;
use crate::disk::SimDisk;
use crate::ids::{Addr, ClientId, Incarnation, NodeId};
use crate::node::service::{Ctx, NodeInfo, Output, ReplyTo, Service};
use crate::rng::{DetRng, component_rng};
use crate::services::replicated::{Request, Response, SYSTEM_SESSION, StateMachine};
use crate::time::{LocalInstant, LocalNow, WallTime};
use proptest::prelude::*;

const WORKER: u64 = (1 << 48) + 3 * 100_000 + 1;

fn enqueue(key: &str) -> JobOp {
    JobOp::Enqueue {
        key: key.into(),
        name: key.into(),
        at_unix_ms: None,
    }
}

fn leased(r: JobResult) -> (u64, u64) {
    match r {
        JobResult::Leased { id, token, .. } => (id, token),
        other => panic!("expected a lease, got {other:?}"),
    }
}

fn mono(ms: u64) -> LocalInstant {
    LocalInstant { ns: ms * 1_000_000 }
}

/// A leader's clocks at monotonic `ms`, its wall clock reading the same (ms since the epoch).
fn clocks(ms: u64) -> LocalNow {
    wall_at(ms, i64::try_from(ms).unwrap_or(i64::MAX))
}

/// A leader's clocks at monotonic `mono_ms` with its wall clock at `wall_ms`.
fn wall_at(mono_ms: u64, wall_ms: i64) -> LocalNow {
    LocalNow {
        mono: mono(mono_ms),
        wall: WallTime {
            ns: wall_ms * 1_000_000,
        },
    }
}

#[test]
fn one_job_per_key_and_a_lease_runs_until_acked_or_expired() {
    let mut m = JobsMachine::empty();
    assert_eq!(
        m.apply_from(1, 1, &enqueue("a")),
        JobResult::Enqueued { id: 1 }
    );
    // A retry under the same key is the same job.
    assert_eq!(
        m.apply_from(2, 1, &enqueue("a")),
        JobResult::Enqueued { id: 1 }
    );
    let (id, t1) = leased(m.apply_from(3, WORKER, &JobOp::Lease));
    assert_eq!(m.apply_from(4, WORKER, &JobOp::Lease), JobResult::Empty);
    // Only the leader's duties expire a lease.
    assert_eq!(
        m.apply_from(5, 1, &JobOp::Expire { id, token: t1 }),
        JobResult::Done
    );
    assert!(matches!(
        m.job(id).map(|j| &j.state),
        Some(JobState::Leased { .. })
    ));
    m.apply_from(6, SYSTEM_SESSION, &JobOp::Expire { id, token: t1 });
    let (again, t2) = leased(m.apply_from(7, WORKER + 1, &JobOp::Lease));
    assert_eq!(again, id);
    assert!(t2 > t1, "a redelivery carries a larger token");
    // The first worker's ack is refused; the second one's deletes the job.
    assert_eq!(
        m.apply_from(8, WORKER, &JobOp::Ack { id, token: t1 }),
        JobResult::NotHolder
    );
    assert_eq!(
        m.apply_from(9, WORKER + 1, &JobOp::Ack { id, token: t2 }),
        JobResult::Acked
    );
    assert_eq!(m.apply_from(10, WORKER, &JobOp::Lease), JobResult::Empty);
    // Done jobs still deduplicate their key.
    assert_eq!(
        m.apply_from(11, 1, &enqueue("a")),
        JobResult::Enqueued { id: 1 }
    );
    // The leader's session cannot lease.
    m.apply_from(12, 1, &enqueue("b"));
    assert_eq!(
        m.apply_from(13, SYSTEM_SESSION, &JobOp::Lease),
        JobResult::Done
    );
}

#[test]
fn a_slot_fires_once_and_only_after_the_one_before() {
    let mut m = JobsMachine::empty();
    m.apply_from(1, SYSTEM_SESSION, &JobOp::Fire { slot: 2 });
    assert_eq!(m.fired(), 0, "slot 2 cannot fire before slot 1");
    m.apply_from(2, SYSTEM_SESSION, &JobOp::Fire { slot: 1 });
    m.apply_from(3, SYSTEM_SESSION, &JobOp::Fire { slot: 1 });
    assert_eq!(m.fired(), 1);
    // A client cannot fire a slot.
    m.apply_from(4, 1, &JobOp::Fire { slot: 2 });
    assert_eq!(m.fired(), 1);
    let (id, _) = leased(m.apply_from(5, WORKER, &JobOp::Lease));
    assert_eq!(m.job(id).and_then(|j| j.slot), Some(1));
    assert_eq!(m.apply_from(6, WORKER, &JobOp::Lease), JobResult::Empty);
}

#[test]
fn the_leader_expires_a_lease_after_the_drift_bound_and_fires_slots_on_its_own_clock() {
    let cfg = DutyConfig {
        visibility_ms: 400,
        drift_bound_ppm: 100_000,
        every_ms: 500,
    };
    assert_eq!(cfg.expiry_ms(), 440);
    let mut m = JobsMachine::empty();
    m.apply_from(1, 1, &enqueue("a"));
    let (id, token) = leased(m.apply_from(2, WORKER, &JobOp::Lease));
    let mut d = JobsMachine::duties(&cfg);
    let plan = m.leader_duties(&mut d, clocks(1000));
    assert!(plan.propose.is_empty());
    assert_eq!(plan.next_at, Some(mono(1440)));
    assert!(m.leader_duties(&mut d, clocks(1439)).propose.is_empty());
    let plan = m.leader_duties(&mut d, clocks(1440));
    assert_eq!(plan.propose, vec![JobOp::Expire { id, token }]);
    let plan = m.leader_duties(&mut d, clocks(1500));
    assert_eq!(plan.propose, vec![JobOp::Fire { slot: 1 }]);
    // A new leader times everything afresh from when it took over.
    let mut fresh = JobsMachine::duties(&cfg);
    assert!(m.leader_duties(&mut fresh, clocks(5000)).propose.is_empty());
}

#[test]
fn a_job_enqueued_for_later_waits_for_the_leaders_wall_clock_and_becomes_visible_once() {
    let cfg = DutyConfig {
        visibility_ms: 400,
        drift_bound_ppm: 100_000,
        every_ms: 0,
    };
    let mut m = JobsMachine::empty();
    let later = JobOp::Enqueue {
        key: "r".into(),
        name: "r".into(),
        at_unix_ms: Some(10_000),
    };
    let JobResult::Enqueued { id } = m.apply_from(1, 1, &later) else {
        panic!("not enqueued");
    };
    assert!(matches!(
        m.job(id).map(|j| &j.state),
        Some(JobState::Scheduled { at_unix_ms: 10_000 })
    ));
    // Waiting: no lease takes it, and no one but the leader may release it.
    assert_eq!(m.apply_from(2, WORKER, &JobOp::Lease), JobResult::Empty);
    m.apply_from(3, 1, &JobOp::Due { id });
    assert_eq!(m.apply_from(4, WORKER, &JobOp::Lease), JobResult::Empty);
    // The leader's wall clock is 400 ms short of T: it looks again in 400 ms.
    let mut d = JobsMachine::duties(&cfg);
    let plan = m.leader_duties(&mut d, wall_at(1000, 9_600));
    assert!(plan.propose.is_empty());
    assert_eq!(plan.next_at, Some(mono(1400)));
    // Its wall clock stepped ahead: T has come, whatever the monotonic clock says.
    let plan = m.leader_duties(&mut d, wall_at(1001, 10_000));
    assert_eq!(plan.propose, vec![JobOp::Due { id }]);
    // Not asked again until the proposal had time to commit.
    assert!(
        m.leader_duties(&mut d, wall_at(1002, 10_001))
            .propose
            .is_empty()
    );
    assert_eq!(
        m.leader_duties(&mut d, wall_at(1441, 10_440)).propose,
        vec![JobOp::Due { id }]
    );
    // Applied twice (a lost answer, a new leader): visible once, leased once.
    m.apply_from(5, SYSTEM_SESSION, &JobOp::Due { id });
    m.apply_from(6, SYSTEM_SESSION, &JobOp::Due { id });
    let (leased_id, token) = leased(m.apply_from(7, WORKER, &JobOp::Lease));
    assert_eq!(leased_id, id);
    m.apply_from(8, SYSTEM_SESSION, &JobOp::Due { id });
    assert!(matches!(
        m.job(id).map(|j| &j.state),
        Some(JobState::Leased { token: t, .. }) if *t == token
    ));
    // A later enqueue under the same key is the same job, whatever time it asks for.
    let again = JobOp::Enqueue {
        key: "r".into(),
        name: "r".into(),
        at_unix_ms: Some(99_000),
    };
    assert_eq!(m.apply_from(9, 1, &again), JobResult::Enqueued { id });
    // A time that cannot come (i64::MAX) or is long past (i64::MIN) neither panics nor stalls
    // the others.
    for (i, at) in [(10, i64::MAX), (11, i64::MIN)] {
        let op = JobOp::Enqueue {
            key: format!("x{i}"),
            name: format!("x{i}"),
            at_unix_ms: Some(at),
        };
        m.apply_from(i, 1, &op);
    }
    let mut fresh = JobsMachine::duties(&cfg);
    let plan = m.leader_duties(&mut fresh, wall_at(2000, -5_000));
    assert!(
        plan.propose
            .iter()
            .all(|op| matches!(op, JobOp::Due { .. }))
    );
    assert_eq!(plan.propose.len(), 1);
}

#[test]
fn worker_sessions_belong_to_their_node_and_incarnation() {
    let s = JobsOptions::worker_session(NodeId(3), 1);
    assert!(JobsOptions::is_worker_session(NodeId(3), s));
    assert!(!JobsOptions::is_worker_session(NodeId(4), s));
    assert!(!JobsOptions::is_worker_session(NodeId(3), 5));
    assert_ne!(s, JobsOptions::worker_session(NodeId(3), 2));
    let shape = crate::plugin::Shape {
        nodes: 6,
        clients: 3,
    };
    assert_eq!(JobsOptions::default().validate(&shape), Ok(()));
    let bad = JobsOptions {
        visibility_ms: 30,
        ..JobsOptions::default()
    };
    assert!(bad.validate(&shape).is_err());
    let wrong_shape = crate::plugin::Shape {
        nodes: 5,
        clients: 3,
    };
    assert!(JobsOptions::default().validate(&wrong_shape).is_err());
}

struct Rig {
    info: NodeInfo,
    disk: SimDisk,
    rng: DetRng,
    out: Vec<Output<JobsNode>>,
}

impl Rig {
    fn on(node: u32) -> Self {
        Rig {
            info: NodeInfo {
                node: NodeId(node),
                incarnation: Incarnation(1),
                cluster: (0..6).map(NodeId).collect(),
                bugs: Default::default(),
                buggify: None,
            },
            disk: SimDisk::new(),
            rng: component_rng(0, "test", 0),
            out: Vec::new(),
        }
    }

    fn with<R>(&mut self, ms: u64, f: impl FnOnce(&mut Ctx<'_, JobsNode>) -> R) -> R {
        let now = LocalNow {
            mono: mono(ms),
            wall: WallTime {
                ns: (ms * 1_000_000) as i64,
            },
        };
        let mut ctx = Ctx::new(
            &self.info,
            now,
            &mut self.rng,
            &mut self.disk,
            &mut self.out,
        );
        f(&mut ctx)
    }

    fn refused(&self) -> bool {
        self.out
            .iter()
            .all(|o| matches!(o, Output::Note { label, .. } if *label == "jobs/unexpected-message"))
            && !self.out.is_empty()
    }
}

#[test]
fn nodes_refuse_what_their_sender_may_not_send() {
    let opts = JobsOptions::default();
    // A replica: a call from a producer's address space (a replica, the sink) or under another
    // node's session is dropped before the replicated layer sees it.
    let mut rig = Rig::on(0);
    let mut replica = rig.with(0, |ctx| JobsNode::start(&opts, ctx));
    for (from, session, op) in [
        (5, JobsOptions::worker_session(NodeId(5), 1), JobOp::Lease),
        (3, JobsOptions::worker_session(NodeId(4), 1), JobOp::Lease),
        (
            3,
            JobsOptions::worker_session(NodeId(3), 1),
            JobOp::Expire { id: 1, token: 1 },
        ),
        (
            3,
            JobsOptions::worker_session(NodeId(3), 1),
            JobOp::Fire { slot: 1 },
        ),
        (1, JobsOptions::worker_session(NodeId(1), 1), JobOp::Lease),
    ] {
        rig.out.clear();
        let call = JobsMsg::Call(Request {
            client_id: session,
            seq: 1,
            op,
        });
        rig.with(1, |ctx| replica.on_message(ctx, NodeId(from), call));
        assert!(rig.refused(), "from n{from}: {:?}", rig.out);
    }
    // Raft from a worker is dropped.
    rig.out.clear();
    let vote = JobsMsg::Raft(crate::services::raft::RaftMsg::Vote {
        term: 99,
        last_index: 1_000,
        last_term: 98,
    });
    rig.with(2, |ctx| replica.on_message(ctx, NodeId(3), vote));
    assert!(rig.refused(), "{:?}", rig.out);
    // A producer may only enqueue, under a producer's session, with bounded strings.
    let from = ReplyTo {
        to: Addr::Client(ClientId(0)),
        req_id: 1,
    };
    for (client_id, op) in [
        (1, JobOp::Lease),
        (1, JobOp::Ack { id: 1, token: 1 }),
        (WORKER, enqueue("a")),
        (1, enqueue(&"x".repeat(opts.key_bytes_max + 1))),
    ] {
        rig.out.clear();
        let req = JobsRequest::Call(Request {
            client_id,
            seq: 1,
            op,
        });
        rig.with(3, |ctx| replica.on_request(ctx, from, req));
        let forbidden = JobsResponse::Call(Response::Rejected(
            crate::services::replicated::Rejection::Forbidden,
        ));
        assert!(
            rig.out
                .iter()
                .any(|o| matches!(o, Output::Reply { resp, .. } if *resp == forbidden)),
            "{:?}",
            rig.out
        );
    }
    // The sink takes effects only from workers; a worker takes no producer requests.
    let mut rig = Rig::on(5);
    let mut sink = rig.with(0, |ctx| JobsNode::start(&opts, ctx));
    rig.out.clear();
    let effect = JobsMsg::Effect(Effect {
        job: 1,
        name: "a".into(),
        key: "a".into(),
        slot: None,
        token: 1,
    });
    rig.with(1, |ctx| sink.on_message(ctx, NodeId(0), effect));
    assert!(rig.refused(), "{:?}", rig.out);
    let mut rig = Rig::on(3);
    let mut worker = rig.with(0, |ctx| JobsNode::start(&opts, ctx));
    rig.out.clear();
    rig.with(1, |ctx| {
        worker.on_request(
            ctx,
            from,
            JobsRequest::Call(Request {
                client_id: 1,
                seq: 1,
                op: enqueue("a"),
            }),
        )
    });
    assert!(rig.out.iter().any(|o| matches!(
        o,
        Output::Reply {
            resp: JobsResponse::WrongNode,
            ..
        }
    )));
}

fn arb_msg() -> impl Strategy<Value = (u32, JobsMsg)> {
    let op = prop_oneof![
        Just(JobOp::Lease),
        (any::<u64>(), any::<u64>()).prop_map(|(id, token)| JobOp::Ack { id, token }),
        (any::<u64>(), any::<u64>()).prop_map(|(id, token)| JobOp::Expire { id, token }),
        any::<u64>().prop_map(|slot| JobOp::Fire { slot }),
        any::<u64>().prop_map(|id| JobOp::Due { id }),
        ("[a-z]{0,200}", "[a-z]{0,200}", any::<Option<i64>>()).prop_map(
            |(key, name, at_unix_ms)| JobOp::Enqueue {
                key,
                name,
                at_unix_ms
            }
        ),
    ];
    let msg =
        prop_oneof![
            (any::<u64>(), any::<u64>(), op)
                .prop_map(|(client_id, seq, op)| JobsMsg::Call(Request { client_id, seq, op })),
            (
                any::<u64>(),
                "[a-z]{0,200}",
                any::<u64>(),
                proptest::option::of(any::<u64>())
            )
                .prop_map(|(job, key, token, slot)| JobsMsg::Effect(Effect {
                    job,
                    name: key.clone(),
                    key,
                    slot,
                    token,
                })),
            (any::<u64>(), any::<u64>()).prop_map(|(job, token)| JobsMsg::EffectDone {
                job,
                token,
                outcome: EffectOutcome::Applied
            }),
            any::<u64>().prop_map(|seq| JobsMsg::Answer {
                seq,
                resp: Response::Unknown
            }),
        ];
    (0u32..6, msg)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    /// Whatever peers send, no node panics, and the sink applies only workers' well-formed
    /// effects.
    #[test]
    fn hostile_messages_never_panic_a_node(
        msgs in proptest::collection::vec(arb_msg(), 1..60),
    ) {
        let opts = JobsOptions::default();
        for node in [0u32, 3, 5] {
            let mut rig = Rig::on(node);
            let mut n = rig.with(0, |ctx| JobsNode::start(&opts, ctx));
            for (i, (from, msg)) in msgs.iter().enumerate() {
                rig.with(i as u64 + 1, |ctx| n.on_message(ctx, NodeId(*from), msg.clone()));
            }
            if let JobsNode::Sink { sink, .. } = &n
                && let Some(state) = sink.state()
            {
                for key in state.applied.keys() {
                    prop_assert!(key.len() <= opts.key_bytes_max);
                }
            }
        }
    }
}
