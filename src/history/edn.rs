//! Reading Jepsen's EDN histories: a Jepsen store's `history.edn` (one op map after another,
//! possibly as `#jepsen.history.Op{...}` records) and Knossos's data files (one vector or list of
//! op maps, with `;` comments). EDN itself is parsed by the `clojure-reader` crate; this module
//! only walks the top level (to know each op's line) and maps op fields onto [`HistoryEvent`]:
//!
//! | EDN | event |
//! | --- | --- |
//! | `:process 3` / `:process :nemesis` | `process` 3 / `"nemesis"` (skipped when pairing) |
//! | `:type :invoke` / `:ok` / `:fail` / `:info` | `type` |
//! | `:f :read` (keyword, symbol or string) | `f` `"read"` |
//! | `:value`, `:key` | converted to JSON (below) |
//! | `:time 123` (non-negative integer) | `time` (informational) |
//! | anything else (`:index`, `:error`, `:node`, ...) | ignored |
//!
//! Values: `nil` → `null`, integers and floats → numbers, strings → strings, keywords → `":kw"`
//! strings (so `:a` and `"a"` stay different), vectors, lists and sets → arrays (sets sorted),
//! maps → objects (keys as strings: a string key as is, anything else as its EDN text), tagged
//! values → the value, characters and ratios → their EDN text.

use super::error::{HistoryError, LineProblem};
use super::read::Source;
use super::{History, HistoryEvent, OpType, Process};
use clojure_reader::edn::{self, Edn};
use serde_json::{Map, Number, Value};
use std::io::Read;

/// Reads an EDN history; errors name `source_name`, the line and the field.
pub fn read_edn_located<R: Read>(
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
    let line_error = |line: u32, problem| HistoryError::Line {
        source_name: source_name.to_string(),
        line,
        problem,
    };
    let text = match std::str::from_utf8(&bytes) {
        Ok(text) => text,
        Err(err) => {
            let line = line_at(&bytes, err.valid_up_to());
            return Err(line_error(line, LineProblem::NotUtf8));
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut walker = Walker {
        text,
        pos: 0,
        line: 1,
    };
    let mut history = History::default();
    let mut lines = Vec::new();
    walker.skip_blank();
    // Knossos's files wrap the ops in one vector or list; a Jepsen store's are bare maps.
    let close = match walker.peek() {
        Some('[') => Some(']'),
        Some('(') => Some(')'),
        _ => None,
    };
    if close.is_some() {
        walker.advance(1);
    }
    loop {
        walker.skip_blank();
        let Some(next) = walker.peek() else {
            if let Some(close) = close {
                let problem = LineProblem::NotEdn(format!("missing the closing `{close}`"));
                return Err(line_error(walker.line, problem));
            }
            break;
        };
        if Some(next) == close {
            walker.advance(1);
            walker.skip_blank();
            if walker.peek().is_some() {
                let problem =
                    LineProblem::NotEdn(format!("text after the history's closing `{next}`"));
                return Err(line_error(walker.line, problem));
            }
            break;
        }
        let line = walker.line;
        let rest = &walker.text[walker.pos..];
        let (form, after) = edn::read(rest).map_err(|err| {
            let at = err
                .line
                .map_or(line, |l| line + (l as u32).saturating_sub(1));
            let column = err
                .column
                .map_or(String::new(), |c| format!(" (column {c})"));
            line_error(at, LineProblem::NotEdn(format!("{:?}{column}", err.code)))
        })?;
        let event = event(&form).map_err(|problem| line_error(line, problem))?;
        history.push(event);
        lines.push(line);
        walker.advance(rest.len() - after.len());
    }
    Ok((history, Source::with_lines(source_name, lines)))
}

/// The top level of the file: where we are, and on which line.
struct Walker<'t> {
    text: &'t str,
    pos: usize,
    line: u32,
}

impl Walker<'_> {
    fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    fn advance(&mut self, bytes: usize) {
        let end = (self.pos + bytes).min(self.text.len());
        let newlines = self.text[self.pos..end].bytes().filter(|&b| b == b'\n');
        self.line = self.line.saturating_add(newlines.count() as u32);
        self.pos = end;
    }

    /// Whitespace, commas (whitespace in EDN) and `;` comments between top-level forms.
    fn skip_blank(&mut self) {
        while let Some(c) = self.peek() {
            if c == ';' {
                let to_eol = self.text[self.pos..].find('\n').unwrap_or(self.text.len());
                self.advance(to_eol);
            } else if c.is_whitespace() || c == ',' {
                self.advance(c.len_utf8());
            } else {
                break;
            }
        }
    }
}

