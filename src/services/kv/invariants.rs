//! What clients saw must be linearizable: the checker's `kv` model over the history, partitioned
//! by key, on every run. A budget the checker runs out of is `unknown`, never a pass.

use crate::check::{self, CheckOptions, ModelKind};
use crate::invariants::{Invariant, Outcome, RunRecords, Tag};

/// The history is linearizable under the `kv` model.
pub struct Linearizable;

impl Invariant for Linearizable {
    fn name(&self) -> &'static str {
        "linearizable"
    }

    fn tag(&self) -> Tag {
        Tag::Always
    }

    fn check(&self, r: &RunRecords<'_>) -> Outcome {
        history_verdict(r.history)
    }
}

/// The `kv` model's verdict on a history, as an invariant outcome.
pub fn history_verdict(history: &crate::history::History) -> Outcome {
    model_verdict(history, ModelKind::Kv)
}

/// A model's verdict on a history, as an invariant outcome (the counterexample in the message).
pub fn model_verdict(history: &crate::history::History, model: ModelKind) -> Outcome {
    match check::check(history, model, &CheckOptions::default()) {
        Ok(report) => match &report.verdict {
            check::Verdict::Linearizable => Outcome::Pass,
            check::Verdict::NotLinearizable(cx) => {
                let ops: Vec<String> = cx
                    .unplaced
                    .iter()
                    .map(|op| {
                        format!(
                            "process {} {} (history lines {}–{})",
                            op.process,
                            op.op,
                            op.invoke_line,
                            op.complete_line.map_or("∞".to_string(), |l| l.to_string())
                        )
                    })
                    .collect();
                Outcome::Fail(format!(
                    "key {}: {}: {}",
                    cx.partition.clone().unwrap_or_default(),
                    cx.explanation,
                    ops.join(", ")
                ))
            }
            check::Verdict::Unknown(why) => Outcome::Unknown(why.describe()),
        },
        Err(e) => Outcome::Unknown(format!("the checker rejected the history: {e}")),
    }
}
