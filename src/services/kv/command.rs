//! What clients ask of the KV store and what it answers; operations travel in the replicated
//! log (with their client session, `replicated::Logged`).

use serde::{Deserialize, Serialize};

/// One operation on one key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "op")]
pub enum KvOp {
    /// Reads the key (`None` when absent).
    Get {
        /// The key.
        key: String,
    },
    /// Sets the key.
    Put {
        /// The key.
        key: String,
        /// The new value.
        value: String,
    },
    /// Removes the key (a no-op when absent).
    Delete {
        /// The key.
        key: String,
    },
    /// Sets the key to `new` only if its current value equals `expected` (`None`: absent).
    Cas {
        /// The key.
        key: String,
        /// The value the key must hold, or `None` for "absent".
        expected: Option<String>,
        /// The value to set.
        new: String,
    },
    /// Appends `suffix` to the key's value (an absent key counts as `""`).
    Append {
        /// The key.
        key: String,
        /// What to append.
        suffix: String,
    },
}

impl KvOp {
    /// The key the operation touches.
    pub fn key(&self) -> &str {
        match self {
            KvOp::Get { key }
            | KvOp::Put { key, .. }
            | KvOp::Delete { key }
            | KvOp::Cas { key, .. }
            | KvOp::Append { key, .. } => key,
        }
    }

    /// Whether the operation can change the state (a `get` cannot).
    pub fn is_write(&self) -> bool {
        !matches!(self, KvOp::Get { .. })
    }
}

/// The outcome of a command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "result")]
pub enum KvResult {
    /// `get`: the value, or `None` when absent.
    Value {
        /// The value read.
        value: Option<String>,
    },
    /// `put` and `delete` took effect.
    Done,
    /// `cas`: whether the value was swapped.
    Cas {
        /// `true` when `expected` matched and `new` was written.
        swapped: bool,
    },
    /// `append`: the value's length in bytes after the append.
    Appended {
        /// Length of the new value, in bytes.
        len_bytes: u64,
    },
}
