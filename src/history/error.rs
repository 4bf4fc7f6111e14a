//! Input errors of a history: each names its source and line, so `faultlab check` can say exactly
//! what to fix. These are operating errors (bad input), never panics and never verdicts.

use crate::history::{OpType, Process};
use thiserror::Error;

/// A history that cannot be read or paired into operations.
#[derive(Debug, Error)]
pub enum HistoryError {
    #[error("{source_name}: cannot read: {error}")]
    Io {
        source_name: String,
        #[source]
        error: std::io::Error,
    },
    #[error("{source_name}:{line}: {problem}")]
    Line {
        source_name: String,
        line: u32,
        problem: LineProblem,
    },
}

impl HistoryError {
    /// The 1-based line the problem is on, when there is one.
    pub fn line(&self) -> Option<u32> {
        match self {
            HistoryError::Io { .. } => None,
            HistoryError::Line { line, .. } => Some(*line),
        }
    }
}

/// What is wrong with one line.
#[derive(Debug, Error)]
pub enum LineProblem {
    #[error("not valid UTF-8")]
    NotUtf8,
    #[error("not valid JSON: {0}")]
    NotJson(String),
    /// An EDN history that `clojure-reader` cannot read, or a broken top level.
    #[error("not EDN: {0}")]
    NotEdn(String),
    #[error("not a history event: {0}")]
    InvalidEvent(String),
    #[error("`{kind}` completion on process {process}, which has no open invocation")]
    CompletionWithoutInvocation { process: Process, kind: OpType },
    #[error(
        "process {process} invokes again while its invocation on line {open_line} is still open"
    )]
    DoubleInvocation { process: Process, open_line: u32 },
    #[error(
        "completion has f `{completion}` but its invocation on line {invoke_line} has f `{invoke}`"
    )]
    FunctionMismatch {
        completion: String,
        invoke: String,
        invoke_line: u32,
    },
    #[error(
        "completion has key {completion} but its invocation on line {invoke_line} has key {invoke}"
    )]
    KeyMismatch {
        completion: String,
        invoke: String,
        invoke_line: u32,
    },
}
