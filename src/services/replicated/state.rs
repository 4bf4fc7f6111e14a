//! The replicated state: the application, its client sessions and the applied index, with a
//! canonical snapshot encoding and a digest for convergence checks.

use super::sessions::{Applied, SessionOptions, Sessions};
use super::{Logged, StateMachine};
use crate::rng::Fnv64;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Why a snapshot could not be restored.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RestoreError {
    /// The bytes are not a snapshot of this state machine.
    #[error("undecodable snapshot: {0}")]
    Undecodable(String),
    /// The snapshot holds more sessions than `sessions_max` allows.
    #[error("snapshot holds {sessions} sessions, more than sessions_max {max}")]
    TooManySessions {
        /// Sessions in the snapshot.
        sessions: usize,
        /// The configured bound.
        max: usize,
    },
}

/// The part of the state that is replicated and snapshotted. Field order and `BTreeMap`s make
/// the JSON encoding canonical.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound(serialize = "M: Serialize", deserialize = "M: StateMachine"))]
struct Image<M: StateMachine> {
    applied_index: u64,
    machine: M,
    sessions: Sessions<M::Output>,
}

/// A replica's state machine with its sessions.
#[derive(Debug, Clone, PartialEq)]
pub struct Replicated<M: StateMachine> {
    options: SessionOptions,
    image: Image<M>,
}

impl<M: StateMachine> Replicated<M> {
    /// An empty state.
    pub fn new(options: SessionOptions) -> Self {
        assert!(options.sessions_max > 0, "sessions_max must be positive");
        Replicated {
            options,
            image: Image {
                applied_index: 0,
                machine: M::empty(),
                sessions: Sessions::default(),
            },
        }
    }

    /// The log index of the last entry applied (0 before any).
    pub fn applied_index(&self) -> u64 {
        self.image.applied_index
    }

    /// The application.
    pub fn machine(&self) -> &M {
        &self.image.machine
    }

    /// Client sessions held.
    pub fn sessions(&self) -> usize {
        self.image.sessions.len()
    }

    /// Serves a read from the current state.
    pub fn read(&self, op: &M::Op) -> M::Output {
        M::read(&self.image.machine, op)
    }

    /// Marks a log index without a command (a Raft no-op) as applied.
    pub fn apply_noop(&mut self, index: u64) {
        assert!(index > self.image.applied_index, "applied out of order");
        self.image.applied_index = index;
    }

    /// Applies the write logged at `index` (indexes strictly increase). A write whose session
    /// already applied its `seq` returns the first output and changes nothing.
    pub fn apply(&mut self, index: u64, cmd: &Logged<M::Op>) -> Applied<M::Output> {
        assert!(
            index > self.image.applied_index,
            "applied out of order: {index} after {}",
            self.image.applied_index
        );
        self.image.applied_index = index;
        let Image {
            machine, sessions, ..
        } = &mut self.image;
        if cmd.client_id == super::SYSTEM_SESSION {
            // The leader's own duties: not a client retry, nothing to deduplicate.
            return Applied::Output(machine.apply_from(index, cmd.client_id, &cmd.op));
        }
        sessions.apply(&self.options, index, cmd.client_id, cmd.seq, || {
            machine.apply_from(index, cmd.client_id, &cmd.op)
        })
    }

    /// The whole replicated state as canonical JSON bytes.
    pub fn snapshot(&self) -> Vec<u8> {
        // Plain data with string keys: encoding cannot fail.
        serde_json::to_vec(&self.image).unwrap_or_default()
    }

    /// Rebuilds a state from [`snapshot`](Self::snapshot) bytes.
    pub fn restore(options: SessionOptions, bytes: &[u8]) -> Result<Self, RestoreError> {
        let image: Image<M> =
            serde_json::from_slice(bytes).map_err(|e| RestoreError::Undecodable(e.to_string()))?;
        if image.sessions.len() > options.sessions_max {
            return Err(RestoreError::TooManySessions {
                sessions: image.sessions.len(),
                max: options.sessions_max,
            });
        }
        Ok(Replicated { options, image })
    }

    /// FNV-1a 64 over the canonical encoding: equal on replicas that applied the same entries.
    pub fn digest(&self) -> u64 {
        let mut h = Fnv64::new();
        h.write(&self.snapshot());
        h.finish()
    }
}
