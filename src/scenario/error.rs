//! Scenario errors name the file, the line and the field, so a typo is a one-glance fix.

use std::fmt;
use thiserror::Error;

/// A scenario that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ScenarioError {
    /// The file cannot be read.
    #[error("{file}: cannot read: {message}")]
    Io {
        /// The file.
        file: String,
        /// What the operating system said.
        message: String,
    },
    /// A mistake at a place in the file.
    #[error("{}", FieldDisplay(.0))]
    Field(FieldError),
}

/// An error at a place in a scenario file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The file.
    pub file: String,
    /// 1-based; `None` when the place has no line (e.g. a missing top-level field).
    pub line: Option<usize>,
    /// Dotted path, e.g. `faults.schedule[2].delta_ms`; empty for the whole document.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

struct FieldDisplay<'a>(&'a FieldError);

impl fmt::Display for FieldDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = self.0;
        write!(f, "{}", e.file)?;
        if let Some(line) = e.line {
            write!(f, ":{line}")?;
        }
        if e.field.is_empty() {
            write!(f, ": {}", e.message)
        } else {
            write!(f, ": field `{}`: {}", e.field, e.message)
        }
    }
}

impl ScenarioError {
    /// The field at fault, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            ScenarioError::Field(e) => Some(&e.field),
            ScenarioError::Io { .. } => None,
        }
    }

    /// The line at fault, if any.
    pub fn line(&self) -> Option<usize> {
        match self {
            ScenarioError::Field(e) => e.line,
            ScenarioError::Io { .. } => None,
        }
    }
}
