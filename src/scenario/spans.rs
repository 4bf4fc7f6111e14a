//! Finds the line of a field in a TOML document, so errors found after parsing (bad values,
//! impossible combinations) can still point at a line.

use toml::de::{DeTable, DeValue};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    Key(String),
    Index(usize),
}

pub(crate) fn render_path(path: &[Segment]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Segment::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Segment::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// 1-based line of the byte `offset`.
pub(crate) fn line_at(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The line of the deepest part of `path` present in the document; `None` for the root or an
/// unparsable document.
pub(crate) fn line_of(text: &str, path: &[Segment]) -> Option<usize> {
    let root = DeTable::parse(text).ok()?;
    let mut current = DeValue::Table(root.into_inner());
    let mut found: Option<std::ops::Range<usize>> = None;
    for seg in path {
        let next = match seg {
            Segment::Key(k) => current.get(k.as_str()),
            Segment::Index(i) => current.get(*i),
        };
        let Some(next) = next else { break };
        found = Some(next.span());
        let value = next.get_ref().clone();
        current = value;
    }
    found.map(|span| line_at(text, span.start))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "nodes = 5\n\n[network]\nlatency_ms_min = 3\n\n[[faults.schedule]]\nat_ms = 1\n\n[[faults.schedule]]\nat_ms = 2\nnode = 9\n";

    fn key(k: &str) -> Segment {
        Segment::Key(k.to_string())
    }

    #[test]
    fn finds_nested_fields_and_array_entries() {
        assert_eq!(line_of(DOC, &[key("nodes")]), Some(1));
        assert_eq!(
            line_of(DOC, &[key("network"), key("latency_ms_min")]),
            Some(4)
        );
        let entry = [
            key("faults"),
            key("schedule"),
            Segment::Index(1),
            key("node"),
        ];
        assert_eq!(line_of(DOC, &entry), Some(11));
        assert_eq!(render_path(&entry), "faults.schedule[1].node");
    }

    #[test]
    fn missing_fields_point_at_their_parent() {
        let path = [key("network"), key("tick_ms")];
        let parent = line_of(DOC, &[key("network")]);
        assert!(parent.is_some());
        assert_eq!(line_of(DOC, &path), parent);
        assert_eq!(line_of(DOC, &[key("absent")]), None);
    }
}
