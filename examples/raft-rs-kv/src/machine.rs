//! The replicated state machine: a map of string keys to string values, plus client sessions
//! (the idempotency-key pattern) so a write that reaches the log twice — a retry to a new
//! leader, a duplicated proposal — is applied once and its first output returned again.
//!
//! Everything here is a pure function of the committed log, so every replica that applied the
//! same prefix holds the same state. A rolling digest over what was applied (index, term,
//! bytes) lets the invariants compare replicas cheaply; it is part of every snapshot.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A client operation. Reads are served through ReadIndex and never logged; the others are
/// proposed through the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "op")]
pub enum KvOp {
    /// Read a key.
    Get {
        /// The key.
        key: String,
    },
    /// Set a key.
    Put {
        /// The key.
        key: String,
        /// The new value.
        value: String,
    },
    /// Set a key to `new` only if it holds `expected` (`None`: absent).
    Cas {
        /// The key.
        key: String,
        /// What it must hold.
        expected: Option<String>,
        /// What it is set to.
        new: String,
    },
    /// Append `suffix` to a key's value (an absent key counts as empty).
    Append {
        /// The key.
        key: String,
        /// What to append.
        suffix: String,
    },
}

impl KvOp {
    /// True for the operation that only reads.
    pub fn is_read(&self) -> bool {
        matches!(self, KvOp::Get { .. })
    }
}

/// What an operation returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "result")]
pub enum KvOutput {
    /// The value read (`None`: the key is absent).
    Value {
        /// The value.
        value: Option<String>,
    },
    /// A put or append took effect.
    Done,
    /// A compare-and-set: did it swap?
    Cas {
        /// True when it swapped.
        swapped: bool,
    },
}

/// What goes into the log: a write with the client session that sent it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Command {
    /// The client's session id.
    pub client_id: u64,
    /// The session's request number (1, 2, ...; a retry carries the same).
    pub seq: u64,
    /// The write.
    pub op: KvOp,
}

/// The last write a session had applied, and its output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Session {
    seq: u64,
    output: KvOutput,
}

/// What became of a logged write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// Applied now, or earlier with this output (a retry).
    Output(KvOutput),
    /// Not applied: the session already moved past this request (a stale duplicate).
    Stale,
    /// The entry carried no command (a new leader's empty entry) or one that does not decode.
    Nothing,
}

/// The replicated state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Machine {
    kv: BTreeMap<String, String>,
    sessions: BTreeMap<u64, Session>,
    applied: u64,
    digest: u64,
}

