//! Errors with their place: a TOML or serde error, or a semantic check, turned into a
//! [`ScenarioError`] naming file, line and field. Shared by the scenario's own validation and
//! the service table's.

use super::error::{FieldError, ScenarioError};
use super::spans::{Segment, line_at, line_of, render_path};

/// serde_path_to_error's path as our segments.
pub(super) fn serde_path(p: &serde_path_to_error::Path) -> Vec<Segment> {
    p.iter()
        .filter_map(|seg| match seg {
            serde_path_to_error::Segment::Map { key } => Some(Segment::Key(key.clone())),
            serde_path_to_error::Segment::Seq { index } => Some(Segment::Index(*index)),
            _ => None,
        })
        .collect()
}

pub(super) fn toml_error(
    e: &toml::de::Error,
    text: &str,
    source: &str,
    path: &[Segment],
) -> ScenarioError {
    let message = e.message().trim().to_string();
    let mut path = path.to_vec();
    let missing = message.starts_with("missing field");
    // A missing field has no line of its own: point at the table that lacks it (none for the
    // document root) rather than at wherever the parser stopped.
    let line = if missing {
        line_of(text, &path)
    } else {
        e.span()
            .map(|s| line_at(text, s.start))
            .or_else(|| line_of(text, &path))
    };
    // serde names unknown and missing fields only in its message; put them in the path.
    if let Some(name) = backticked(&message) {
        let named = missing || message.starts_with("unknown field");
        if named && path.last() != Some(&Segment::Key(name.to_string())) {
            path.push(Segment::Key(name.to_string()));
        }
    }
    ScenarioError::Field(FieldError {
        file: source.to_string(),
        line,
        field: render_path(&path),
        message,
    })
}

fn backticked(message: &str) -> Option<&str> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(&message[start..start + len])
}

/// Collects the first semantic error with its place.
pub(super) struct Checker<'a> {
    pub(super) text: &'a str,
    pub(super) source: &'a str,
}

pub(super) type Check = Result<(), ScenarioError>;

impl Checker<'_> {
    pub(super) fn fail(&self, path: &[Segment], message: impl Into<String>) -> ScenarioError {
        ScenarioError::Field(FieldError {
            file: self.source.to_string(),
            line: line_of(self.text, path),
            field: render_path(path),
            message: message.into(),
        })
    }

    pub(super) fn ensure(
        &self,
        ok: bool,
        path: &[Segment],
        message: impl FnOnce() -> String,
    ) -> Check {
        if ok {
            Ok(())
        } else {
            Err(self.fail(path, message()))
        }
    }
}

pub(super) fn key(k: &str) -> Segment {
    Segment::Key(k.to_string())
}

pub(super) fn at(parent: &[Segment], k: &str) -> Vec<Segment> {
    let mut p = parent.to_vec();
    p.push(key(k));
    p
}
