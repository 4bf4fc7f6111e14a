//! MapReduce's invariants judged on made-up records: each must fail on the records that break
//! it and pass on those that keep it.

use super::corpus::{self, Counts};
use super::invariants::{
    self, JobsComplete, LostMapOutputRecomputed, NoMapOutputSkipped, OutputEqualsSequential,
    PartitionCommittedOnce,
};
use super::options::MrOptions;
use crate::counters::Counters;
use crate::event::{Event, EventRecord};
use crate::history::{HistoryEvent, OpType, Process};
use crate::ids::{Incarnation, NodeId};
use crate::invariants::{Invariant, Outcome, RunRecords};
use crate::time::SimTime;
use serde_json::{Value, json};
use std::collections::BTreeMap;

fn line(
    process: u64,
    kind: OpType,
    f: &str,
    job: &str,
    ms: u64,
    value: Option<Value>,
) -> HistoryEvent {
    HistoryEvent {
        process: Process::Int(process),
        kind,
        f: f.into(),
        key: Some(json!(job)),
        value,
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

fn final_rec(ms: u64, job: &str, part: u32, attempt: u64, counts: &Counts) -> EventRecord {
    let inputs: Vec<(u32, u64)> = (0..4).map(|m| (m, 1)).collect();
    observe(
        ms,
        4,
        "mr/final",
        json!({"job": job, "part": part, "attempt": attempt, "counts": counts, "inputs": inputs}),
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
        liveness_ms: 6000,
        clients: 2,
        expect: &expect,
        scheduled: &[],
    };
    inv.check(&records)
}

fn failed(o: Outcome) -> bool {
    matches!(o, Outcome::Fail(_))
}

#[test]
fn the_invariants_judge_made_up_records() {
    let opts = MrOptions::default();
    let want0 = corpus::expected(&opts, "c0-1", 0);
    let want1 = corpus::expected(&opts, "c0-1", 1);
    let good = [
        final_rec(100, "c0-1", 0, 7, &want0),
        final_rec(120, "c0-1", 1, 8, &want1),
    ];
    let mut partial = want0.clone();
    let first = partial.keys().next().cloned().unwrap_or_default();
    partial.remove(&first);
    let submit = [
        line(0, OpType::Invoke, "submit", "c0-1", 10, None),
        line(0, OpType::Ok, "submit", "c0-1", 20, None),
    ];
    let eq = OutputEqualsSequential { opts: opts.clone() };
    assert_eq!(judge(&eq, &submit, &good), Outcome::Pass);
    assert!(failed(judge(
        &eq,
        &submit,
        &[final_rec(100, "c0-1", 0, 7, &partial)]
    )));
    // A read returning a partial partition as committed.
    let read = [
        line(1, OpType::Invoke, "read", "c0-1", 30, None),
        line(
            1,
            OpType::Ok,
            "read",
            "c0-1",
            40,
            Some(json!({"parts": {"0": partial}})),
        ),
    ];
    assert!(failed(judge(&eq, &read, &good)));
    assert!(
        invariants::history_checks(
            &opts,
            &crate::history::History {
                events: read.to_vec()
            }
        )[0]
        .failed()
    );
    // Committed twice by two attempts (the same attempt twice is a retry, not a commit).
    let once = PartitionCommittedOnce;
    assert_eq!(judge(&once, &[], &good), Outcome::Pass);
    let twice = [
        final_rec(100, "c0-1", 0, 7, &want0),
        final_rec(150, "c0-1", 0, 9, &want0),
    ];
    assert!(failed(judge(&once, &[], &twice)));
    let retry = [
        final_rec(100, "c0-1", 0, 7, &want0),
        final_rec(150, "c0-1", 0, 7, &want0),
    ];
    assert_eq!(judge(&once, &[], &retry), Outcome::Pass);
    // A commit that reduced three of four maps.
    let skipped = NoMapOutputSkipped { maps: 4 };
    assert_eq!(judge(&skipped, &[], &good), Outcome::Pass);
    let three = observe(
        100,
        4,
        "mr/final",
        json!({"job": "c0-1", "part": 0, "attempt": 7, "counts": want0, "inputs": [[0, 1], [1, 1], [3, 1]]}),
    );
    assert!(failed(judge(&skipped, &[], &[three])));
    // A submitted job never completed; one partition is not enough.
    let complete = JobsComplete { opts: opts.clone() };
    assert_eq!(judge(&complete, &submit, &good), Outcome::Pass);
    assert!(failed(judge(&complete, &submit, &good[..1])));
    // A map written by n2, lost in its crash, never written again, the job never complete.
    let lost = LostMapOutputRecomputed { opts: opts.clone() };
    let written = observe(
        50,
        2,
        "mr/map-written",
        json!({"job": "c0-1", "map": 1, "attempt": 5, "worker": 2}),
    );
    let crash = EventRecord {
        time_ns: SimTime::from_ms(60),
        event: Event::Crash {
            node: NodeId(2),
            incarnation: Incarnation(1),
            unsynced_bytes_lost: 10,
        },
    };
    assert!(failed(judge(
        &lost,
        &submit,
        &[written.clone(), crash.clone()]
    )));
    let rewritten = observe(
        90,
        3,
        "mr/map-written",
        json!({"job": "c0-1", "map": 1, "attempt": 6, "worker": 3}),
    );
    assert_eq!(
        judge(&lost, &submit, &[written.clone(), crash.clone(), rewritten]),
        Outcome::Pass
    );
    let mut then_done = vec![written, crash];
    then_done.extend(good.iter().cloned());
    assert_eq!(judge(&lost, &submit, &then_done), Outcome::Pass);
}
