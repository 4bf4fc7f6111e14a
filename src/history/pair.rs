//! Pairing: turns a history's lines into operations (an invocation plus its completion).
//!
//! Jepsen semantics: `fail` = the operation did not take effect, so it is dropped; `info`, or an
//! invocation that never completes, = unknown outcome (it may take effect at any time after its
//! invocation, or never). After an `info` a process may invoke again (Jepsen gives the crashed
//! process a new id; other tools reuse it, and both are accepted). Events of Jepsen's fault
//! injector (process `"nemesis"`) are not client operations and are skipped.

use super::error::{HistoryError, LineProblem};
use super::read::Source;
use super::{History, HistoryEvent, OpType, Process};
use serde_json::Value;
use std::collections::BTreeMap;

/// How an operation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Outcome {
    /// Completed `ok`: it took effect, and its output is known.
    Ok,
    /// Completed `info`: unknown outcome.
    Info,
    /// Never completed: unknown outcome.
    Pending,
}

impl Outcome {
    /// True for `ok`: the operation took effect and its output is known.
    pub fn is_known(self) -> bool {
        self == Outcome::Ok
    }

    /// `ok`, `info` or `pending`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Info => "info",
            Outcome::Pending => "pending",
        }
    }
}

/// One client operation: invocation and (maybe) completion, with their positions and lines.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    /// Who issued it.
    pub process: Process,
    /// The operation's name.
    pub f: String,
    /// The invocation's key, or the completion's when the invocation had none.
    pub key: Option<Value>,
    /// The invocation's `value` (`Some(Null)` = explicit null, `None` = absent).
    pub input: Option<Value>,
    /// The `ok` completion's `value`; `None` for unknown outcomes or an absent field.
    pub output: Option<Value>,
    /// How it ended.
    pub outcome: Outcome,
    /// Index of the invocation event in the history (its real-time position).
    pub invoke_index: usize,
    /// Index of the completion event (`ok` or `info`); `None` when never completed.
    pub complete_index: Option<usize>,
    /// The 1-based line of the invocation.
    pub invoke_line: u32,
    /// The 1-based line of the completion; `None` when it never completed.
    pub complete_line: Option<u32>,
}

/// A history as operations, in invocation order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Paired {
    /// The operations, in invocation order (`fail`s removed).
    pub ops: Vec<Operation>,
    /// Operations that completed `fail` (dropped: they did not take effect).
    pub failed: usize,
    /// Events skipped as not client operations (the Jepsen nemesis).
    pub skipped_events: usize,
}

impl Paired {
    /// How many operations have an unknown outcome.
    pub fn unknown_count(&self) -> usize {
        self.ops.iter().filter(|op| !op.outcome.is_known()).count()
    }
}

/// The process name Jepsen gives its fault injector.
const NEMESIS: &str = "nemesis";

/// Pairs invocations with completions; an error names the offending line.
pub fn pair(history: &History, source: &Source) -> Result<Paired, HistoryError> {
    let mut paired = Paired::default();
    let mut open: BTreeMap<&Process, usize> = BTreeMap::new();
    let mut failed_slots = Vec::new();
    let line_error = |index: usize, problem: LineProblem| HistoryError::Line {
        source_name: source.name.clone(),
        line: source.line_of(index),
        problem,
    };
    for (index, event) in history.events.iter().enumerate() {
        if matches!(&event.process, Process::Name(name) if name == NEMESIS) {
            paired.skipped_events += 1;
            continue;
        }
        if event.kind == OpType::Invoke {
            if let Some(&slot) = open.get(&event.process) {
                let problem = LineProblem::DoubleInvocation {
                    process: event.process.clone(),
                    open_line: paired.ops[slot].invoke_line,
                };
                return Err(line_error(index, problem));
            }
            open.insert(&event.process, paired.ops.len());
            paired
                .ops
                .push(invocation(event, index, source.line_of(index)));
            continue;
        }
        let Some(slot) = open.remove(&event.process) else {
            let problem = LineProblem::CompletionWithoutInvocation {
                process: event.process.clone(),
                kind: event.kind,
            };
            return Err(line_error(index, problem));
        };
        let op = &mut paired.ops[slot];
        complete(op, event, index, source.line_of(index)).map_err(|p| line_error(index, p))?;
        if event.kind == OpType::Fail {
            failed_slots.push(slot);
        }
    }
    paired.failed = failed_slots.len();
    if !failed_slots.is_empty() {
        let mut keep = vec![true; paired.ops.len()];
        for slot in failed_slots {
            keep[slot] = false;
        }
        let mut flags = keep.into_iter();
        paired.ops.retain(|_| flags.next().unwrap_or(true));
    }
    Ok(paired)
}

