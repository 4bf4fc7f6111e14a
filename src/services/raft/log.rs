//! The in-memory log: a snapshot position, the entries after it, and the bookkeeping of what
//! has been handed to the host for persistence and for application.

use super::types::{Entry, SnapshotMeta};
use std::collections::VecDeque;

/// Entries after the snapshot plus the commit / persist / apply positions.
///
/// Invariants: `entries[i].index == snapshot.index + 1 + i`; terms never decrease along the
/// log; `applied <= committed`; `applied <= persisted` (an entry is applied only after the
/// host was asked to persist it); `snapshot.index <= applied`.
#[derive(Debug, Clone)]
pub(crate) struct RaftLog<C> {
    snapshot: SnapshotMeta,
    entries: VecDeque<Entry<C>>,
    /// Highest index known committed.
    pub committed: u64,
    /// Highest index handed to the host for application.
    pub applied: u64,
    /// Highest index handed to the host for persistence (the host's log file ends here).
    pub persisted: u64,
    /// Lowest index the host must truncate its log file from before appending, if any.
    pub truncate_from: Option<u64>,
}

impl<C: Clone> RaftLog<C> {
    /// A log recovered from disk: everything in it is already persisted.
    pub fn recovered(snapshot: SnapshotMeta, entries: Vec<Entry<C>>) -> Self {
        let mut log = RaftLog {
            snapshot,
            entries: entries.into(),
            committed: snapshot.index,
            applied: snapshot.index,
            persisted: 0,
            truncate_from: None,
        };
        log.persisted = log.last_index();
        log.check(true);
        log
    }

    /// Checks the structural invariants (debug builds only: O(n) over the entries). Not
    /// `strict` under planted bugs, which can make a leader overwrite applied entries.
    pub fn check(&self, strict: bool) {
        if cfg!(debug_assertions) {
            let mut prev = self.snapshot;
            for e in &self.entries {
                assert_eq!(e.index, prev.index + 1, "log indexes not contiguous");
                assert!(e.term >= prev.term, "log terms decrease at {}", e.index);
                prev = SnapshotMeta {
                    index: e.index,
                    term: e.term,
                };
            }
            assert!(self.persisted <= self.last_index(), "persisted past last");
            assert!(self.snapshot.index <= self.applied, "snapshot past applied");
            if strict {
                assert!(self.applied <= self.committed, "applied past commit");
                assert!(self.applied <= self.persisted, "applied past persisted");
            }
        }
    }

    pub fn snapshot(&self) -> SnapshotMeta {
        self.snapshot
    }

    pub fn first_index(&self) -> u64 {
        self.snapshot.index + 1
    }

    pub fn last_index(&self) -> u64 {
        self.snapshot.index + self.entries.len() as u64
    }

    pub fn last_term(&self) -> u64 {
        self.entries.back().map_or(self.snapshot.term, |e| e.term)
    }

    /// The term of the entry at `index`; `None` if compacted away (below the snapshot) or
    /// beyond the end.
    pub fn term_at(&self, index: u64) -> Option<u64> {
        if index == self.snapshot.index {
            return Some(self.snapshot.term);
        }
        self.entry(index).map(|e| e.term)
    }

    pub fn entry(&self, index: u64) -> Option<&Entry<C>> {
        let offset = index.checked_sub(self.first_index())?;
        self.entries.get(usize::try_from(offset).ok()?)
    }

    /// Whether a log ending at (`last_index`, `last_term`) is at least as up to date as ours
    /// (§5.4.1): the election restriction.
    pub fn is_up_to_date(&self, last_index: u64, last_term: u64) -> bool {
        last_term > self.last_term()
            || (last_term == self.last_term() && last_index >= self.last_index())
    }

    /// The first index of the run of entries with term `term` that contains `index`.
    pub fn first_index_of_term_at(&self, index: u64) -> u64 {
        let Some(term) = self.term_at(index) else {
            return index;
        };
        let mut i = index;
        while i > self.first_index() && self.term_at(i - 1) == Some(term) {
            i -= 1;
        }
        i
    }

    /// The last index holding an entry of `term`, if the log has one.
    pub fn last_index_of_term(&self, term: u64) -> Option<u64> {
        self.entries
            .iter()
            .rev()
            .find(|e| e.term == term)
            .map(|e| e.index)
    }

    /// `(first_index, term)` of each run of one term's entries after the snapshot. O(entries):
    /// the host asks only when the runs may have changed (a new term, a truncation, a
    /// snapshot installed), which is rare.
    pub fn term_runs(&self) -> Vec<(u64, u64)> {
        let mut runs: Vec<(u64, u64)> = Vec::new();
        for e in &self.entries {
            if runs.last().is_none_or(|&(_, term)| term != e.term) {
                runs.push((e.index, e.term));
            }
        }
        runs
    }

