//! Differential test: the checker agrees with a brute-force checker that tries every ordering of
//! small random histories (≤ 8 operations, some of unknown outcome, some failed).
//!
//! The brute force shares no code with the checker: its own register/kv semantics on JSON values
//! and its own reading of Jepsen semantics (a `fail` never happened; an `info` or never-completed
//! operation may take effect at any point after its invocation, or never).

use faultlab::check::{CheckOptions, ModelKind, SearchStrategy, Verdict, check};
use faultlab::history::{History, HistoryEvent, OpType, Process};
use proptest::prelude::*;
use serde_json::{Value, json};
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
struct Spec {
    process: u64,
    f: &'static str,
    key: Option<u64>,
    input: Option<Value>,
    output: Option<Value>,
    ending: OpType,
}

fn small_value() -> impl Strategy<Value = Value> {
    prop_oneof![Just(Value::Null), (0..3i64).prop_map(|v| json!(v))]
}

/// How an operation ends: mostly `ok`; `Invoke` = never completes.
fn ending() -> impl Strategy<Value = OpType> {
    proptest::sample::select(vec![
        OpType::Ok,
        OpType::Ok,
        OpType::Ok,
        OpType::Info,
        OpType::Fail,
        OpType::Invoke,
    ])
}

fn spec(keys: u64, with_append: bool) -> impl Strategy<Value = Spec> {
    let fs: Vec<&'static str> = if with_append {
        vec!["read", "write", "cas", "append"]
    } else {
        vec!["read", "write", "cas"]
    };
    (
        0..4u64,
        proptest::sample::select(fs),
        0..keys,
        small_value(),
        small_value(),
        small_value(),
        ending(),
    )
        .prop_map(move |(process, f, key, a, b, out, ending)| {
            let input = match f {
                "read" => None,
                "write" => Some(a),
                "cas" => Some(json!([a, b])),
                _ => Some(json!(["x", "y", "z"][(process % 3) as usize])),
            };
            let output = match f {
                "read" if with_append => Some(proptest_string(&out)),
                "read" => Some(out),
                _ => None,
            };
            Spec {
                process,
                f,
                key: with_append.then_some(key),
                input,
                output,
                ending,
            }
        })
}

/// Mutex operations on one of two locks (ops with different keys are independent mutexes).
fn mutex_spec() -> impl Strategy<Value = Spec> {
    (
        0..4u64,
        proptest::sample::select(vec!["acquire", "release"]),
        0..2u64,
        ending(),
    )
        .prop_map(|(process, f, key, ending)| Spec {
            process,
            f,
            key: Some(key),
            input: None,
            output: None,
            ending,
        })
}

/// Reads in the kv case return strings built from the appended letters (or null).
fn proptest_string(v: &Value) -> Value {
    match v {
        Value::Null => Value::Null,
        other => json!(["x", "xy", "y", "yx"][other.as_u64().unwrap_or(0) as usize % 4]),
    }
}

/// Lays the operations out in real time: `order` decides which process moves next. `Invoke` as
/// an ending means the operation never completes (only allowed as a process's last operation).
fn history(specs: &[Spec], order: &[u8]) -> History {
    let mut queues: BTreeMap<u64, Vec<Spec>> = BTreeMap::new();
    for s in specs {
        queues.entry(s.process).or_default().push(s.clone());
    }
    for queue in queues.values_mut() {
        queue.reverse();
    }
    let mut open: BTreeMap<u64, Spec> = BTreeMap::new();
    let mut h = History::default();
    let event = |s: &Spec, kind: OpType, value: Option<Value>| HistoryEvent {
        process: Process::Int(s.process),
        kind,
        f: s.f.to_string(),
        key: s.key.map(|k| json!(k)),
        value,
        time: None,
    };
    let mut choices = order.iter().cycle();
    loop {
        // Processes that can move: complete an open operation or invoke the next one.
        let movable: Vec<u64> = queues
            .iter()
            .filter(|(p, q)| match open.get(p) {
                Some(s) => s.ending != OpType::Invoke,
                None => !q.is_empty(),
            })
            .map(|(p, _)| *p)
            .collect();
        let Some(&first) = movable.first() else {
            break;
        };
        let pick = *choices.next().unwrap_or(&0) as usize;
        let p = movable.get(pick % movable.len()).copied().unwrap_or(first);
        if let Some(s) = open.remove(&p) {
            let value = if s.ending == OpType::Ok {
                s.output.clone()
            } else {
                None
            };
            h.push(event(&s, s.ending, value));
        } else if let Some(mut s) = queues.get_mut(&p).and_then(Vec::pop) {
            if s.ending == OpType::Invoke && !queues[&p].is_empty() {
                s.ending = OpType::Info;
            }
            h.push(event(&s, OpType::Invoke, s.input.clone()));
            open.insert(p, s);
        }
    }
    h
}

/// An operation as the brute force sees it.
struct Op {
    key: Option<u64>,
    f: String,
    input: Option<Value>,
    output: Option<Value>,
    known: bool,
    invoked_at: usize,
    completed_at: Option<usize>,
}

