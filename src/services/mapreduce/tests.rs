//! MapReduce's parts driven by hand: the coordinator's scheduling, fencing, re-execution and
//! recovery; and nodes fed forged and hostile input (the invariants: `tests_invariants.rs`).

use super::corpus::{self, Counts};
use super::*;
use crate::bugs::{Bug, BugSet};
use crate::disk::SimDisk;
use crate::ids::{Addr, ClientId, Incarnation, NodeId};
use crate::node::service::{Ctx, NodeInfo, Output, ReplyTo, Service};
use crate::rng::{DetRng, component_rng};
use crate::time::{LocalInstant, LocalNow, WallTime};
use proptest::prelude::*;

struct Rig {
    info: NodeInfo,
    disk: SimDisk,
    rng: DetRng,
    out: Vec<Output<MrNode>>,
}

impl Rig {
    fn on(node: u32, bugs: &[Bug]) -> Self {
        Rig {
            info: NodeInfo {
                node: NodeId(node),
                incarnation: Incarnation(1),
                cluster: (0..5).map(NodeId).collect(),
                bugs: bugs.iter().copied().collect::<BugSet>(),
                buggify: None,
            },
            disk: SimDisk::new(),
            rng: component_rng(0, "test", 0),
            out: Vec::new(),
        }
    }

