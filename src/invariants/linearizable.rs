//! What clients saw must be linearizable under a service's model: the checker over the history,
//! partitioned by key, on every run. A budget the checker runs out of is `unknown`, never a
//! pass. Shared by every service whose history a model describes (kv, lock).

use super::{Invariant, Outcome, RunRecords, Tag};
use crate::check::{self, CheckOptions, ModelKind};

/// The history is linearizable under `model`.
pub struct Linearizable {
    /// The checker's model of the service.
    pub model: ModelKind,
}

impl Invariant for Linearizable {
    fn name(&self) -> &'static str {
        "linearizable"
    }

    fn tag(&self) -> Tag {
        Tag::Always
    }

    fn check(&self, r: &RunRecords<'_>) -> Outcome {
        model_verdict(r.history, self.model)
    }
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
