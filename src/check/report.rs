//! What a check returns: the verdict, with a counterexample or the reason it is unknown, and the
//! effort it took. `CheckReport` serializes to the `faultlab check --json` object.

use crate::history::{Operation, Process};
use serde::{Serialize, Serializer};

/// One operation as a report shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpSummary {
    /// The process that issued it.
    pub process: Process,
    /// The operation's name in the history.
    pub f: String,
    /// The model's description, e.g. `read → 3`.
    pub op: String,
    /// `ok`, `info` or `pending` (never completed).
    pub outcome: String,
    /// The 1-based line of the invocation.
    pub invoke_line: u32,
    /// The 1-based line of the completion; `None` when it never completed.
    pub complete_line: Option<u32>,
}

impl OpSummary {
    /// Summarises `op`, described by the model as `description`.
    pub fn new(op: &Operation, description: String) -> Self {
        OpSummary {
            process: op.process.clone(),
            f: op.f.clone(),
            op: description,
            outcome: op.outcome.as_str().to_string(),
            invoke_line: op.invoke_line,
            complete_line: op.complete_line,
        }
    }

    /// `lines 3–7`, `line 3–(info at 9)`, `line 3–(never completed)`.
    pub fn lines(&self) -> String {
        match (self.outcome.as_str(), self.complete_line) {
            ("ok", Some(end)) => format!("lines {}–{end}", self.invoke_line),
            (_, Some(end)) => format!("line {} (info at {end})", self.invoke_line),
            _ => format!("line {} (never completed)", self.invoke_line),
        }
    }
}

/// One step of the longest linearizable prefix.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PrefixStep {
    #[serde(flatten)]
    /// The operation placed.
    pub op: OpSummary,
    /// The model's state after it.
    pub state_after: String,
}

/// Why a history is not linearizable.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Counterexample {
    /// The partition (key) that failed, as the canonical JSON text of the key; `None` for a model
    /// without partitions. JSON output gives the key itself (`"0"`, not `"\"0\""`).
    #[serde(serialize_with = "key_as_json")]
    pub partition: Option<String>,
    /// The longest linearizable prefix found (operations of unknown outcome included).
    pub prefix: Vec<PrefixStep>,
    /// The model state after the prefix.
    pub state: String,
    /// The operations that could not be placed next.
    pub unplaced: Vec<OpSummary>,
    /// Why no linearization exists, in words.
    pub explanation: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
/// Why a verdict is `unknown` (never a pass).
pub enum UnknownReason {
    /// The step budget ran out.
    BudgetExhausted {
        /// The budget that ran out.
        budget_steps: u64,
    },
    /// The memo tables reached the memory cap.
    MemoryExhausted {
        /// The cap that was reached, in bytes.
        memory_bytes_max: u64,
        /// The partitions that ran out of memory.
        partitions: Vec<String>,
    },
    /// `--timeout-s` passed.
    Timeout {
        /// The limit that passed, in seconds.
        timeout_s: f64,
    },
}

impl UnknownReason {
    /// A one-line explanation, with the option that would raise the limit.
    pub fn describe(&self) -> String {
        match self {
            UnknownReason::BudgetExhausted { budget_steps } => {
                format!("step budget of {budget_steps} exhausted (raise --budget-steps)")
            }
            UnknownReason::MemoryExhausted {
                memory_bytes_max,
                partitions,
            } => format!(
                "memo memory cap of {} MiB reached in partition(s) {} (raise --memory-mb-max)",
                memory_bytes_max / (1024 * 1024),
                partitions.join(", ")
            ),
            UnknownReason::Timeout { timeout_s } => {
                format!("time limit of {timeout_s} s reached (raise --timeout-s)")
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
/// The outcome of a check: one of three, and only the first is a pass.
pub enum Verdict {
    /// A linearization exists (for every partition).
    Linearizable,
    /// No linearization exists; the counterexample says where it breaks.
    NotLinearizable(Box<Counterexample>),
    /// Budget or memory ran out: never a pass.
    Unknown(UnknownReason),
}

impl Verdict {
    /// `linearizable`, `not_linearizable` or `unknown`.
    pub fn name(&self) -> &'static str {
        match self {
            Verdict::Linearizable => "linearizable",
            Verdict::NotLinearizable(_) => "not_linearizable",
            Verdict::Unknown(_) => "unknown",
        }
    }

    /// The `faultlab check` exit code: 0, 1 or 3.
    pub fn exit_code(&self) -> u8 {
        match self {
            Verdict::Linearizable => 0,
            Verdict::NotLinearizable(_) => 1,
            Verdict::Unknown(_) => 3,
        }
    }

    /// The counterexample, for a violation.
    pub fn counterexample(&self) -> Option<&Counterexample> {
        match self {
            Verdict::NotLinearizable(cx) => Some(cx),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
/// What one check found and what it cost; serializes to the `faultlab check --json` object.
pub struct CheckReport {
    /// The model's `--model` name.
    pub model: String,
    /// Linearizable, not linearizable (with a counterexample) or unknown (with the reason).
    pub verdict: Verdict,
    /// Operations checked: completed `ok` plus unknown outcome (`fail`s are dropped).
    pub ops: usize,
    /// Operations of unknown outcome (`info`, never completed) among `ops`.
    pub ops_unknown: usize,
    /// Operations that completed `fail` (dropped: they did not happen).
    pub ops_failed: usize,
    /// Partitions (keys) checked independently.
    pub partitions: usize,
    /// Wall time of the check (informational: not deterministic, keep it out of digests).
    pub elapsed_ms: f64,
    /// Search steps taken (deterministic for a given history and budget).
    pub steps: u64,
    /// The step budget the check had.
    pub budget_steps: u64,
    /// The most memo-table memory held at once, in bytes.
    pub memory_bytes_peak: u64,
    /// The memo-table memory cap, in bytes.
    pub memory_bytes_max: u64,
}

impl Serialize for CheckReport {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Json<'a> {
            verdict: &'static str,
            model: &'a str,
            ops: usize,
            ops_unknown: usize,
            ops_failed: usize,
            partitions: usize,
            elapsed_ms: f64,
            steps: u64,
            budget_steps: u64,
            memory_bytes_peak: u64,
            memory_bytes_max: u64,
            /// True when the history had no operation: "linearizable" then says nothing.
            nothing_checked: bool,
            counterexample: Option<&'a Counterexample>,
            unknown: Option<&'a UnknownReason>,
        }
        Json {
            verdict: self.verdict.name(),
            model: &self.model,
            ops: self.ops,
            ops_unknown: self.ops_unknown,
            ops_failed: self.ops_failed,
            partitions: self.partitions,
            elapsed_ms: (self.elapsed_ms * 1000.0).round() / 1000.0,
            steps: self.steps,
            budget_steps: self.budget_steps,
            memory_bytes_peak: self.memory_bytes_peak,
            memory_bytes_max: self.memory_bytes_max,
            nothing_checked: self.ops == 0,
            counterexample: self.verdict.counterexample(),
            unknown: match &self.verdict {
                Verdict::Unknown(reason) => Some(reason),
                _ => None,
            },
        }
        .serialize(serializer)
    }
}

fn key_as_json<S: serde::Serializer>(key: &Option<String>, out: S) -> Result<S::Ok, S::Error> {
    use serde::Serialize;
    let value = key
        .as_deref()
        .map(|text| serde_json::from_str(text).unwrap_or_else(|_| serde_json::Value::from(text)));
    value.serialize(out)
}
