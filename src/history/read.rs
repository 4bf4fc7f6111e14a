//! Reading and validating JSON Lines histories.
//!
//! Strict where it matters (every line must be a JSON event with a known `type`), liberal where real
//! tools differ: blank lines, `\r\n` endings and a UTF-8 byte-order mark are accepted, and fields
//! this format does not define (Jepsen's `index`, `error`, `node`, ...) are ignored, as is a `time`
//! that is not a non-negative integer (it is informational). Line numbers are kept so errors and
//! counterexamples can point at the file.

use super::error::{HistoryError, LineProblem};
use super::{History, HistoryEvent};
use serde_json::Value;
use std::io::Read;

/// The fields a history line may carry; anything else is dropped by the lenient path.
const KNOWN_FIELDS: [&str; 6] = ["process", "type", "f", "key", "value", "time"];

/// Where a history's events came from: the name used in messages and each event's line number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The name used in messages: a path, or `<stdin>`.
    pub name: String,
    /// Line of each event; empty means event `i` is on line `i + 1` (as `write_jsonl` writes it).
    line_numbers: Vec<u32>,
}

impl Source {
    /// A history built in memory: event `i` is line `i + 1` of its `write_jsonl` output.
    pub fn in_memory(name: &str) -> Self {
        Source {
            name: name.to_string(),
            line_numbers: Vec::new(),
        }
    }

    /// A history read from a file whose event `i` is on line `lines[i]`.
    pub fn with_lines(name: &str, lines: Vec<u32>) -> Self {
        Source {
            name: name.to_string(),
            line_numbers: lines,
        }
    }

    /// The 1-based line of event `index`.
    pub fn line_of(&self, index: usize) -> u32 {
        match self.line_numbers.get(index) {
            Some(line) => *line,
            None => u32::try_from(index + 1).unwrap_or(u32::MAX),
        }
    }
}

/// Reads a JSON Lines history; errors name `source_name` and the line.
pub fn read_jsonl<R: Read>(reader: R, source_name: &str) -> Result<History, HistoryError> {
    read_jsonl_located(reader, source_name).map(|(history, _)| history)
}

/// Like [`read_jsonl`], and also returns each event's line number (blank lines are skipped, so
/// event index and line can differ).
pub fn read_jsonl_located<R: Read>(
    mut reader: R,
    source_name: &str,
) -> Result<(History, Source), HistoryError> {
    let mut bytes = Vec::new();
    reader
        .read_to_end(&mut bytes)
        .map_err(|error| HistoryError::Io {
            source_name: source_name.to_string(),
            error,
        })?;
    let mut history = History::default();
    let mut line_numbers = Vec::new();
    for (index, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = u32::try_from(index + 1).unwrap_or(u32::MAX);
        let raw = if index == 0 {
            raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw)
        } else {
            raw
        };
        let raw = raw.trim_ascii();
        if raw.is_empty() {
            continue;
        }
        let event = parse_line(raw).map_err(|problem| HistoryError::Line {
            source_name: source_name.to_string(),
            line,
            problem,
        })?;
        history.push(event);
        line_numbers.push(line);
    }
    let dense = line_numbers
        .iter()
        .enumerate()
        .all(|(i, &l)| l as usize == i + 1);
    if dense {
        line_numbers.clear();
    }
    let source = Source {
        name: source_name.to_string(),
        line_numbers,
    };
    Ok((history, source))
}

/// Parses one non-blank line: a fast strict path, and a lenient one for lines with extra fields.
pub fn parse_line(raw: &[u8]) -> Result<HistoryEvent, LineProblem> {
    if let Ok(event) = serde_json::from_slice::<HistoryEvent>(raw) {
        return Ok(event);
    }
    if std::str::from_utf8(raw).is_err() {
        return Err(LineProblem::NotUtf8);
    }
    let value = serde_json::from_slice::<Value>(raw)
        .map_err(|err| LineProblem::NotJson(without_position(&err)))?;
    let Value::Object(mut fields) = value else {
        return Err(LineProblem::InvalidEvent(
            "expected a JSON object with `process`, `type` and `f`".to_string(),
        ));
    };
    fields.retain(|name, _| KNOWN_FIELDS.contains(&name.as_str()));
    if fields.get("time").is_some_and(|t| t.as_u64().is_none()) {
        fields.remove("time");
    }
    if let Some(process) = fields.get("process")
        && !(process.is_u64() || process.is_string())
    {
        return Err(LineProblem::InvalidEvent(format!(
            "`process` must be a non-negative integer or a string, not {process}"
        )));
    }
    serde_json::from_value::<HistoryEvent>(Value::Object(fields))
        .map_err(|err| LineProblem::InvalidEvent(without_position(&err)))
}

/// serde_json appends "at line 1 column N", which is noise when each line is parsed alone.
fn without_position(err: &serde_json::Error) -> String {
    let text = err.to_string();
    match text.rfind(" at line ") {
        Some(cut) => text[..cut].to_string(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{OpType, Process};

    fn problem(text: &str) -> String {
        match read_jsonl(text.as_bytes(), "h.jsonl") {
            Ok(h) => format!("ok with {} events", h.len()),
            Err(err) => err.to_string(),
        }
    }

    #[test]
    fn reads_events_and_keeps_line_numbers_across_blank_lines() {
        let text = "\u{feff}{\"process\":0,\"type\":\"invoke\",\"f\":\"read\"}\r\n\n{\"process\":\"c1\",\"type\":\"ok\",\"f\":\"read\",\"value\":null,\"index\":7}\n";
        let (history, source) = read_jsonl_located(text.as_bytes(), "h.jsonl").expect("valid");
        assert_eq!(history.len(), 2);
        assert_eq!(history.events[1].process, Process::Name("c1".into()));
        assert_eq!(history.events[1].kind, OpType::Ok);
        assert_eq!(history.events[1].value, Some(Value::Null));
        assert_eq!(history.events[0].value, None);
        assert_eq!(source.line_of(0), 1);
        assert_eq!(source.line_of(1), 3);
    }

    #[test]
    fn each_bad_line_is_named() {
        let invoke = "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\"}\n";
        assert_eq!(
            problem(&format!("{invoke}{{oops\n")),
            "h.jsonl:2: not valid JSON: key must be a string"
        );
        let bad_type = format!("{invoke}{{\"process\":0,\"type\":\"done\",\"f\":\"read\"}}\n");
        assert!(
            problem(&bad_type)
                .starts_with("h.jsonl:2: not a history event: unknown variant `done`")
        );
        let missing = "{\"type\":\"invoke\",\"f\":\"read\"}\n";
        assert_eq!(
            problem(missing),
            "h.jsonl:1: not a history event: missing field `process`"
        );
        let float_process = "{\"process\":1.5,\"type\":\"invoke\",\"f\":\"read\"}\n";
        assert!(problem(float_process).contains("`process` must be"));
        assert_eq!(
            problem("[1,2]\n"),
            "h.jsonl:1: not a history event: expected a JSON object with `process`, `type` and `f`"
        );
        let not_utf8 = read_jsonl(&b"{\"process\":\"\xff\"}\n"[..], "h.jsonl");
        assert_eq!(
            not_utf8.map(|h| h.len()).map_err(|e| e.to_string()),
            Err("h.jsonl:1: not valid UTF-8".to_string())
        );
    }

    #[test]
    fn informational_time_of_the_wrong_shape_is_dropped() {
        let text = "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\",\"time\":1.5}\n";
        let history = read_jsonl(text.as_bytes(), "h").expect("valid");
        assert_eq!(history.events[0].time, None);
    }
}