fn line_at(bytes: &[u8], offset: usize) -> u32 {
    let newlines = bytes[..offset].iter().filter(|&&b| b == b'\n').count();
    u32::try_from(newlines + 1).unwrap_or(u32::MAX)
}

/// One op map as an event.
fn event(form: &Edn<'_>) -> Result<HistoryEvent, LineProblem> {
    // A Jepsen record prints as `#jepsen.history.Op{...}`: the tag names the type, the map is
    // the op.
    let form = match form {
        Edn::Tagged(_, inner) => inner.as_ref(),
        other => other,
    };
    let Edn::Map(fields) = form else {
        return Err(LineProblem::InvalidEvent(format!(
            "expected an op map like {{:process 0, :type :invoke, :f :read, :value nil}}, got {}",
            shorten(&form.to_string())
        )));
    };
    let field = |name: &'static str| fields.get(&Edn::key(name));
    let bad = |name: &str, expected: &str, got: &Edn<'_>| {
        LineProblem::InvalidEvent(format!(
            "`:{name}` must be {expected}, got {}",
            shorten(&got.to_string())
        ))
    };
    let missing = |name: &str| LineProblem::InvalidEvent(format!("missing `:{name}`"));
    let process = match field("process").ok_or_else(|| missing("process"))? {
        Edn::Int(n) if *n >= 0 => Process::Int(*n as u64),
        Edn::Key(name) | Edn::Str(name) | Edn::Symbol(name) => Process::Name(name.to_string()),
        other => return Err(bad("process", "a non-negative integer or a keyword", other)),
    };
    let kind = match field("type").ok_or_else(|| missing("type"))? {
        Edn::Key(name) => match name.as_ref() {
            "invoke" => OpType::Invoke,
            "ok" => OpType::Ok,
            "fail" => OpType::Fail,
            "info" => OpType::Info,
            _ => {
                return Err(bad(
                    "type",
                    ":invoke, :ok, :fail or :info",
                    &Edn::key(name.clone()),
                ));
            }
        },
        other => return Err(bad("type", ":invoke, :ok, :fail or :info", other)),
    };
    let f = match field("f").ok_or_else(|| missing("f"))? {
        Edn::Key(name) | Edn::Symbol(name) | Edn::Str(name) => name.to_string(),
        other => return Err(bad("f", "a keyword like :read", other)),
    };
    let time = match field("time") {
        Some(Edn::Int(ns)) if *ns >= 0 => Some(*ns as u64),
        _ => None,
    };
    Ok(HistoryEvent {
        process,
        kind,
        f,
        key: field("key").map(to_json),
        value: field("value").map(to_json),
        time,
    })
}

/// Any EDN value as JSON (see the module docs); never fails.
pub fn to_json(form: &Edn<'_>) -> Value {
    match form {
        Edn::Nil => Value::Null,
        Edn::Bool(b) => Value::Bool(*b),
        Edn::Int(i) => Value::from(*i),
        Edn::Double(d) => Number::from_f64(d.into_inner())
            .map_or_else(|| Value::String(d.to_string()), Value::Number),
        Edn::Str(s) => Value::String(s.to_string()),
        Edn::Key(k) => Value::String(format!(":{k}")),
        Edn::Vector(items) | Edn::List(items) => Value::Array(items.iter().map(to_json).collect()),
        Edn::Set(items) => Value::Array(items.iter().map(to_json).collect()),
        Edn::Map(entries) => {
            let object: Map<String, Value> = entries
                .iter()
                .map(|(k, v)| {
                    let key = match k {
                        Edn::Str(s) => s.to_string(),
                        other => other.to_string(),
                    };
                    (key, to_json(v))
                })
                .collect();
            Value::Object(object)
        }
        Edn::Tagged(_, inner) => to_json(inner),
        other => Value::String(other.to_string()),
    }
}

