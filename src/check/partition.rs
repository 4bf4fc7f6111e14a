//! From paired operations to the model's operations, grouped by partition (P-compositionality:
//! a history is linearizable iff each partition is, so each is searched on its own).

use super::error::CheckError;
use super::model::{Model, OpView};
use super::search::SearchOp;
use crate::history::{Operation, Paired, Source};
use std::collections::BTreeMap;

pub(crate) struct Partition<O> {
    pub name: Option<String>,
    pub ops: Vec<SearchOp<O>>,
}

pub(crate) fn view(op: &Operation) -> OpView<'_> {
    OpView {
        f: &op.f,
        key: op.key.as_ref(),
        input: op.input.as_ref(),
        output: op.output.as_ref(),
        known: op.outcome.is_known(),
    }
}

/// Parses every operation with the model; unknown-outcome read-only operations are dropped (they
/// cannot matter). Partitions come out in name order, so reports are deterministic.
pub(crate) fn partitions<M: Model>(
    model: &M,
    paired: &Paired,
    source: &Source,
) -> Result<Vec<Partition<M::Op>>, CheckError> {
    let mut groups: BTreeMap<Option<String>, Vec<SearchOp<M::Op>>> = BTreeMap::new();
    for (index, op) in paired.ops.iter().enumerate() {
        let view = view(op);
        let parsed = model.parse(&view).map_err(|problem| CheckError::BadOp {
            source_name: source.name.clone(),
            line: op.invoke_line,
            f: op.f.clone(),
            problem,
        })?;
        let name = model.partition(&view);
        let group = groups.entry(name).or_default();
        if !view.known && model.is_read_only(&parsed) {
            continue;
        }
        group.push(SearchOp {
            op: parsed,
            call_pos: position(op.invoke_index),
            return_pos: view
                .known
                .then(|| op.complete_index.map(position))
                .flatten(),
            source: index as u32,
        });
    }
    Ok(groups
        .into_iter()
        .map(|(name, ops)| Partition { name, ops })
        .collect())
}

/// Event indices fit in u32 for any history we can hold in memory (4 billion lines).
fn position(index: usize) -> u32 {
    u32::try_from(index).unwrap_or(u32::MAX)
}