fn invocation(event: &HistoryEvent, index: usize, line: u32) -> Operation {
    Operation {
        process: event.process.clone(),
        f: event.f.clone(),
        key: event.key.clone(),
        input: event.value.clone(),
        output: None,
        outcome: Outcome::Pending,
        invoke_index: index,
        complete_index: None,
        invoke_line: line,
        complete_line: None,
    }
}

fn complete(
    op: &mut Operation,
    event: &HistoryEvent,
    index: usize,
    line: u32,
) -> Result<(), LineProblem> {
    if event.f != op.f {
        return Err(LineProblem::FunctionMismatch {
            completion: event.f.clone(),
            invoke: op.f.clone(),
            invoke_line: op.invoke_line,
        });
    }
    match (&op.key, &event.key) {
        (Some(invoked), Some(completed)) if invoked != completed => {
            return Err(LineProblem::KeyMismatch {
                completion: completed.to_string(),
                invoke: invoked.to_string(),
                invoke_line: op.invoke_line,
            });
        }
        (None, Some(completed)) => op.key = Some(completed.clone()),
        _ => {}
    }
    op.complete_index = Some(index);
    op.complete_line = Some(line);
    match event.kind {
        OpType::Ok => {
            op.outcome = Outcome::Ok;
            op.output = event.value.clone();
        }
        // An info's value is often an error description (":timed-out"), never an output.
        OpType::Info => op.outcome = Outcome::Info,
        OpType::Fail | OpType::Invoke => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::read::read_jsonl_located;

    fn paired(text: &str) -> Result<Paired, String> {
        let (history, source) =
            read_jsonl_located(text.as_bytes(), "h").map_err(|e| e.to_string())?;
        pair(&history, &source).map_err(|e| e.to_string())
    }

    #[test]
    fn pairs_ok_drops_fail_and_keeps_unknowns() {
        let text = r#"{"process":0,"type":"invoke","f":"write","value":1}
{"process":1,"type":"invoke","f":"cas","value":[1,2]}
{"process":0,"type":"ok","f":"write","value":1}
{"process":1,"type":"fail","f":"cas","value":[1,2]}
{"process":"nemesis","type":"info","f":"start"}
{"process":2,"type":"invoke","f":"read","value":null}
{"process":2,"type":"info","f":"read","value":"timed-out"}
{"process":2,"type":"invoke","f":"read"}
{"process":3,"type":"invoke","f":"write","value":4}
"#;
        let p = paired(text).expect("valid");
        assert_eq!(p.failed, 1);
        assert_eq!(p.skipped_events, 1);
        let summary: Vec<_> = p
            .ops
            .iter()
            .map(|op| (op.f.as_str(), op.outcome, op.invoke_line, op.complete_line))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("write", Outcome::Ok, 1, Some(3)),
                ("read", Outcome::Info, 6, Some(7)),
                ("read", Outcome::Pending, 8, None),
                ("write", Outcome::Pending, 9, None),
            ]
        );
        assert_eq!(p.ops[1].output, None, "an info's value is not an output");
    }

    #[test]
    fn structural_errors_name_the_line() {
        let inv = r#"{"process":0,"type":"invoke","f":"read"}"#;
        let cases = [
            (
                format!("{inv}\n{inv}\n"),
                "h:2: process 0 invokes again while its invocation on line 1 is still open",
            ),
            (
                r#"{"process":"a","type":"ok","f":"read"}"#.to_string(),
                "h:1: `ok` completion on process a, which has no open invocation",
            ),
            (
                format!("{inv}\n{}\n", r#"{"process":0,"type":"ok","f":"write"}"#),
                "h:2: completion has f `write` but its invocation on line 1 has f `read`",
            ),
            (
                format!(
                    "{}\n{}\n",
                    r#"{"process":0,"type":"invoke","f":"get","key":"a"}"#,
                    r#"{"process":0,"type":"ok","f":"get","key":"b"}"#
                ),
                "h:2: completion has key \"b\" but its invocation on line 1 has key \"a\"",
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(paired(&text), Err(expected.to_string()));
        }
    }
}
