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

/// Inserts a second, overlapping grant: right after the first `ok` acquire, another process
/// acquires and is granted (token `token`, if given) while the first still holds the lock.
pub fn overlapping_grant(history: &History, token: Option<i64>) -> Option<History> {
    let at = history
        .events
        .iter()
        .position(|e| e.kind == OpType::Ok && e.f == "acquire")?;
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