fn ops_of(h: &History) -> Vec<Op> {
    let mut ops: Vec<Op> = Vec::new();
    let mut open: BTreeMap<String, usize> = BTreeMap::new();
    let mut failed = Vec::new();
    for (i, e) in h.events.iter().enumerate() {
        let p = e.process.to_string();
        if e.kind == OpType::Invoke {
            open.insert(p, ops.len());
            ops.push(Op {
                key: e.key.as_ref().and_then(Value::as_u64),
                f: e.f.clone(),
                input: e.value.clone(),
                output: None,
                known: false,
                invoked_at: i,
                completed_at: None,
            });
        } else if let Some(slot) = open.remove(&p) {
            match e.kind {
                OpType::Ok => {
                    ops[slot].known = true;
                    ops[slot].output = e.value.clone();
                    ops[slot].completed_at = Some(i);
                }
                OpType::Fail => failed.push(slot),
                _ => {}
            }
        }
    }
    ops.into_iter()
        .enumerate()
        .filter(|(i, _)| !failed.contains(i))
        .map(|(_, op)| op)
        .collect()
}

/// The reference semantics: the next value, or None if the operation cannot happen.
fn apply(value: &Value, op: &Op) -> Option<Value> {
    let input = op.input.clone().unwrap_or(Value::Null);
    match op.f.as_str() {
        "read" if !op.known => Some(value.clone()),
        "read" => (op.output.clone().unwrap_or(Value::Null) == *value).then(|| value.clone()),
        "write" => Some(input),
        "cas" => (input[0] == *value).then(|| input[1].clone()),
        // A mutex is free (null) or held (true).
        "acquire" => (*value != json!(true)).then_some(json!(true)),
        "release" => (*value == json!(true)).then_some(json!(false)),
        "append" => match value {
            Value::Null => Some(input),
            Value::String(s) => Some(json!(format!("{s}{}", input.as_str()?))),
            _ => None,
        },
        _ => None,
    }
}

/// Tries every order of every subset of the unknown operations.
fn brute_force(ops: &[Op]) -> bool {
    fn go(ops: &[Op], placed: &mut Vec<bool>, state: &BTreeMap<Option<u64>, Value>) -> bool {
        if ops.iter().zip(placed.iter()).all(|(op, &p)| p || !op.known) {
            return true;
        }
        for i in 0..ops.len() {
            if placed[i] {
                continue;
            }
            // Every completed operation that returned before this one was invoked goes first.
            let blocked = ops.iter().enumerate().any(|(j, other)| {
                !placed[j] && other.completed_at.is_some_and(|c| c < ops[i].invoked_at)
            });
            if blocked {
                continue;
            }
            let current = state.get(&ops[i].key).cloned().unwrap_or(Value::Null);
            let Some(next) = apply(&current, &ops[i]) else {
                continue;
            };
            let mut state = state.clone();
            state.insert(ops[i].key, next);
            placed[i] = true;
            let found = go(ops, placed, &state);
            placed[i] = false;
            if found {
                return true;
            }
        }
        false
    }
    go(ops, &mut vec![false; ops.len()], &BTreeMap::new())
}

/// Every placement strategy on its own, and the race of both, must agree with the brute force.
fn agree(specs: &[Spec], order: &[u8], model: ModelKind) -> Result<(), TestCaseError> {
    let h = history(specs, order);
    let expected = brute_force(&ops_of(&h));
    let mut text = Vec::new();
    h.write_jsonl(&mut text)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let shown = String::from_utf8_lossy(&text);
    for strategy in [
        SearchStrategy::Race,
        SearchStrategy::JustInTime,
        SearchStrategy::AtInfinity,
    ] {
        let options = CheckOptions {
            strategy,
            ..CheckOptions::default()
        };
        let report = check(&h, model, &options)
            .map_err(|e| TestCaseError::fail(format!("check failed: {e}")))?;
        match report.verdict {
            Verdict::Linearizable => prop_assert!(
                expected,
                "{strategy:?}: linearizable, brute force: not\n{shown}"
            ),
            Verdict::NotLinearizable(_) => prop_assert!(
                !expected,
                "{strategy:?}: not, brute force: linearizable\n{shown}"
            ),
            Verdict::Unknown(reason) => {
                prop_assert!(false, "{strategy:?}: unknown on a tiny history: {reason:?}")
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn register_agrees_with_brute_force(
        specs in proptest::collection::vec(spec(1, false), 1..=8),
        order in proptest::collection::vec(any::<u8>(), 1..24),
    ) {
        agree(&specs, &order, ModelKind::Register)?;
    }

    #[test]
    fn kv_with_append_agrees_with_brute_force(
        specs in proptest::collection::vec(spec(2, true), 1..=8),
        order in proptest::collection::vec(any::<u8>(), 1..24),
    ) {
        agree(&specs, &order, ModelKind::Kv)?;
    }

    #[test]
    fn mutex_agrees_with_brute_force(
        specs in proptest::collection::vec(mutex_spec(), 1..=8),
        order in proptest::collection::vec(any::<u8>(), 1..24),
    ) {
        agree(&specs, &order, ModelKind::Mutex)?;
    }
}
