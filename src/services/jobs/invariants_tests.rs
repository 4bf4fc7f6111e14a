//! The job queue's invariants judged on made-up records: each must fail on the records that
//! break its promise and pass on those that keep it.

use super::invariants::{
    AckedEnqueueNotLost, EffectExactlyOnce, OneWorkerAtATime, SlotFiresOnce, SlotsNoneSkipped,
};
use crate::counters::Counters;
use crate::event::{Event, EventRecord};
use crate::history::{HistoryEvent, OpType, Process};
use crate::ids::{Incarnation, NodeId};
use crate::invariants::{Invariant, Outcome, RunRecords};
use crate::time::SimTime;
use serde_json::{Value, json};
use std::collections::BTreeMap;

fn line(process: u64, kind: OpType, name: &str, ms: u64) -> HistoryEvent {
    HistoryEvent {
        process: Process::Int(process),
        kind,
        f: "enqueue".into(),
        key: Some(json!(name)),
        value: None,
        time: Some(ms * 1_000_000),
    }
}

fn observe(ms: u64, node: u32, label: &str, value: Value) -> EventRecord {
    EventRecord {
        time_ns: SimTime::from_ms(ms),
        event: Event::Observe {
            node: NodeId(node),
            incarnation: Incarnation(1),
            label: label.into(),
            value,
        },
    }
}

fn effect(ms: u64, name: &str, slot: Option<u64>, token: u64) -> EventRecord {
    observe(
        ms,
        5,
        "jobs/effect",
        json!({"job": 1, "name": name, "key": name, "slot": slot, "token": token, "worker": 3, "outcome": "applied"}),
    )
}

fn judge(inv: &dyn Invariant, history: &[HistoryEvent], events: &[EventRecord]) -> Outcome {
    let history = crate::history::History {
        events: history.to_vec(),
    };
    let (counters, expect) = (Counters::default(), BTreeMap::new());
    let records = RunRecords {
        history: &history,
        events,
        counters: &counters,
        events_overflowed: false,
        heal_at: SimTime::from_ms(1000),
        liveness_ms: 4000,
        clients: 2,
        expect: &expect,
        scheduled: &[],
    };
    inv.check(&records)
}

#[test]
fn the_invariants_judge_made_up_records() {
    let history = [
        line(0, OpType::Invoke, "c0-1", 10),
        line(0, OpType::Ok, "c0-1", 20),
    ];
    let once = [effect(100, "c0-1", None, 1)];
    let twice = [effect(100, "c0-1", None, 1), effect(300, "c0-1", None, 2)];
    assert_eq!(judge(&EffectExactlyOnce, &history, &once), Outcome::Pass);
    assert!(matches!(
        judge(&EffectExactlyOnce, &history, &twice),
        Outcome::Fail(_)
    ));
    // An effect nobody asked for.
    assert!(matches!(
        judge(&EffectExactlyOnce, &[], &once),
        Outcome::Fail(_)
    ));
    assert_eq!(
        judge(
            &AckedEnqueueNotLost {
                settle_ms: 2000,
                at_slack_ms: 1000
            },
            &history,
            &once
        ),
        Outcome::Pass
    );
    assert!(matches!(
        judge(
            &AckedEnqueueNotLost {
                settle_ms: 2000,
                at_slack_ms: 1000
            },
            &history,
            &[]
        ),
        Outcome::Fail(_)
    ));
    // A job to run 500 ms later, acknowledged at 20 ms: due by 1520 ms with the slack, well
    // before the cutoff (3000 ms), so it must have run; acknowledged at 2000 ms, it need not.
    let later = |ms| HistoryEvent {
        value: Some(json!({"delay_ms": 500})),
        ..line(1, OpType::Invoke, "c1-1", ms)
    };
    let not_lost = AckedEnqueueNotLost {
        settle_ms: 2000,
        at_slack_ms: 1000,
    };
    let early = [later(10), line(1, OpType::Ok, "c1-1", 20)];
    match judge(&not_lost, &early, &[]) {
        Outcome::Fail(m) => assert!(m.contains("to run 500 ms later"), "{m}"),
        other => panic!("a due job that never ran passed: {other:?}"),
    }
    let late = [later(1990), line(1, OpType::Ok, "c1-1", 2000)];
    assert_eq!(judge(&not_lost, &late, &[]), Outcome::Pass);
    // A worker acting on token 1 after another leased the job with token 2.
    let lease = |ms, token, worker| {
        observe(
            ms,
            worker,
            "jobs/lease",
            json!({"job": 1, "token": token, "worker": worker}),
        )
    };
    let act = |ms, token, worker| {
        observe(
            ms,
            worker,
            "jobs/act",
            json!({"job": 1, "token": token, "worker": worker}),
        )
    };
    let fine = [
        lease(10, 1, 3),
        act(40, 1, 3),
        lease(500, 2, 4),
        act(530, 2, 4),
    ];
    assert_eq!(judge(&OneWorkerAtATime, &[], &fine), Outcome::Pass);
    let late = [lease(10, 1, 3), lease(500, 2, 4), act(530, 1, 3)];
    assert!(matches!(
        judge(&OneWorkerAtATime, &[], &late),
        Outcome::Fail(_)
    ));
    // Slots: doubled, skipped, or all there.
    let slots = |v: &[u64]| -> Vec<EventRecord> {
        v.iter()
            .map(|&s| effect(100 * s, &format!("slot-{s}"), Some(s), 1))
            .chain([effect(1500, "slot-99", Some(99), 1)])
            .collect()
    };
    let skip = SlotsNoneSkipped {
        every_ms: 500,
        settle_ms: 2000,
    };
    assert!(matches!(
        judge(&SlotFiresOnce, &[], &slots(&[1, 2, 2])),
        Outcome::Fail(_)
    ));
    assert!(matches!(
        judge(&skip, &[], &slots(&[1, 3])),
        Outcome::Fail(_)
    ));
    let all: Vec<u64> = (1..=99).collect();
    let mut contiguous: Vec<EventRecord> = all[..98]
        .iter()
        .map(|&s| effect(10 * s, &format!("slot-{s}"), Some(s), 1))
        .collect();
    contiguous.push(effect(1500, "slot-99", Some(99), 1));
    assert_eq!(judge(&skip, &[], &contiguous), Outcome::Pass);
}
