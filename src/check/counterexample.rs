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
        debug_assert!(next.is_some(), "the search's path replays");
        state = next.unwrap_or(state);
        prefix.push(PrefixStep {
            op: summary(*source, op),
            state_after: model.describe_state(&state),
        });
    }
    debug_assert_eq!(state, deepest.state, "replay reaches the recorded state");
    let unplaced: Vec<OpSummary> = deepest
        .stuck
        .iter()
        .map(|(source, op)| summary(*source, op))
        .collect();
    let state_text = model.describe_state(&deepest.state);
    let relaxed = if search.is_relaxed() {
        " (even if operations of unknown outcome could take effect any number of times)"
    } else {
        ""
    };
    let explanation = format!(
        "no linearization extends this {}-operation prefix{relaxed}: in state {state_text}, none \
         of the {} operation(s) that must come next is possible, whatever operations of unknown \
         outcome are placed before it",
        prefix.len(),
        unplaced.len()
    );
    Counterexample {
        partition: partition.map(str::to_string),
        prefix,
        state: state_text,
        unplaced,
        explanation,
    }
}
