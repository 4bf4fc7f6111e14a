//! The in-memory copy of a replica's durable state that raft-rs reads through its
//! [`raft::Storage`] trait; [`crate::wal`] keeps it equal to what is written (durable once
//! synced).

use raft::eraftpb::{ConfState, Entry, HardState, Snapshot};
use raft::{GetEntriesContext, RaftState};

/// What raft-rs reads: the hard state, the latest snapshot and the log after it, in memory.
/// The node keeps it equal to what it has written to the WAL (durable once synced).
#[derive(Debug, Clone, Default)]
pub struct LogStore {
    pub(crate) hard_state: HardState,
    pub(crate) conf_state: ConfState,
    /// The latest snapshot (index 0: none yet): its metadata and the state machine image.
    pub(crate) snapshot: Snapshot,
    /// The entries after the snapshot, contiguous.
    pub(crate) entries: Vec<Entry>,
}

impl LogStore {
    /// An empty log of a cluster whose voters are `voters` (raft ids).
    pub fn new(voters: &[u64]) -> Self {
        let conf_state = ConfState {
            voters: voters.to_vec(),
            ..ConfState::default()
        };
        let mut snapshot = Snapshot::default();
        snapshot.mut_metadata().set_conf_state(conf_state.clone());
        LogStore {
            conf_state,
            snapshot,
            ..LogStore::default()
        }
    }

    /// The snapshot's index (0: none).
    pub fn snapshot_index(&self) -> u64 {
        self.snapshot.get_metadata().index
    }

    /// The snapshot.
    pub fn snapshot_ref(&self) -> &Snapshot {
        &self.snapshot
    }

    /// The hard state.
    pub fn hard_state(&self) -> &HardState {
        &self.hard_state
    }

    /// The membership every snapshot carries.
    pub fn conf_state(&self) -> &ConfState {
        &self.conf_state
    }

    /// The index of the last entry (the snapshot's when the log is empty).
    pub fn last(&self) -> u64 {
        self.snapshot_index() + self.entries.len() as u64
    }

    /// The term of the entry at `index`, if the log (or the snapshot) has it.
    pub fn term_at(&self, index: u64) -> Option<u64> {
        let snap = self.snapshot.get_metadata();
        if index == snap.index {
            return Some(snap.term);
        }
        let offset = index.checked_sub(snap.index + 1)?;
        self.entries
            .get(usize::try_from(offset).ok()?)
            .map(|e| e.term)
    }

    /// Appends entries (contiguous), replacing the log from the first one's index on.
    pub fn append(&mut self, ents: &[Entry]) -> Result<(), String> {
        let Some(first) = ents.first() else {
            return Ok(());
        };
        let snap = self.snapshot_index();
        if first.index <= snap {
            return Err(format!(
                "entry {} is at or below the snapshot at {snap}",
                first.index
            ));
        }
        if first.index > self.last() + 1 {
            return Err(format!(
                "entry {} leaves a gap after the log's last index {}",
                first.index,
                self.last()
            ));
        }
        let keep = usize::try_from(first.index - snap - 1).unwrap_or(usize::MAX);
        self.entries.truncate(keep);
        for (i, e) in ents.iter().enumerate() {
            if e.index != first.index + i as u64 {
                return Err(format!("entries out of order at {}", e.index));
            }
            self.entries.push(e.clone());
        }
        Ok(())
    }

    /// Replaces the hard state.
    pub fn set_hard_state(&mut self, hs: HardState) {
        self.hard_state = hs;
    }

    /// Records a new commit index.
    pub fn set_commit(&mut self, commit: u64) {
        self.hard_state.commit = commit;
    }

    /// Replaces the whole log with a snapshot from the leader.
    pub fn install_snapshot(&mut self, snap: Snapshot) {
        self.entries.clear();
        let index = snap.get_metadata().index;
        self.snapshot = snap;
        if self.hard_state.commit < index {
            self.hard_state.commit = index;
        }
    }

    /// Takes a snapshot of our own at `snap`'s index (applied, so in the log) and drops the
    /// entries it covers.
    pub fn compact(&mut self, snap: Snapshot) -> Result<(), String> {
        let index = snap.get_metadata().index;
        let old = self.snapshot_index();
        if index <= old || index > self.last() {
            return Err(format!(
                "cannot compact to {index}: the log holds {}..={}",
                old + 1,
                self.last()
            ));
        }
        let drop = usize::try_from(index - old).unwrap_or(usize::MAX);
        self.entries.drain(..drop.min(self.entries.len()));
        self.snapshot = snap;
        Ok(())
    }
}

impl raft::Storage for LogStore {
    fn initial_state(&self) -> raft::Result<RaftState> {
        Ok(RaftState::new(
            self.hard_state.clone(),
            self.conf_state.clone(),
        ))
    }

    fn entries(
        &self,
        low: u64,
        high: u64,
        max_size: impl Into<Option<u64>>,
        _context: GetEntriesContext,
    ) -> raft::Result<Vec<Entry>> {
        let snap = self.snapshot_index();
        if low <= snap {
            return Err(raft::Error::Store(raft::StorageError::Compacted));
        }
        if high > self.last() + 1 || low > high {
            return Err(raft::Error::Store(raft::StorageError::Unavailable));
        }
        let lo = usize::try_from(low - snap - 1).unwrap_or(usize::MAX);
        let hi = usize::try_from(high - snap - 1).unwrap_or(usize::MAX);
        let mut ents = self.entries.get(lo..hi).unwrap_or_default().to_vec();
        raft::util::limit_size(&mut ents, max_size.into());
        Ok(ents)
    }

    fn term(&self, idx: u64) -> raft::Result<u64> {
        if idx < self.snapshot_index() {
            return Err(raft::Error::Store(raft::StorageError::Compacted));
        }
        self.term_at(idx)
            .ok_or(raft::Error::Store(raft::StorageError::Unavailable))
    }

    fn first_index(&self) -> raft::Result<u64> {
        Ok(self.snapshot_index() + 1)
    }

    fn last_index(&self) -> raft::Result<u64> {
        Ok(self.last())
    }

    fn snapshot(&self, request_index: u64, _to: u64) -> raft::Result<Snapshot> {
        let index = self.snapshot_index();
        if index == 0 || index < request_index {
            return Err(raft::Error::Store(
                raft::StorageError::SnapshotTemporarilyUnavailable,
            ));
        }
        Ok(self.snapshot.clone())
    }
}