/// Long values are cut in messages.
fn shorten(text: &str) -> String {
    const SHOWN_CHARS_MAX: usize = 60;
    match text.char_indices().nth(SHOWN_CHARS_MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(text: &str) -> Result<(History, Source), String> {
        read_edn_located(text.as_bytes(), "h.edn").map_err(|e| e.to_string())
    }

    #[test]
    fn reads_a_knossos_vector_with_comments_and_keeps_lines() {
        let text = "; a comment\n[{:process 0, :type :invoke, :f :cas, :value [1 2]}\n ; why\n \
                    {:process 0, :type :fail, :f :cas, :value [1 2], :error [:x nil]}\n \
                    {:process :nemesis, :type :info, :f :start, :value #{:n1 :n2}}]\n";
        let (history, source) = read(text).expect("valid");
        assert_eq!(history.len(), 3);
        let first = &history.events[0];
        assert_eq!(first.process, Process::Int(0));
        assert_eq!(first.kind, OpType::Invoke);
        assert_eq!(first.f, "cas");
        assert_eq!(first.value, Some(json!([1, 2])));
        assert_eq!(history.events[1].kind, OpType::Fail);
        assert_eq!(history.events[2].process, Process::Name("nemesis".into()));
        assert_eq!(history.events[2].value, Some(json!([":n1", ":n2"])));
        assert_eq!(
            (source.line_of(0), source.line_of(1), source.line_of(2)),
            (2, 4, 5)
        );
    }

    #[test]
    fn reads_a_jepsen_store_history_of_bare_maps_and_records() {
        let text = "{:index 0, :time 10, :type :invoke, :process 0, :f :read, :value nil}\n\
                    #jepsen.history.Op{:index 1, :time 20, :type :ok, :process 0, :f :read, :value 3}\n\
                    ({:process 1 :type :invoke :f :write :value \"a\" :key :k})\n";
        // A list after bare maps is not an op map.
        let err = read(text)
            .map(|(h, _)| h.len())
            .expect_err("third form is a list");
        assert!(
            err.starts_with("h.edn:3: not a history event: expected an op map"),
            "{err}"
        );
        let (history, _) = read(&text[..text.rfind('(').expect("list")]).expect("valid");
        assert_eq!(history.events[0].time, Some(10));
        assert_eq!(history.events[0].value, Some(Value::Null));
        assert_eq!(history.events[1].kind, OpType::Ok);
        assert_eq!(history.events[1].value, Some(json!(3)));
    }

    #[test]
    fn each_bad_op_names_the_line_and_field() {
        let cases = [
            (
                "[{:process 0, :type :done, :f :read}]",
                "h.edn:1: not a history event: `:type` must be :invoke, :ok, :fail or :info, got :done",
            ),
            (
                "[\n{:type :invoke, :f :read}]",
                "h.edn:2: not a history event: missing `:process`",
            ),
            (
                "[{:process -1, :type :ok, :f :read}]",
                "h.edn:1: not a history event: `:process` must be a non-negative integer or a keyword, got -1",
            ),
            (
                "[{:process 0, :type :ok, :f 7}]",
                "h.edn:1: not a history event: `:f` must be a keyword like :read, got 7",
            ),
            (
                "[{:process 0, :type :ok, :f :read}",
                "h.edn:1: not EDN: missing the closing `]`",
            ),
            (
                "[{:process 0, :type :ok, :f :read}] x",
                "h.edn:1: not EDN: text after the history's closing `]`",
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(
                read(text).map(|(h, _)| h.len()),
                Err(expected.to_string()),
                "{text}"
            );
        }
        let unclosed = read("[{:process 0,\n :type :ok, :f :read\n").expect_err("unclosed map");
        assert!(unclosed.starts_with("h.edn:"), "{unclosed}");
        assert!(unclosed.contains("not EDN"), "{unclosed}");
    }
}
