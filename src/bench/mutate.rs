//! Targeted mutations that turn a linearizable history into one that is not, for tests and for
//! the benchmark's "violation at the end" cases. Each returns `None` if the history has no place
//! where the mutation is guaranteed to be a violation.

use crate::history::{History, HistoryEvent, OpType, Process};
use serde_json::{Value, json};

/// Makes the last `ok` read return a value no operation ever wrote.
pub fn read_unwritten(history: &History) -> Option<History> {
    let mut out = history.clone();
    let read = out
        .events
        .iter_mut()
        .rev()
        .find(|e| e.kind == OpType::Ok && (e.f == "read" || e.f == "get"))?;
    read.value = Some(json!("never-written"));
    Some(out)
}

/// Appends, at a quiescent point, a completed write of `fresh` followed by a read of the value
/// the register held before it (`stale`). `stale` must differ from `fresh`, and no operation of
/// unknown outcome may be able to write `stale` again, or the read would be legal.
pub fn stale_read_after_write(history: &History, stale: Value, fresh: Value) -> History {
    let mut out = history.clone();
    let process = Process::Name("mutant".to_string());
    let event = |kind, f: &str, value| HistoryEvent {
        process: process.clone(),
        kind,
        f: f.to_string(),
        key: None,
        value,
        time: None,
    };
    out.push(event(OpType::Invoke, "write", Some(fresh.clone())));
    out.push(event(OpType::Ok, "write", Some(fresh)));
    out.push(event(OpType::Invoke, "read", None));
    out.push(event(OpType::Ok, "read", Some(stale)));
    out
}

/// Inserts a second, overlapping grant: right after an `ok` acquire, another process acquires
/// and is granted (token `token`, if given) while the first still holds the lock. The point is
/// chosen where no release overlapped that acquire and none ever ended with an unknown outcome:
/// without owners (`mutex`), such a release could legitimately free the lock in between.
pub fn overlapping_grant(history: &History, token: Option<i64>) -> Option<History> {
    let mut releasing = std::collections::BTreeSet::new();
    // Acquires in flight, and whether a release overlapped them.
    let mut acquiring = std::collections::BTreeMap::new();
    let mut unknown_release = false;
    let mut at = None;
    for (i, e) in history.events.iter().enumerate() {
        match (e.kind, e.f.as_str()) {
            (OpType::Invoke, "release") => {
                releasing.insert(&e.process);
                acquiring.values_mut().for_each(|clean| *clean = false);
            }
            (OpType::Info, "release") => unknown_release = true,
            (_, "release") => {
                releasing.remove(&e.process);
            }
            (OpType::Invoke, "acquire") => {
                acquiring.insert(&e.process, releasing.is_empty());
            }
            (OpType::Ok, "acquire") => {
                let clean = acquiring.remove(&e.process).unwrap_or(false);
                if clean && releasing.is_empty() && !unknown_release {
                    at = Some(i);
                    break;
                }
            }
            (_, "acquire") => {
                acquiring.remove(&e.process);
            }
            _ => {}
        }
    }
    let at = at?;
    let process = Process::Name("intruder".to_string());
    let event = |kind, value| HistoryEvent {
        process: process.clone(),
        kind,
        f: "acquire".to_string(),
        key: None,
        value,
        time: None,
    };
    let mut out = history.clone();
    out.events.insert(at + 1, event(OpType::Invoke, None));
    out.events
        .insert(at + 2, event(OpType::Ok, token.map(|t| json!(t))));
    Some(out)
}

/// Makes the last `ok` read that allows it return a stale value: one whose every writer completed
/// before some other completed write began, which itself completed before the read began. The value chosen
/// is the most recently overwritten one, so a checker has to go as deep as possible into the
/// history to refute it — a stale read from a deposed leader, not a value from nowhere.
pub fn stale_last_read(history: &History) -> Option<History> {
    struct Op<'a> {
        f: &'a str,
        sets: Option<Value>,
        call: usize,
        ret: Option<usize>,
    }
    let mut open: std::collections::BTreeMap<&Process, usize> = Default::default();
    let mut ops: Vec<Op> = Vec::new();
    for (i, e) in history.events.iter().enumerate() {
        if e.kind == OpType::Invoke {
            let sets = match e.f.as_str() {
                "write" | "put" => e.value.clone(),
                "cas" => e.value.as_ref().and_then(|v| v.get(1).cloned()),
                _ => None,
            };
            open.insert(&e.process, ops.len());
            ops.push(Op {
                f: &e.f,
                sets,
                call: i,
                ret: None,
            });
        } else if let Some(at) = open.remove(&e.process) {
            match e.kind {
                OpType::Ok => ops[at].ret = Some(i),
                // A failed operation never happened.
                OpType::Fail => ops[at].sets = None,
                _ => {}
            }
        }
    }
    let values: Vec<&Value> =
        ops.iter()
            .filter_map(|op| op.sets.as_ref())
            .fold(Vec::new(), |mut seen, v| {
                if !seen.contains(&v) {
                    seen.push(v);
                }
                seen
            });
    let stale_for = |read_call: usize, read_ret: usize| {
        // The last return of `value`'s writers that could precede the read; `None` if one of
        // them may still be in flight (it could take effect right before the read).
        let last_write = |value: &Value| {
            ops.iter()
                .filter(|op| op.call < read_ret && op.sets.as_ref() == Some(value))
                .try_fold(0, |last, op| op.ret.map(|r| last.max(r)))
        };
        let overwritten_before_read = |value: &Value, after: usize| {
            ops.iter().any(|op| {
                op.call > after
                    && op.ret.is_some_and(|r| r < read_call)
                    && op.sets.as_ref().is_some_and(|v| v != value)
            })
        };
        values
            .iter()
            .filter_map(|&value| Some((value, last_write(value)?)))
            .filter(|&(value, last)| {
                last > 0 && last < read_call && overwritten_before_read(value, last)
            })
            .max_by_key(|&(_, last)| last)
            .map(|(value, _)| value)
    };
    // The last read that can be made stale (a read in flight for most of the history cannot).
    let (read_ret, stale) = ops
        .iter()
        .rev()
        .filter(|op| op.f == "read" || op.f == "get")
        .filter_map(|op| Some((op.ret?, stale_for(op.call, op.ret?)?)))
        .next()?;
    let mut out = history.clone();
    out.events[read_ret].value = Some(stale.clone());
    Some(out)
}