    fn with<R>(&mut self, ms: u64, f: impl FnOnce(&mut Ctx<'_, MrNode>) -> R) -> R {
        let now = LocalNow {
            mono: LocalInstant { ns: ms * 1_000_000 },
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

    /// The messages sent since the last call.
    fn sent(&mut self) -> Vec<(NodeId, MrMsg)> {
        std::mem::take(&mut self.out)
            .into_iter()
            .filter_map(|o| match o {
                Output::Send { to, msg } => Some((to, msg)),
                _ => None,
            })
            .collect()
    }
}

fn heartbeat(incarnation: u32, report: Option<Report>) -> MrMsg {
    MrMsg::Heartbeat {
        incarnation,
        running: None,
        report,
    }
}

/// The task a worker was assigned in `sent`, if any.
fn assigned(sent: &[(NodeId, MrMsg)]) -> Option<Task> {
    sent.iter().find_map(|(_, m)| match m {
        MrMsg::Assign(t) => Some(t.clone()),
        _ => None,
    })
}

fn renames(sent: &[(NodeId, MrMsg)]) -> Vec<u64> {
    sent.iter()
        .filter_map(|(_, m)| match m {
            MrMsg::Rename { attempt, .. } => Some(*attempt),
            _ => None,
        })
        .collect()
}

/// A coordinator with job `c0-1` submitted and every map done by worker n1, and the first
/// reduce attempt of partition 0 handed out to n1.
fn coordinator_in_reduce(bugs: &[Bug]) -> (Rig, MrNode, Task) {
    let opts = MrOptions::default();
    let mut rig = Rig::on(0, bugs);
    let mut n = rig.with(0, |ctx| MrNode::start(&opts, ctx));
    let from = ReplyTo {
        to: Addr::Client(ClientId(0)),
        req_id: 1,
    };
    let submit = MrRequest::Submit { job: "c0-1".into() };
    rig.with(1, |ctx| n.on_request(ctx, from, submit));
    rig.sent();
    for i in 0..opts.maps {
        rig.with(10 + u64::from(i), |ctx| {
            n.on_message(ctx, NodeId(1), heartbeat(1, None))
        });
        let Some(Task::Map { job, map, attempt }) = assigned(&rig.sent()) else {
            panic!("an idle worker gets the next map");
        };
        let done = Report::MapDone { job, map, attempt };
        rig.with(20 + u64::from(i), |ctx| {
            n.on_message(ctx, NodeId(1), heartbeat(1, Some(done)))
        });
        rig.sent();
    }
    rig.with(40, |ctx| n.on_message(ctx, NodeId(1), heartbeat(1, None)));
    let Some(task @ Task::Reduce { .. }) = assigned(&rig.sent()) else {
        panic!("with every map done, reduces are handed out");
    };
    (rig, n, task)
}

fn reduce_done(task: &Task) -> Report {
    let Task::Reduce {
        job,
        part,
        attempt,
        inputs,
    } = task
    else {
        panic!("not a reduce");
    };
    Report::ReduceDone {
        job: job.clone(),
        part: *part,
        attempt: *attempt,
        records: 3,
        inputs: inputs.iter().map(|i| (i.map, i.map_attempt)).collect(),
    }
}

#[test]
fn the_first_finished_attempt_commits_and_a_later_one_is_fenced() {
    for (bugs, fenced) in [(vec![], true), (vec![bugs::DOUBLE_COMMIT], false)] {
        let (mut rig, mut n, first) = coordinator_in_reduce(&bugs);
        let Task::Reduce { inputs, .. } = &first else {
            unreachable!()
        };
        assert_eq!(inputs.len(), 4, "a reduce reads every map's output");
        // n3 takes partition 1; then a backup of partition 0 (a straggler: n1 has run it for
        // 300 ms and more) goes to n2.
        rig.with(45, |ctx| n.on_message(ctx, NodeId(3), heartbeat(1, None)));
        assert!(matches!(
            assigned(&rig.sent()),
            Some(Task::Reduce { part: 1, .. })
        ));
        rig.with(500, |ctx| {
            n.on_message(
                ctx,
                NodeId(1),
                MrMsg::Heartbeat {
                    incarnation: 1,
                    running: Some(first.clone()),
                    report: None,
                },
            )
        });
        rig.with(501, |ctx| n.on_message(ctx, NodeId(2), heartbeat(1, None)));
        let backup = assigned(&rig.sent()).expect("a task for n2");
        rig.with(502, |ctx| {
            n.on_message(ctx, NodeId(2), heartbeat(1, Some(reduce_done(&backup))))
        });
        let granted = renames(&rig.sent());
        assert_eq!(
            granted,
            vec![backup.attempt()],
            "the first to finish is granted"
        );
        rig.with(503, |ctx| {
            n.on_message(ctx, NodeId(1), heartbeat(1, Some(reduce_done(&first))))
        });
        let second = renames(&rig.sent());
        assert_eq!(second.is_empty(), fenced, "bugs {bugs:?}");
    }
}

#[test]
fn a_restarted_coordinator_keeps_its_grants_unless_the_bug_keeps_them_in_memory() {
    for (bugs, kept) in [
        (vec![], true),
        (vec![bugs::COORDINATOR_STATE_IN_MEMORY], false),
    ] {
        let (mut rig, mut n, first) = coordinator_in_reduce(&bugs);
        rig.with(50, |ctx| {
            n.on_message(ctx, NodeId(1), heartbeat(1, Some(reduce_done(&first))))
        });
        rig.sent();
        rig.disk.sync_all();
        rig.disk.crash();
        let opts = MrOptions::default();
        let mut n = rig.with(60, |ctx| MrNode::start(&opts, ctx));
        rig.sent();
        // The restarted coordinator re-sends the unconfirmed rename on its tick.
        rig.with(120, |ctx| n.on_timer(ctx, coordinator::TICK_TIMER));
        let again = renames(&rig.sent());
        assert_eq!(again == vec![first.attempt()], kept, "bugs {bugs:?}");
        // The bug has forgotten the maps too: an idle worker gets a map again.
        rig.with(130, |ctx| n.on_message(ctx, NodeId(2), heartbeat(1, None)));
        let next = assigned(&rig.sent());
        assert_eq!(matches!(next, Some(Task::Map { .. })), !kept, "{next:?}");
    }
}

#[test]
fn a_restarted_worker_has_its_finished_maps_run_again() {
    for (bugs, rerun) in [(vec![], true), (vec![bugs::FORGET_LOST_MAP_OUTPUT], false)] {
        let (mut rig, mut n, _) = coordinator_in_reduce(&bugs);
        // n1 comes back as incarnation 2: its disk's map outputs are gone.
        rig.with(60, |ctx| n.on_message(ctx, NodeId(1), heartbeat(2, None)));
        let next = assigned(&rig.sent());
        assert_eq!(matches!(next, Some(Task::Map { .. })), rerun, "{next:?}");
    }
}

#[test]
fn reduces_wait_for_every_map_unless_the_bug_starts_them_early() {
    for (bugs, early) in [(vec![], false), (vec![bugs::REDUCE_BEFORE_MAPS_DONE], true)] {
        let opts = MrOptions {
            maps: 3,
            ..MrOptions::default()
        };
        let mut rig = Rig::on(0, &bugs);
        let mut n = rig.with(0, |ctx| MrNode::start(&opts, ctx));
        let from = ReplyTo {
            to: Addr::Client(ClientId(0)),
            req_id: 1,
        };
        rig.with(1, |ctx| {
            n.on_request(ctx, from, MrRequest::Submit { job: "j".into() })
        });
        rig.with(2, |ctx| n.on_message(ctx, NodeId(1), heartbeat(1, None)));
        let Some(Task::Map { job, map, attempt }) = assigned(&rig.sent()) else {
            panic!("a map first");
        };
        let done = Report::MapDone { job, map, attempt };
        rig.with(3, |ctx| {
            n.on_message(ctx, NodeId(1), heartbeat(1, Some(done)))
        });
        // n2 and n3 take the other two maps; then n1 is idle again.
        for w in [2, 3] {
            rig.with(4, |ctx| n.on_message(ctx, NodeId(w), heartbeat(1, None)));
        }
        rig.sent();
        rig.with(5, |ctx| n.on_message(ctx, NodeId(1), heartbeat(1, None)));
        let next = assigned(&rig.sent());
        assert_eq!(matches!(next, Some(Task::Reduce { .. })), early, "{next:?}");
    }
}

#[test]
fn forged_senders_are_refused() {
    let opts = MrOptions::default();
    // A client-facing request at the wrong node, a rename from a worker, an assignment from a
    // worker: each dropped with a note or refused.
    let mut store = Rig::on(4, &[]);
    let mut s = store.with(0, |ctx| MrNode::start(&opts, ctx));
    let rename = MrMsg::Rename {
        job: "j".into(),
        part: 0,
        attempt: 1,
        records: 0,
        inputs: vec![],
    };
    store.with(1, |ctx| s.on_message(ctx, NodeId(2), rename));
    assert!(
        store
            .out
            .iter()
            .all(|o| matches!(o, Output::Note { label, .. } if *label == "mr/unexpected-message"))
    );
    let mut worker = Rig::on(1, &[]);
    let mut w = worker.with(0, |ctx| MrNode::start(&opts, ctx));
    worker.sent();
    let task = Task::Map {
        job: "j".into(),
        map: 0,
        attempt: 1,
    };
    worker.with(1, |ctx| w.on_message(ctx, NodeId(2), MrMsg::Assign(task)));
    assert!(worker.sent().is_empty());
    let opts_bad = MrOptions {
        workers: 2,
        ..MrOptions::default()
    };
    let shape = crate::plugin::Shape {
        nodes: 5,
        clients: 2,
    };
    assert!(opts_bad.validate(&shape).is_err());
    assert!(MrOptions::default().validate(&shape).is_ok());
}

fn arb_msg() -> impl Strategy<Value = (u32, MrMsg)> {
    let job = "[a-z0-9/-]{0,80}";
    let counts = proptest::collection::btree_map("[a-z]{1,8}", any::<u64>(), 0..6);
    let input =
        (any::<u32>(), any::<u64>(), any::<u32>()).prop_map(|(map, map_attempt, worker)| Input {
            map,
            map_attempt,
            worker,
        });
    let task = prop_oneof![
        (job, any::<u32>(), any::<u64>()).prop_map(|(job, map, attempt)| Task::Map {
            job,
            map,
            attempt
        }),
        (
            job,
            any::<u32>(),
            any::<u64>(),
            proptest::collection::vec(input, 0..80)
        )
            .prop_map(|(job, part, attempt, inputs)| Task::Reduce {
                job,
                part,
                attempt,
                inputs
            }),
    ];
    let pairs = proptest::collection::vec((any::<u32>(), any::<u64>()), 0..80);
    let report = prop_oneof![
        (job, any::<u32>(), any::<u64>()).prop_map(|(job, map, attempt)| Report::MapDone {
            job,
            map,
            attempt
        }),
        (job, any::<u32>(), any::<u64>(), any::<u32>(), pairs.clone()).prop_map(
            |(job, part, attempt, records, inputs)| Report::ReduceDone {
                job,
                part,
                attempt,
                records,
                inputs
            }
        ),
        (job, any::<u32>(), any::<u64>(), pairs.clone()).prop_map(|(job, part, attempt, lost)| {
            Report::ReduceFailed {
                job,
                part,
                attempt,
                lost,
            }
        }),
    ];
    let records = proptest::collection::vec(("[a-z]{1,8}", any::<u64>()), 0..8);
    let msg = prop_oneof![
        (
            any::<u32>(),
            proptest::option::of(task.clone()),
            proptest::option::of(report)
        )
            .prop_map(|(incarnation, running, report)| MrMsg::Heartbeat {
                incarnation,
                running,
                report
            }),
        task.prop_map(MrMsg::Assign),
        any::<u64>().prop_map(|attempt| MrMsg::ReportAck { attempt }),
        (job, any::<u32>(), any::<u64>(), any::<u32>()).prop_map(
            |(job, map, map_attempt, part)| {
                MrMsg::Fetch {
                    job,
                    map,
                    map_attempt,
                    part,
                }
            }
        ),
        (
            job,
            any::<u32>(),
            any::<u64>(),
            proptest::option::of(counts)
        )
            .prop_map(|(job, map, map_attempt, counts)| MrMsg::FetchReply {
                job,
                map,
                map_attempt,
                part: 0,
                counts
            }),
        (job, any::<u32>(), any::<u64>(), any::<u32>(), records).prop_map(
            |(job, part, attempt, index, records)| MrMsg::Chunk {
                job,
                part,
                attempt,
                index,
                records
            }
        ),
        (job, any::<u32>(), any::<u64>(), any::<u32>(), pairs).prop_map(
            |(job, part, attempt, records, inputs)| MrMsg::Rename {
                job,
                part,
                attempt,
                records,
                inputs
            }
        ),
        (job, any::<u32>(), any::<u64>(), any::<bool>()).prop_map(|(job, part, attempt, ok)| {
            MrMsg::RenameReply {
                job,
                part,
                attempt,
                ok,
            }
        }),
    ];
    (0u32..6, msg)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    /// Whatever peers send, no node panics, and the store never binds output it cannot parse.
    #[test]
    fn hostile_messages_never_panic_a_node(
        msgs in proptest::collection::vec(arb_msg(), 1..60),
    ) {
        let opts = MrOptions::default();
        for node in [0u32, 1, 4] {
            let mut rig = Rig::on(node, &[]);
            let mut n = rig.with(0, |ctx| MrNode::start(&opts, ctx));
            for (i, (from, msg)) in msgs.iter().enumerate() {
                rig.with(i as u64 + 1, |ctx| n.on_message(ctx, NodeId(*from), msg.clone()));
                rig.with(i as u64 + 1, |ctx| n.on_timer(ctx, coordinator::TICK_TIMER));
            }
            if let MrNode::Store { store, .. } = &n {
                for f in rig.out.iter().filter_map(|o| match o {
                    Output::Observe { label: "mr/final", value } => Some(value),
                    _ => None,
                }) {
                    let counts: Counts = serde_json::from_value(f["counts"].clone()).unwrap_or_default();
                    prop_assert!(counts.keys().all(|w| corpus::is_word(w)));
                }
                let _ = store;
            }
        }
    }
}

#[test]
fn a_late_fetch_reply_for_another_partition_is_not_taken() {
    let opts = MrOptions::default();
    let mut rig = Rig::on(1, &[]);
    let mut w = rig.with(0, |ctx| MrNode::start(&opts, ctx));
    let inputs = vec![Input {
        map: 0,
        map_attempt: 5,
        worker: 2,
    }];
    let task = Task::Reduce {
        job: "j".into(),
        part: 1,
        attempt: 9,
        inputs,
    };
    rig.with(1, |ctx| w.on_message(ctx, NodeId(0), MrMsg::Assign(task)));
    rig.sent();
    let reply = |part| MrMsg::FetchReply {
        job: "j".into(),
        map: 0,
        map_attempt: 5,
        part,
        counts: Some(Counts::from([("alpha".to_string(), 3)])),
    };
    // Partition 0's answer (to an earlier reduce of this job) is not partition 1's input.
    rig.with(2, |ctx| w.on_message(ctx, NodeId(2), reply(0)));
    let MrNode::Worker(worker) = &w else {
        panic!("n1 is a worker");
    };
    assert!(worker.fetching(), "still waiting for partition 1");
    rig.with(3, |ctx| w.on_message(ctx, NodeId(2), reply(1)));
    let MrNode::Worker(worker) = &w else {
        panic!("n1 is a worker");
    };
    assert!(
        !worker.fetching(),
        "partition 1's answer completes the fetch"
    );
}
