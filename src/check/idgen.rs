//! `idgen`: an ID generator — checked in O(n log n) by a sweep, not by search.
//!
//! History conventions: `next` (alias `generate`); the `ok` value is the id, an integer (up to
//! u64). Ids must be unique, and if one `next` completed before another was invoked, the first id
//! must be smaller. Together these are exactly linearizability for "each `next` returns an id
//! greater than every id returned before it": ordering the operations by id is then a legal
//! linearization. Operations of unknown outcome constrain nothing and are skipped; operations
//! with a `key` (a generator or worker id) are checked per key.

use super::error::CheckError;
use super::report::{Counterexample, OpSummary, Verdict};
use crate::history::{Operation, Paired, Source};
use std::collections::BTreeMap;

pub(crate) struct Outcome {
    pub verdict: Verdict,
    pub partitions: usize,
    pub steps: u64,
}

pub(crate) fn check(paired: &Paired, source: &Source) -> Result<Outcome, CheckError> {
    let mut groups: BTreeMap<Option<String>, Vec<(i128, usize)>> = BTreeMap::new();
    for (index, op) in paired.ops.iter().enumerate() {
        let id = parse(op).map_err(|problem| CheckError::BadOp {
            source_name: source.name.clone(),
            line: op.complete_line.unwrap_or(op.invoke_line),
            f: op.f.clone(),
            problem,
        })?;
        let group = groups
            .entry(op.key.as_ref().map(|k| k.to_string()))
            .or_default();
        if let Some(id) = id {
            group.push((id, index));
        }
    }
    let partitions = groups.len();
    let mut steps = 0u64;
    for (name, mut issued) in groups {
        steps += issued.len() as u64;
        if let Some(cx) = check_partition(paired, name, &mut issued) {
            return Ok(Outcome {
                verdict: Verdict::NotLinearizable(Box::new(cx)),
                partitions,
                steps,
            });
        }
    }
    Ok(Outcome {
        verdict: Verdict::Linearizable,
        partitions,
        steps,
    })
}

fn parse(op: &Operation) -> Result<Option<i128>, String> {
    if op.f != "next" && op.f != "generate" {
        return Err(format!("unknown operation `{}` (expected next)", op.f));
    }
    if !op.outcome.is_known() {
        return Ok(None);
    }
    let value = op.output.as_ref();
    let id = value.and_then(|v| v.as_i64().map(i128::from).or(v.as_u64().map(i128::from)));
    match id {
        Some(id) => Ok(Some(id)),
        None => Err(format!(
            "the ok value must be an integer id, got {}",
            value.map_or("nothing".to_string(), |v| v.to_string())
        )),
    }
}

/// `issued` = (id, operation index) of the partition's completed operations.
fn check_partition(
    paired: &Paired,
    name: Option<String>,
    issued: &mut [(i128, usize)],
) -> Option<Counterexample> {
    let ops = &paired.ops;
    let summary = |index: usize, id: i128| OpSummary::new(&ops[index], format!("next → {id}"));
    let violation =
        |first: (i128, usize), second: (i128, usize), explanation: String| Counterexample {
            partition: name.clone(),
            prefix: Vec::new(),
            state: String::new(),
            unplaced: vec![summary(first.1, first.0), summary(second.1, second.0)],
            explanation,
        };
    issued.sort_unstable();
    if let Some(pair) = issued.windows(2).find(|w| w[0].0 == w[1].0) {
        let text = format!("both operations returned id {}", pair[0].0);
        return Some(violation(pair[0], pair[1], text));
    }
    // Sweep in real time: at each invocation, the largest id completed so far must stay below.
    let mut events: Vec<(usize, bool, (i128, usize))> = Vec::with_capacity(issued.len() * 2);
    for &(id, index) in issued.iter() {
        events.push((ops[index].invoke_index, true, (id, index)));
        if let Some(done) = ops[index].complete_index {
            events.push((done, false, (id, index)));
        }
    }
    events.sort_unstable();
    let mut max_done: Option<(i128, usize)> = None;
    let mut floor: Vec<(usize, (i128, usize))> = Vec::new();
    for (_, is_invoke, entry) in events {
        if is_invoke {
            if let Some(done) = max_done {
                floor.push((entry.1, done));
            }
        } else if max_done.is_none_or(|(id, _)| entry.0 > id) {
            max_done = Some(entry);
        }
    }
    let issued_id: BTreeMap<usize, i128> = issued.iter().map(|&(id, i)| (i, id)).collect();
    floor.into_iter().find_map(|(later, earlier)| {
        let later_id = issued_id.get(&later).copied()?;
        (earlier.0 >= later_id).then(|| {
            let text = format!(
                "the first completed (line {}) with id {} before the second was invoked (line {}), \
                 yet the second returned the smaller id {later_id}",
                ops[earlier.1].complete_line.unwrap_or(0),
                earlier.0,
                ops[later].invoke_line
            );
            violation(earlier, (later_id, later), text)
        })
    })
}
