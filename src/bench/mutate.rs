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
