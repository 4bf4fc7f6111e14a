//! Operating errors of a check (bad input), as opposed to verdicts: a history that is not
//! linearizable is a successful check with a `NotLinearizable` verdict, not an error.

use crate::history::HistoryError;
use thiserror::Error;

#[derive(Debug, Error)]
/// An operating error of a check: the history or the options are unusable (exit 2).
pub enum CheckError {
    #[error(transparent)]
    /// The history could not be read or paired.
    History(#[from] HistoryError),
    /// An operation the model cannot read (unknown `f`, a value of the wrong shape, ...).
    #[error("{source_name}:{line}: `{f}` operation: {problem}")]
    BadOp {
        /// The history's name (a path, or `<stdin>`).
        source_name: String,
        /// The 1-based line of the operation's invocation.
        line: u32,
        /// The operation's `f`.
        f: String,
        /// What the model could not read.
        problem: String,
    },
    #[error("--initial does not apply to the {model} model")]
    /// `--initial` given for a model without an initial value.
    InitialNotSupported {
        /// The model's name.
        model: &'static str,
    },
}

impl CheckError {
    /// The 1-based line the problem is on, when there is one.
    pub fn line(&self) -> Option<u32> {
        match self {
            CheckError::History(err) => err.line(),
            CheckError::BadOp { line, .. } => Some(*line),
            CheckError::InitialNotSupported { .. } => None,
        }
    }
}