    /// Raises the commit index to `index`: commit only moves forward (§5.3), and never past
    /// what the log holds.
    pub fn commit_to(&mut self, index: u64) {
        assert!(
            index >= self.committed,
            "commit index goes back: {} -> {index}",
            self.committed
        );
        assert!(
            index <= self.last_index(),
            "commit index {index} past the last entry {}",
            self.last_index()
        );
        self.committed = index;
    }

    /// Appends one entry at the end.
    pub fn push(&mut self, entry: Entry<C>) {
        assert_eq!(entry.index, self.last_index() + 1, "append leaves a gap");
        assert!(entry.term >= self.last_term(), "appended term goes back");
        self.entries.push_back(entry);
    }

    /// Removes every entry from `index` on. The caller guarantees they are uncommitted.
    pub fn truncate(&mut self, index: u64) {
        assert!(index > self.snapshot.index, "truncating into the snapshot");
        let keep = usize::try_from(index - self.first_index()).unwrap_or(usize::MAX);
        self.entries.truncate(keep);
        if index <= self.persisted {
            self.persisted = index - 1;
            self.truncate_from = Some(self.truncate_from.map_or(index, |t| t.min(index)));
        }
        // Below the commit index only with a planted bug (a leader overwriting what an old-term
        // commit made visible). Applied entries are not applied again: the divergence shows
        // up as two replicas applying different commands at one index.
        self.committed = self.committed.min(self.last_index());
    }

    /// Up to `count_max` entries from `from`, cloned, stopping before `bytes_max` would be
    /// exceeded by the sizes `size` reports (always at least one entry if any exist).
    pub fn slice(
        &self,
        from: u64,
        count_max: usize,
        bytes_max: usize,
        size: impl Fn(&Entry<C>) -> usize,
    ) -> Vec<Entry<C>> {
        let mut out = Vec::new();
        let mut bytes = 0usize;
        let mut i = from;
        while out.len() < count_max {
            let Some(e) = self.entry(i) else { break };
            bytes = bytes.saturating_add(size(e));
            if !out.is_empty() && bytes > bytes_max {
                break;
            }
            out.push(e.clone());
            i += 1;
        }
        out
    }

    /// Entries not yet handed to the host for persistence; marks them handed.
    pub fn take_unpersisted(&mut self) -> Vec<Entry<C>> {
        let from = self.persisted + 1;
        let out: Vec<Entry<C>> = (from..=self.last_index())
            .filter_map(|i| self.entry(i).cloned())
            .collect();
        self.persisted = self.last_index();
        out
    }

    /// Committed entries that are persisted and not yet applied; marks them applied.
    pub fn take_applicable(&mut self) -> Vec<Entry<C>> {
        let upto = self.committed.min(self.persisted);
        let from = self.applied + 1;
        let out: Vec<Entry<C>> = (from..=upto)
            .filter_map(|i| self.entry(i).cloned())
            .collect();
        self.applied = self.applied.max(upto);
        out
    }

    /// Drops entries up to `meta.index` (which must be applied): host-driven compaction.
    pub fn compact(&mut self, meta: SnapshotMeta) {
        assert!(meta.index <= self.applied, "compacting unapplied entries");
        assert!(meta.index > self.snapshot.index, "compaction goes back");
        let drop = usize::try_from(meta.index - self.snapshot.index).unwrap_or(usize::MAX);
        self.entries.drain(..drop.min(self.entries.len()));
        self.snapshot = meta;
    }

    /// Installs a snapshot received from the leader (§7): keeps the entries after it if ours
    /// agree at `meta.index`, else discards the whole log. Returns whether the log was kept.
    /// Not `strict` under planted bugs, where the applied index may run past the commit index.
    pub fn install(&mut self, meta: SnapshotMeta, strict: bool) -> bool {
        let keep = self.term_at(meta.index) == Some(meta.term);
        if keep {
            let drop = usize::try_from(meta.index - self.snapshot.index).unwrap_or(usize::MAX);
            self.entries.drain(..drop.min(self.entries.len()));
        } else {
            self.entries.clear();
            if self.persisted > meta.index {
                let from = meta.index + 1;
                self.truncate_from = Some(self.truncate_from.map_or(from, |t| t.min(from)));
            }
        }
        self.snapshot = meta;
        assert!(
            meta.index >= self.applied || !strict,
            "installing a snapshot behind applied"
        );
        self.committed = self.committed.max(meta.index);
        self.applied = meta.index;
        self.persisted = if keep {
            self.persisted.max(meta.index)
        } else {
            meta.index
        };
        keep
    }
}
