//! Client-operation histories in the JSON Lines format the README documents under
//! "Linearizability checking", and Jepsen's EDN (`edn.rs`).
//!
//!
//! One line per event, lines in real-time order:
//! `{"process": P, "type": "invoke"|"ok"|"fail"|"info", "f": NAME, "key": K?, "value": V?, "time": NS?}`.
//! Jepsen semantics: `fail` = the operation definitely did not take effect; `info` (or an
//! invocation that never completes) = it may take effect at any time after its invocation, or
//! never. Runs write this format and `faultlab check` reads it, so histories from other tools can
//! be converted and checked. This module never imports a service or the simulator.

pub mod edn;
pub mod error;
mod op_record;
pub mod pair;
pub mod read;

pub use edn::read_edn_located;
pub use error::{HistoryError, LineProblem};
pub use op_record::OpRecord;
pub use pair::{Operation, Outcome, Paired, pair};
pub use read::{Source, read_jsonl, read_jsonl_located};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;
use std::io::{self, Write};
use std::path::Path;
use std::str::FromStr;

/// The file formats a history can be read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HistoryFormat {
    /// The native JSON Lines format (the README's "Linearizability checking"), one event
    /// object per line.
    Jsonl,
    /// Jepsen's EDN: a store's `history.edn` or a Knossos data file (see [`edn`]).
    Edn,
}

impl HistoryFormat {
    /// The `--format` name: `jsonl` or `edn`.
    pub fn name(self) -> &'static str {
        match self {
            HistoryFormat::Jsonl => "jsonl",
            HistoryFormat::Edn => "edn",
        }
    }

    /// By extension (`.edn`; `.jsonl`, `.ndjson`, `.json`), else by the first character that is
    /// not blank: `{"` is JSON Lines; `{:`, `[`, `(`, `;` and `#` are EDN.
    pub fn detect(path: Option<&Path>, bytes: &[u8]) -> HistoryFormat {
        let extension = path.and_then(Path::extension).and_then(|e| e.to_str());
        match extension {
            Some("edn") => return HistoryFormat::Edn,
            Some("jsonl" | "ndjson" | "json") => return HistoryFormat::Jsonl,
            _ => {}
        }
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let mut text = bytes
            .iter()
            .copied()
            .filter(|b| !b.is_ascii_whitespace() && *b != b',');
        match (text.next(), text.next()) {
            (Some(b'[' | b'(' | b';' | b'#'), _) | (Some(b'{'), Some(b':')) => HistoryFormat::Edn,
            _ => HistoryFormat::Jsonl,
        }
    }

    /// Reads a whole history in this format; errors name `source_name` and the line.
    pub fn read(self, bytes: &[u8], source_name: &str) -> Result<(History, Source), HistoryError> {
        match self {
            HistoryFormat::Jsonl => read_jsonl_located(bytes, source_name),
            HistoryFormat::Edn => read_edn_located(bytes, source_name),
        }
    }
}

impl fmt::Display for HistoryFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for HistoryFormat {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, String> {
        match name {
            "jsonl" => Ok(HistoryFormat::Jsonl),
            "edn" => Ok(HistoryFormat::Edn),
            other => Err(format!(
                "unknown history format `{other}` (expected jsonl, edn)"
            )),
        }
    }
}

/// Who issued an operation. Jepsen uses integers; other tools use names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Process {
    /// A numbered process (Jepsen's).
    Int(u64),
    /// A named process (`"nemesis"`, client names).
    Name(String),
}

impl fmt::Display for Process {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Process::Int(n) => write!(f, "{n}"),
            Process::Name(s) => write!(f, "{s}"),
        }
    }
}

/// The kind of a history line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OpType {
    /// The operation begins.
    Invoke,
    /// It completed and took effect; the value is its output.
    Ok,
    /// It definitely did not take effect.
    Fail,
    /// Unknown outcome: it may take effect at any time after its invocation, or never.
    Info,
}

impl fmt::Display for OpType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            OpType::Invoke => "invoke",
            OpType::Ok => "ok",
            OpType::Fail => "fail",
            OpType::Info => "info",
        };
        f.write_str(s)
    }
}

/// One line of a history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryEvent {
    /// Who issued the operation.
    pub process: Process,
    #[serde(rename = "type")]
    /// What this line records.
    pub kind: OpType,
    /// The operation's name (`read`, `write`, `cas`, ...).
    pub f: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The key (object) the operation is on, if the model has several.
    pub key: Option<Value>,
    /// `None` = the field was absent; `Some(Value::Null)` = an explicit `null` (a legal register
    /// value), which is why this does not use `default` alone.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "deserialize_present"
    )]
    pub value: Option<Value>,
    /// True simulated time in nanoseconds (informational; line order is what counts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<u64>,
}

/// Keeps an explicit JSON `null` distinguishable from an absent field.
fn deserialize_present<'de, D>(d: D) -> Result<Option<Value>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    Value::deserialize(d).map(Some)
}

/// A whole history, lines in real-time order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    /// The events, lines in real-time order.
    pub events: Vec<HistoryEvent>,
}

impl History {
    /// Appends an event.
    pub fn push(&mut self, event: HistoryEvent) {
        self.events.push(event);
    }

    /// How many events.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// True when there is no event.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Writes the history as JSON Lines; the encoding is canonical (struct field order, sorted
    /// map keys), so equal histories give byte-identical files.
    pub fn write_jsonl<W: Write>(&self, mut out: W) -> io::Result<()> {
        for event in &self.events {
            serde_json::to_writer(&mut out, event)?;
            out.write_all(b"\n")?;
        }
        Ok(())
    }
}
