//! An exploration input and the corpus file that keeps inputs between campaigns
//! (`<dir>/corpus.jsonl`, one input per line).
//!
//! An input is a seed plus an explicit fault schedule (or none: the scenario's own faults,
//! drawn from the seed — a plain swarm run). The schedule is stored as the resolved faults the
//! event log records (serde), so a corpus written by one campaign runs the same in the next.

use crate::fault::Fault;
use crate::shrink::explicit::Entry;
use serde::{Deserialize, Serialize};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// One input to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// The run seed (workload, network draws, clocks' boot times, node RNGs).
    pub seed: u64,
    /// The faults, explicit; `None`: the scenario's own (swarm drawn from the seed).
    pub schedule: Option<Vec<Entry>>,
}

/// A schedule entry as the corpus file stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryLine {
    at_ms: u64,
    fault: Fault,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    lasts_ms: Option<u64>,
}

/// One corpus line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct InputLine {
    seed: u64,
    schedule: Vec<EntryLine>,
}

/// Why a corpus could not be read or written.
#[derive(Debug, Error)]
pub enum CorpusError {
    /// Reading or writing failed.
    #[error("{file}: {message}")]
    Io {
        /// The file.
        file: String,
        /// What went wrong.
        message: String,
    },
    /// A line is not an input.
    #[error("{file}:{line}: not a corpus input: {message}")]
    Line {
        /// The file.
        file: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong (serde names the field).
        message: String,
    },
}

/// The corpus file in `dir`.
pub fn corpus_file(dir: &Path) -> PathBuf {
    dir.join("corpus.jsonl")
}

/// The inputs stored in `dir` (none when it has no corpus yet). Only explicit schedules are
/// stored.
pub fn load(dir: &Path) -> Result<Vec<Input>, CorpusError> {
    let path = corpus_file(dir);
    let file_name = path.display().to_string();
    let io = |e: std::io::Error| CorpusError::Io {
        file: file_name.clone(),
        message: e.to_string(),
    };
    let file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(e)),
    };
    let mut inputs = Vec::new();
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(io)?;
        if line.trim().is_empty() {
            continue;
        }
        let parsed: InputLine = serde_json::from_str(&line).map_err(|e| CorpusError::Line {
            file: file_name.clone(),
            line: i + 1,
            message: e.to_string(),
        })?;
        inputs.push(Input {
            seed: parsed.seed,
            schedule: Some(
                parsed
                    .schedule
                    .into_iter()
                    .map(|e| Entry {
                        at_ms: e.at_ms,
                        fault: e.fault,
                        lasts_ms: e.lasts_ms,
                    })
                    .collect(),
            ),
        });
    }
    Ok(inputs)
}

/// Writes `inputs` (those with an explicit schedule) as `dir`'s corpus, replacing it.
pub fn save(dir: &Path, inputs: &[&Input]) -> Result<PathBuf, CorpusError> {
    let path = corpus_file(dir);
    let io = |e: std::io::Error| CorpusError::Io {
        file: path.display().to_string(),
        message: e.to_string(),
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).map_err(io)?);
    for input in inputs {
        let Some(schedule) = &input.schedule else {
            continue;
        };
        let line = InputLine {
            seed: input.seed,
            schedule: schedule
                .iter()
                .map(|e| EntryLine {
                    at_ms: e.at_ms,
                    fault: e.fault.clone(),
                    lasts_ms: e.lasts_ms,
                })
                .collect(),
        };
        let text = serde_json::to_string(&line).map_err(|e| CorpusError::Io {
            file: path.display().to_string(),
            message: e.to_string(),
        })?;
        writeln!(out, "{text}").map_err(io)?;
    }
    out.flush().map_err(io)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault::PartitionKind;
    use crate::ids::NodeId;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("faultlab-corpus-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn a_saved_corpus_loads_back_the_same() {
        let d = dir("roundtrip");
        assert_eq!(load(&d).ok(), Some(Vec::new()), "no corpus yet");
        let a = Input {
            seed: 7,
            schedule: Some(vec![
                Entry {
                    at_ms: 10,
                    fault: Fault::Partition {
                        kind: PartitionKind::OneWay,
                        cut: vec![(NodeId(0), NodeId(1))],
                    },
                    lasts_ms: Some(300),
                },
                Entry {
                    at_ms: 20,
                    fault: Fault::ClockJump {
                        node: NodeId(2),
                        delta_ms: -40,
                    },
                    lasts_ms: None,
                },
            ]),
        };
        let fresh = Input {
            seed: 8,
            schedule: None,
        };
        assert!(save(&d, &[&a, &fresh]).is_ok());
        assert_eq!(
            load(&d).ok(),
            Some(vec![a]),
            "only explicit inputs are kept"
        );
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_bad_line_names_the_file_line_and_field() {
        let d = dir("bad");
        let _ = std::fs::create_dir_all(&d);
        let good = r#"{"seed":1,"schedule":[]}"#;
        let bad = r#"{"seed":2,"schedule":[{"at_ms":5,"fault":{"fault":"crash"}}]}"#;
        let _ = std::fs::write(corpus_file(&d), format!("{good}\n{bad}\n"));
        let err = load(&d).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            err.contains("corpus.jsonl:2:") && err.contains("node"),
            "{err}"
        );
        let _ = std::fs::remove_dir_all(&d);
    }
}