/// FNV-1a, 64 bits: a fixed, portable hash for the rolling digest.
fn fnv(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

impl Machine {
    /// The index of the last entry applied (or of the snapshot restored).
    pub fn applied(&self) -> u64 {
        self.applied
    }

    /// The rolling digest of everything applied.
    pub fn digest(&self) -> u64 {
        self.digest
    }

    /// Serves a read.
    pub fn get(&self, key: &str) -> Option<String> {
        self.kv.get(key).cloned()
    }

    /// The output a session recorded for request `seq`, when `seq` is its last applied one.
    pub fn answered(&self, client_id: u64, seq: u64) -> Option<&KvOutput> {
        self.sessions
            .get(&client_id)
            .filter(|s| s.seq == seq)
            .map(|s| &s.output)
    }

    /// True when the session has applied a request after `seq` (so `seq` never will be).
    pub fn superseded(&self, client_id: u64, seq: u64) -> bool {
        self.sessions.get(&client_id).is_some_and(|s| s.seq > seq)
    }

    /// Applies the entry at `index` of `term` whose data is `data` (empty: a leader's no-op).
    /// Undecodable data is applied as a no-op, identically on every replica.
    pub fn apply(&mut self, index: u64, term: u64, data: &[u8]) -> Applied {
        self.applied = index;
        let mut h = fnv(self.digest ^ FNV_OFFSET, &index.to_le_bytes());
        h = fnv(h, &term.to_le_bytes());
        self.digest = fnv(h, data);
        if data.is_empty() {
            return Applied::Nothing;
        }
        let Ok(cmd) = serde_json::from_slice::<Command>(data) else {
            return Applied::Nothing;
        };
        match self.sessions.get(&cmd.client_id) {
            Some(s) if s.seq == cmd.seq => return Applied::Output(s.output.clone()),
            Some(s) if s.seq > cmd.seq => return Applied::Stale,
            _ => {}
        }
        let output = self.execute(&cmd.op);
        self.sessions.insert(
            cmd.client_id,
            Session {
                seq: cmd.seq,
                output: output.clone(),
            },
        );
        Applied::Output(output)
    }

    fn execute(&mut self, op: &KvOp) -> KvOutput {
        match op {
            KvOp::Get { key } => KvOutput::Value {
                value: self.get(key),
            },
            KvOp::Put { key, value } => {
                self.kv.insert(key.clone(), value.clone());
                KvOutput::Done
            }
            KvOp::Cas { key, expected, new } => {
                let swapped = self.kv.get(key) == expected.as_ref();
                if swapped {
                    self.kv.insert(key.clone(), new.clone());
                }
                KvOutput::Cas { swapped }
            }
            KvOp::Append { key, suffix } => {
                self.kv.entry(key.clone()).or_default().push_str(suffix);
                KvOutput::Done
            }
        }
    }

    /// The snapshot image of this state.
    pub fn snapshot(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// The state a snapshot image holds, which must be at `index`.
    pub fn restore(data: &[u8], index: u64) -> Result<Machine, String> {
        let m: Machine =
            serde_json::from_slice(data).map_err(|e| format!("snapshot image: {e}"))?;
        if m.applied != index {
            return Err(format!(
                "snapshot image is at index {}, its metadata says {index}",
                m.applied
            ));
        }
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(client_id: u64, seq: u64, op: KvOp) -> Vec<u8> {
        serde_json::to_vec(&Command { client_id, seq, op }).unwrap_or_default()
    }

    fn put(key: &str, value: &str) -> KvOp {
        KvOp::Put {
            key: key.into(),
            value: value.into(),
        }
    }

    #[test]
    fn a_retried_write_is_applied_once() {
        let mut m = Machine::default();
        let append = KvOp::Append {
            key: "k".into(),
            suffix: "a;".into(),
        };
        assert_eq!(
            m.apply(1, 1, &cmd(7, 1, append.clone())),
            Applied::Output(KvOutput::Done)
        );
        assert_eq!(
            m.apply(2, 1, &cmd(7, 1, append.clone())),
            Applied::Output(KvOutput::Done)
        );
        assert_eq!(m.get("k").as_deref(), Some("a;"));
        m.apply(3, 1, &cmd(7, 2, put("k", "x")));
        assert_eq!(m.apply(4, 1, &cmd(7, 1, append)), Applied::Stale);
        assert_eq!(m.get("k").as_deref(), Some("x"));
    }

    #[test]
    fn cas_swaps_only_on_the_expected_value_and_snapshots_restore() {
        let mut m = Machine::default();
        let cas = |expected: Option<&str>, new: &str| KvOp::Cas {
            key: "k".into(),
            expected: expected.map(String::from),
            new: new.into(),
        };
        let swapped = |b| Applied::Output(KvOutput::Cas { swapped: b });
        assert_eq!(
            m.apply(1, 1, &cmd(1, 1, cas(Some("a"), "b"))),
            swapped(false)
        );
        assert_eq!(m.apply(2, 1, &cmd(1, 2, cas(None, "b"))), swapped(true));
        assert_eq!(m.apply(3, 2, &[]), Applied::Nothing);
        let image = m.snapshot();
        assert_eq!(Machine::restore(&image, 3), Ok(m.clone()));
        assert!(Machine::restore(&image, 4).is_err());
        assert!(Machine::restore(b"{", 3).is_err());
    }
}
