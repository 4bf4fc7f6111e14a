//! Turns the deepest configuration of a failed search into a readable counterexample.

use super::model::Model;
use super::report::{Counterexample, OpSummary, PrefixStep};
use super::search::Search;
use crate::history::Paired;

pub(crate) fn from_search<M: Model>(
    model: &M,
    paired: &Paired,
    partition: Option<&str>,
    search: &Search<'_, M>,
) -> Counterexample {
    let summary = |source: u32, op: &M::Op| {
        OpSummary::new(&paired.ops[source as usize], model.describe_op(op))
    };
    let Some(deepest) = search.deepest() else {
        // A failed search always snapshots before giving up; an empty report beats a panic.
        debug_assert!(false, "a failed search has a deepest configuration");
        return Counterexample {
            partition: partition.map(str::to_string),
            prefix: Vec::new(),
            state: model.describe_state(&model.init()),
            unplaced: Vec::new(),
            explanation: "no linearization exists".to_string(),
        };
    };
    let mut state = model.init();
    let mut prefix = Vec::with_capacity(deepest.path.len());
    for (source, op) in &deepest.path {
        let next = model.step(&state, op);
        // Placed at +∞ where it could not take effect, an unknown outcome did nothing: it is
        // left out of the prefix (it simply never took effect).
        if next.is_none() && !paired.ops[*source as usize].outcome.is_known() {
            continue;
        }
        debug_assert!(next.is_some(), "the search's path replays");
        state = next.unwrap_or(state);
        prefix.push(PrefixStep {
            op: summary(*source, op),
            state_after: model.describe_state(&state),
        });
    }
    debug_assert_eq!(state, deepest.state, "replay reaches the recorded state");
    // Stranded operations are the real culprits when there are any: the candidates were only
    // impossible because moving on would have left them without the state they need.
    let culprits = if deepest.stranded.is_empty() {
        &deepest.stuck
    } else {
        &deepest.stranded
    };
    let unplaced: Vec<OpSummary> = culprits
        .iter()
        .map(|(source, op)| summary(*source, op))
        .collect();
    let state_text = model.describe_state(&deepest.state);
    let relaxed = if search.is_relaxed() {
        " (even if operations of unknown outcome could take effect any number of times)"
    } else {
        ""
    };
    let explanation = if deepest.stranded.is_empty() {
        let which = match unplaced.len() {
            1 => "the operation that must come next is impossible".to_string(),
            n => format!("none of the {n} operations that must come next is possible"),
        };
        format!(
            "no linearization extends this {}-operation prefix{relaxed}: in state {state_text}, \
             {which}, whatever operations of unknown outcome are placed before it",
            prefix.len(),
        )
    } else if let Some(overwritten) = &deepest.overwritten {
        let described = |(source, op): &(u32, M::Op)| {
            let s = summary(*source, op);
            format!("{} at {}", s.op, s.lines())
        };
        let needed = deepest
            .stranded
            .first()
            .and_then(|(_, op)| model.requires(op))
            .map_or_else(|| "?".to_string(), |s| model.describe_state(&s));
        let by = described(&overwritten.by);
        match &overwritten.last_setter {
            Some(last) => format!(
                "no linearization exists{relaxed}: the operation below needs state {needed}, but \
                 every operation that sets {needed} had completed (the last: {}) before {by} \
                 began, and that sets another state and completed before the operation below \
                 began",
                described(last)
            ),
            None => format!(
                "no linearization exists{relaxed}: the operation below needs state {needed}, the \
                 initial state, which nothing sets again, but {by} changes it and completed \
                 before the operation below began"
            ),
        }
    } else {
        let needed = deepest
            .stranded
            .first()
            .and_then(|(_, op)| model.requires(op));
        match needed {
            Some(needed) if needed != deepest.state => format!(
                "no linearization exists{relaxed}: {} state {}, and no operation sets it before \
                 {} returns",
                the_ops_below(unplaced.len()),
                model.describe_state(&needed),
                if unplaced.len() == 1 { "it" } else { "they" }
            ),
            _ => format!(
                "no linearization extends this {}-operation prefix{relaxed}: {} state \
                 {state_text}, every operation that could come next ({}) leaves it, and no \
                 operation left sets it again before {} returns",
                prefix.len(),
                the_ops_below(unplaced.len()),
                next_ops(&deepest.stuck, &summary),
                if unplaced.len() == 1 { "it" } else { "they" }
            ),
        }
    };
    Counterexample {
        partition: partition.map(str::to_string),
        prefix,
        state: state_text,
        unplaced,
        explanation,
    }
}

/// The first few operations that could have come next, for the explanation.
fn next_ops<O>(ops: &[(u32, O)], summary: &impl Fn(u32, &O) -> OpSummary) -> String {
    const SHOWN_MAX: usize = 3;
    let mut shown: Vec<String> = ops
        .iter()
        .take(SHOWN_MAX)
        .map(|(source, op)| {
            let s = summary(*source, op);
            format!("{}, {}", s.op, s.lines())
        })
        .collect();
    if ops.len() > SHOWN_MAX {
        shown.push(format!("and {} more", ops.len() - SHOWN_MAX));
    }
    shown.join("; ")
}

fn the_ops_below(count: usize) -> String {
    match count {
        1 => "the operation below needs".to_string(),
        n => format!("the {n} operations below need"),
    }
}
