//! What clients saw must be linearizable under a service's model: the checker over the history,
//! partitioned by key, on every run. A budget the checker runs out of is `unknown`, never a
//! pass. Shared by every service whose history a model describes (kv, lock).

use super::{Evidence, Invariant, Outcome, RunRecords, Tag};
use crate::check::{self, CheckOptions, ModelKind};

/// The history is linearizable under `model`.
pub struct Linearizable {
    /// The checker's model of the service.
    pub model: ModelKind,
}

impl Linearizable {
    /// Under `model`.
    pub fn new(model: ModelKind) -> Self {
        Linearizable { model }
    }

    /// Under the `kv` model: a register per key (`read`/`get`, `write`/`put`, `cas`, `append`,
    /// `delete`), the operation's `key` on each history line.
    pub fn kv() -> Self {
        Self::new(ModelKind::Kv)
    }

    /// The verdict on a bare history (what a run on real sockets has), for
    /// [`crate::plugin::ServiceSpec::history_checks`].
    pub fn judge_history(&self, history: &crate::history::History) -> super::Verdict {
        super::Verdict {
            invariant: self.name(),
            tag: self.tag(),
            outcome: model_verdict(history, self.model),
        }
    }
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

    fn judge(&self, r: &RunRecords<'_>) -> (Outcome, Evidence) {
        model_judgement(r.history, self.model)
    }
}

/// A model's verdict on a history, as an invariant outcome (the counterexample in the message).
pub fn model_verdict(history: &crate::history::History, model: ModelKind) -> Outcome {
    model_judgement(history, model).0
}

/// A model's verdict on a history, with the counterexample's operations as evidence.
pub fn model_judgement(history: &crate::history::History, model: ModelKind) -> (Outcome, Evidence) {
    let mut evidence = Evidence::default();
    let outcome = match check::check(history, model, &CheckOptions::default()) {
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
                evidence = Evidence {
                    blamed_lines: cx.unplaced.iter().map(|op| op.invoke_line).collect(),
                    prefix_lines: cx.prefix.iter().map(|s| s.op.invoke_line).collect(),
                    explanation: cx.explanation.clone(),
                    key: cx.partition.clone(),
                    blamed_events: Vec::new(),
                };
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
    };
    (outcome, evidence)
}
