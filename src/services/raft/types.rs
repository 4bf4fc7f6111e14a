//! The data Raft replicates and persists: entries, hard state, snapshot metadata.

use crate::ids::NodeId;
use serde::{Deserialize, Serialize};
use std::fmt::Debug;

/// What a replicated command must be: cloneable, printable and serializable (it travels in
/// messages and lives in the log file).
pub trait Command: Clone + Debug + Serialize + serde::de::DeserializeOwned + 'static {}

impl<T: Clone + Debug + Serialize + serde::de::DeserializeOwned + 'static> Command for T {}

/// What an entry carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Payload<C> {
    /// Appended by a new leader so that it commits an entry of its own term (which commits
    /// everything before it, and lets ReadIndex start). Applies to nothing.
    Noop,
    /// A client's command.
    Command(C),
}

/// One log entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry<C> {
    /// The leader term that created it.
    pub term: u64,
    /// Its position in the log, from 1.
    pub index: u64,
    /// What it carries.
    pub payload: Payload<C>,
}

/// Term and vote: what must be durable before any message that depends on them leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct HardState {
    /// The latest term this node has seen.
    pub term: u64,
    /// Whom it voted for in `term`, if anyone.
    pub vote: Option<NodeId>,
}

/// Where a snapshot ends: it replaces every entry up to and including `index`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SnapshotMeta {
    /// Last log index the snapshot covers (0: the empty initial snapshot).
    pub index: u64,
    /// Term of the entry at `index`.
    pub term: u64,
}

/// A snapshot: its position and the application's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// What it covers.
    pub meta: SnapshotMeta,
    /// The application state after applying every entry up to `meta.index`.
    pub data: Vec<u8>,
}

/// A node's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Follows a leader (or waits for one).
    Follower,
    /// Asks for pre-votes without bumping its term.
    PreCandidate,
    /// Asks for votes in a new term.
    Candidate,
    /// Leads its term.
    Leader,
}

/// A change of who this node believes leads, for notes and events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaderChange {
    /// The term of the change.
    pub term: u64,
    /// The leader now known, if any.
    pub leader: Option<NodeId>,
    /// This node's role after the change.
    pub role: Role,
}

/// Durable state a node restarts from (see `store::load`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovered<C> {
    /// Term and vote.
    pub hard_state: HardState,
    /// The latest durable snapshot (an empty one at index 0 when none was taken).
    pub snapshot: Snapshot,
    /// Entries after the snapshot, contiguous from `snapshot.meta.index + 1`.
    pub entries: Vec<Entry<C>>,
}

impl<C> Default for Recovered<C> {
    fn default() -> Self {
        Recovered {
            hard_state: HardState::default(),
            snapshot: Snapshot {
                meta: SnapshotMeta::default(),
                data: Vec::new(),
            },
            entries: Vec::new(),
        }
    }
}
