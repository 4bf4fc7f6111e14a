//! What the core hands its host after any input, and the order the host must act on it.

use super::msg::RaftMsg;
use super::types::{Entry, HardState, LeaderChange, Snapshot};
use crate::ids::NodeId;

/// A snapshot the host must persist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadySnapshot {
    /// The snapshot (metadata and application bytes).
    pub snapshot: Snapshot,
    /// `true` when it came from the leader (InstallSnapshot): after persisting it, the host
    /// must replace its application state with `snapshot.data`. `false` for the host's own
    /// compaction, whose data the application already reflects.
    pub restore: bool,
}

/// How a read was confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadVia {
    /// ReadIndex: a majority acknowledged a heartbeat round sent after the read arrived.
    Quorum,
    /// The leader's lease was valid when the read arrived.
    Lease,
}

/// A read that may now be served from the application state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadState {
    /// The caller's `request_ctx`.
    pub request_ctx: u64,
    /// The commit index the read must observe; already applied when this is reported.
    pub index: u64,
    /// How it was confirmed.
    pub via: ReadVia,
}

/// Everything the core wants done since the previous `ready()`. The host handles one `Ready`
/// completely, in this order, before taking the next:
///
/// 1. **Persist** `hard_state`, then `snapshot`, then truncate the log file from
///    `truncate_from` and append `entries` (`store::Store::persist` does all of it).
/// 2. **Sync**: wait until all of step 1 is durable.
/// 3. **Send** `messages`. Votes, vote grants and AppendEntries acknowledgements are promises
///    about durable state: sending any of them before step 2 completes is the "ack before
///    fsync" bug (a host switch, not a core flag).
/// 4. **Restore** the application from `snapshot.data` if `snapshot.restore`.
/// 5. **Apply** `committed` in order (every one was persisted in step 1 of this or an earlier
///    `Ready`), skipping `Payload::Noop` entries but advancing the applied index past them.
/// 6. **Serve** `reads`: each `ReadState::index` is already covered by step 5.
/// 7. If `snapshot_wanted`, call `RaftCore::compact(applied_index, app_bytes)` (may be
///    deferred; the next `ready()` then carries the snapshot to persist).
///
/// `leader_changes` are informational (notes, events, client redirects), with two duties:
/// when this node stops leading, reads it registered and not yet reported were dropped — fail
/// them (a read has no effect); proposals it accepted have an unknown outcome — the proposal
/// at `(index, term)` committed exactly if an entry with that index *and term* later appears
/// in `committed` (another term at that index means it was overwritten), and a new leader may
/// still commit it, so the client retries with the same session.
///
/// Nothing in a `Ready` may be dropped: the core has marked it handed over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ready<C> {
    /// Term and vote to write, when changed.
    pub hard_state: Option<HardState>,
    /// A snapshot to write (and maybe restore).
    pub snapshot: Option<ReadySnapshot>,
    /// Remove every on-disk entry with index `>=` this before appending.
    pub truncate_from: Option<u64>,
    /// Entries to append, contiguous, following the on-disk log after truncation (or the
    /// snapshot).
    pub entries: Vec<Entry<C>>,
    /// Messages to send once everything above is durable.
    pub messages: Vec<(NodeId, RaftMsg<C>)>,
    /// Committed entries to apply, in index order.
    pub committed: Vec<Entry<C>>,
    /// Reads that may be served once `committed` is applied.
    pub reads: Vec<ReadState>,
    /// Leadership changes seen, oldest first.
    pub leader_changes: Vec<LeaderChange>,
    /// The log holds at least `compact_after_entries` applied entries: please compact.
    pub snapshot_wanted: bool,
}

impl<C> Ready<C> {
    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.hard_state.is_none()
            && self.snapshot.is_none()
            && self.truncate_from.is_none()
            && self.entries.is_empty()
            && self.messages.is_empty()
            && self.committed.is_empty()
            && self.reads.is_empty()
            && self.leader_changes.is_empty()
            && !self.snapshot_wanted
    }

    /// Whether step 1 has anything to write (and step 2 anything to sync).
    pub fn needs_sync(&self) -> bool {
        self.hard_state.is_some()
            || self.snapshot.is_some()
            || self.truncate_from.is_some()
            || !self.entries.is_empty()
    }
}
