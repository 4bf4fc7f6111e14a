//! The `raft/log` observation: a compact summary of a replica's log, for the invariants that
//! compare logs (`leader-completeness`, `log-matching`, `leader-append-only`) — the event log
//! carries no message bodies, so the logs themselves are never in it.
//!
//! A summary is the snapshot's (index, term), the term boundaries of the entries after it —
//! `(first_index, term)` of every run of one term's entries — and the last index; with
//! `cut`, the index a truncation in the same `Ready` removed entries from. It is recorded
//! when the node starts, when it wins an election (`won`: before it can send anything), and
//! whenever the boundaries may have changed: entries of a term other than the last one
//! recorded, a truncation, a snapshot installed from the leader. Appending more entries of
//! the last term — nearly every append — records nothing, so the cost is one summary per term
//! per replica, plus one per truncation.

use crate::services::raft::{Command, Entry, RaftCore, Role};
use crate::services::ring::GroupId;
use serde_json::{Value, json};

/// What a `Ready` did to the log.
#[derive(Debug, Clone, Copy)]
pub(super) struct ReadyLog<'a, C> {
    /// The entries it appended.
    pub entries: &'a [Entry<C>],
    /// Where it truncated the persisted log from.
    pub truncate_from: Option<u64>,
    /// Whether it installed a snapshot from the leader.
    pub restored: bool,
}

/// What a replica last recorded of its log, so only changes are recorded.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct LogWatch {
    /// The term of the last entry in the last summary (`None`: nothing recorded yet in this
    /// incarnation).
    last_term: Option<u64>,
}

impl LogWatch {
    /// The summary to record after a `Ready` was handled, if one is due. `won_term` is the
    /// term this node became leader of in that `Ready`, if it did.
    pub(super) fn after_ready<C: Command>(
        &mut self,
        core: &RaftCore<C>,
        group: GroupId,
        ready: ReadyLog<'_, C>,
        won_term: Option<u64>,
    ) -> Option<Value> {
        // Still leading the term it won: the log is the one it won with plus its own entries.
        let won = won_term.filter(|&t| core.role() == Role::Leader && core.term() == t);
        let new_term = ready.entries.iter().any(|e| Some(e.term) != self.last_term);
        if won.is_none() && !ready.restored && ready.truncate_from.is_none() && !new_term {
            return None;
        }
        Some(self.summary(core, group, won.is_some(), ready.truncate_from))
    }

    /// The summary at start (a recovered log), if the log holds anything.
    pub(super) fn at_start<C: Command>(
        &mut self,
        core: &RaftCore<C>,
        group: GroupId,
    ) -> Option<Value> {
        (core.last_index() > 0).then(|| self.summary(core, group, false, None))
    }

    fn summary<C: Command>(
        &mut self,
        core: &RaftCore<C>,
        group: GroupId,
        won: bool,
        cut: Option<u64>,
    ) -> Value {
        let snapshot = core.snapshot_meta();
        let runs = core.term_runs();
        self.last_term = Some(runs.last().map_or(snapshot.term, |&(_, term)| term));
        json!({
            "group": group,
            "term": core.term(),
            "leader": core.role() == Role::Leader,
            "won": won,
            "snapshot": [snapshot.index, snapshot.term],
            "runs": runs,
            "last": core.last_index(),
            "cut": cut,
        })
    }
}
