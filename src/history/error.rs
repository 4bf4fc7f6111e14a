//! Input errors of a history: each names its source and line, so `faultlab check` can say exactly
//! what to fix. These are operating errors (bad input), never panics and never verdicts.

use crate::history::{OpType, Process};
use thiserror::Error;

/// A history that cannot be read or paired into operations.
#[derive(Debug, Error)]
pub enum HistoryError {
    #[error("{source_name}: cannot read: {error}")]
    /// The history could not be read at all.
    Io {
        /// The history's name (a path, or `<stdin>`).
        source_name: String,
        #[source]
        /// What the operating system said.
        error: std::io::Error,
    },
    #[error("{source_name}:{line}: {problem}")]
    /// One line of the history is wrong.
    Line {
        /// The history's name (a path, or `<stdin>`).
        source_name: String,
        /// The 1-based line.
        line: u32,
        /// What is wrong with it.
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
    /// The line is not UTF-8.
    NotUtf8,
    #[error("not valid JSON: {0}")]
    /// A JSON Lines line that is not JSON.
    NotJson(String),
    /// An EDN history that `clojure-reader` cannot read, or a broken top level.
    #[error("not EDN: {0}")]
    NotEdn(String),
    #[error("not a history event: {0}")]
    /// Valid JSON or EDN, but not an event (a field missing or of the wrong type).
    InvalidEvent(String),
    #[error("`{kind}` completion on process {process}, which has no open invocation")]
    /// A completion on a process with no open invocation.
    CompletionWithoutInvocation {
        /// The process.
        process: Process,
        /// The completion's type.
        kind: OpType,
    },
    #[error(
        "process {process} invokes again while its invocation on line {open_line} is still open"
    )]
    /// A process invokes while its previous invocation is still open.
    DoubleInvocation {
        /// The process.
        process: Process,
        /// The line of the invocation still open.
        open_line: u32,
    },
    #[error(
        "completion has f `{completion}` but its invocation on line {invoke_line} has f `{invoke}`"
    )]
    /// A completion whose `f` differs from its invocation's.
    FunctionMismatch {
        /// The completion's `f`.
        completion: String,
        /// The invocation's `f`.
        invoke: String,
        /// The invocation's line.
        invoke_line: u32,
    },
    #[error(
        "completion has key {completion} but its invocation on line {invoke_line} has key {invoke}"
    )]
    /// A completion whose `key` differs from its invocation's.
    KeyMismatch {
        /// The completion's key (as JSON).
        completion: String,
        /// The invocation's key (as JSON).
        invoke: String,
        /// The invocation's line.
        invoke_line: u32,
    },
}
