//! The KV state machine: data, client sessions, snapshot/restore and digest.

use super::command::{KvCommand, KvOp, KvResult};
use crate::rng::Fnv64;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use thiserror::Error;

/// How the state machine behaves; every replica must use the same options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KvOptions {
    /// Bound on the session table. When a new client arrives and the table is full, the session
    /// applied least recently (smallest log index) is evicted; a later request of that client
    /// with `seq > 1` gets [`KvResult::SessionExpired`]. A retry of an evicted client's *first*
    /// request (`seq == 1`) cannot be recognised and is applied again: keep this bound well
    /// above the number of concurrently active clients. Default 4096.
    pub sessions_max: usize,
    /// Planted bug `kv-no-dedup`: ignore sessions, so a retried write is applied twice.
    pub no_dedup: bool,
}

impl Default for KvOptions {
    fn default() -> Self {
        KvOptions {
            sessions_max: 4096,
            no_dedup: false,
        }
    }
}

/// Why a snapshot could not be restored.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KvError {
    /// The bytes are not a KV snapshot.
    #[error("undecodable kv snapshot: {0}")]
    Undecodable(String),
    /// The snapshot holds more sessions than `sessions_max` allows.
    #[error("kv snapshot holds {sessions} sessions, more than sessions_max {max}")]
    TooManySessions {
        /// Sessions in the snapshot.
        sessions: usize,
        /// The configured bound.
        max: usize,
    },
}

/// The last request a client had applied, and its result (returned again for a retry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Session {
    seq: u64,
    /// Log index at which the session last applied a request: the eviction order.
    index: u64,
    result: KvResult,
}

/// The part of the state that is replicated and snapshotted. Field order and `BTreeMap`s make
/// the JSON encoding canonical.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Replicated {
    applied_index: u64,
    data: BTreeMap<String, String>,
    sessions: BTreeMap<u64, Session>,
}

/// The KV store's state machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KvState {
    options: KvOptions,
    state: Replicated,
}

impl KvState {
    /// An empty store.
    pub fn new(options: KvOptions) -> Self {
        assert!(options.sessions_max > 0, "sessions_max must be positive");
        KvState {
            options,
            state: Replicated::default(),
        }
    }

    /// The log index of the last command applied (0 before any).
    pub fn applied_index(&self) -> u64 {
        self.state.applied_index
    }

    /// Reads a key without a session (the read-index / lease-read path).
    pub fn read(&self, key: &str) -> Option<&str> {
        self.state.data.get(key).map(String::as_str)
    }

    /// Number of keys stored.
    pub fn len(&self) -> usize {
        self.state.data.len()
    }

    /// Whether no key is stored.
    pub fn is_empty(&self) -> bool {
        self.state.data.is_empty()
    }

    /// Number of client sessions held.
    pub fn sessions(&self) -> usize {
        self.state.sessions.len()
    }

    /// Marks a log index without a command (a Raft no-op) as applied.
    pub fn apply_noop(&mut self, index: u64) {
        assert!(index > self.state.applied_index, "applied out of order");
        self.state.applied_index = index;
    }

    /// Applies the command at log `index` (indexes strictly increase). A command whose session
    /// already applied `seq` returns the cached result and changes nothing.
    pub fn apply(&mut self, index: u64, cmd: &KvCommand) -> KvResult {
        assert!(
            index > self.state.applied_index,
            "applied out of order: {index} after {}",
            self.state.applied_index
        );
        self.state.applied_index = index;
        if self.options.no_dedup {
            return self.execute(&cmd.op);
        }
        match self.state.sessions.get_mut(&cmd.client_id) {
            Some(s) if cmd.seq == s.seq => {
                s.index = index;
                s.result.clone()
            }
            Some(s) if cmd.seq < s.seq => KvResult::Stale { last_seq: s.seq },
            Some(_) => {
                let result = self.execute(&cmd.op);
                self.remember(index, cmd, &result);
                result
            }
            None if cmd.seq != 1 => KvResult::SessionExpired,
            None => {
                let result = self.execute(&cmd.op);
                self.remember(index, cmd, &result);
                result
            }
        }
    }

    fn remember(&mut self, index: u64, cmd: &KvCommand, result: &KvResult) {
        let sessions = &mut self.state.sessions;
        if !sessions.contains_key(&cmd.client_id) && sessions.len() >= self.options.sessions_max {
            // Deterministic on every replica: same log, same indexes; ties cannot happen
            // because one index applies one command.
            let oldest = sessions
                .iter()
                .min_by_key(|(_, s)| s.index)
                .map(|(&c, _)| c);
            if let Some(c) = oldest {
                sessions.remove(&c);
            }
        }
        sessions.insert(
            cmd.client_id,
            Session {
                seq: cmd.seq,
                index,
                result: result.clone(),
            },
        );
        debug_assert!(sessions.len() <= self.options.sessions_max);
    }

    fn execute(&mut self, op: &KvOp) -> KvResult {
        let data = &mut self.state.data;
        match op {
            KvOp::Get { key } => KvResult::Value {
                value: data.get(key).cloned(),
            },
            KvOp::Put { key, value } => {
                data.insert(key.clone(), value.clone());
                KvResult::Done
            }
            KvOp::Delete { key } => {
                data.remove(key);
                KvResult::Done
            }
            KvOp::Cas { key, expected, new } => {
                let swapped = data.get(key) == expected.as_ref();
                if swapped {
                    data.insert(key.clone(), new.clone());
                }
                KvResult::Cas { swapped }
            }
            KvOp::Append { key, suffix } => {
                let v = data.entry(key.clone()).or_default();
                v.push_str(suffix);
                KvResult::Appended {
                    len_bytes: v.len() as u64,
                }
            }
        }
    }

    /// The whole replicated state (data, sessions, applied index) as canonical JSON bytes.
    pub fn snapshot(&self) -> Vec<u8> {
        // String keys and derived Serialize: encoding cannot fail.
        serde_json::to_vec(&self.state).unwrap_or_default()
    }

    /// Rebuilds a state from [`snapshot`](Self::snapshot) bytes.
    pub fn restore(options: KvOptions, bytes: &[u8]) -> Result<KvState, KvError> {
        let state: Replicated =
            serde_json::from_slice(bytes).map_err(|e| KvError::Undecodable(e.to_string()))?;
        if state.sessions.len() > options.sessions_max {
            return Err(KvError::TooManySessions {
                sessions: state.sessions.len(),
                max: options.sessions_max,
            });
        }
        Ok(KvState { options, state })
    }

    /// FNV-1a 64 over the canonical snapshot encoding: equal on replicas that applied the same
    /// commands, for convergence checks.
    pub fn digest(&self) -> u64 {
        let mut h = Fnv64::new();
        h.write(&self.snapshot());
        h.finish()
    }
}
