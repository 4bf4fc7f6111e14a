//! Operating errors of a check (bad input), as opposed to verdicts: a history that is not
//! linearizable is a successful check with a `NotLinearizable` verdict, not an error.

use crate::history::HistoryError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum CheckError {
    #[error(transparent)]
    History(#[from] HistoryError),
    /// An operation the model cannot read (unknown `f`, a value of the wrong shape, ...).
    #[error("{source_name}:{line}: `{f}` operation: {problem}")]
    BadOp {
        source_name: String,
        line: u32,
        f: String,
        problem: String,
    },
    #[error("--initial does not apply to the {model} model")]
    InitialNotSupported { model: &'static str },
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
