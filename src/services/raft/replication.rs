//! Log replication: AppendEntries on both sides, and the commit rule. The leader's view of
//! each follower is `progress.rs`'s.

use super::core::{RaftCore, encoded_len};
use super::msg::{RaftMsg, RejectHint};
use super::progress::Mode;
use super::types::{Command, Entry, Role};
use crate::ids::NodeId;

impl<C: Command> RaftCore<C> {
    /// Sends whatever each follower is ready to take (called from `ready()`, so proposals made
    /// between two `ready()` calls travel in one batch).
    pub(crate) fn replicate_all(&mut self) {
        for peer in self.peers.clone() {
            let Some(pr) = self.progress.get(&peer) else {
                continue;
            };
            if pr.wants_append(self.log.last_index()) {
                self.send_append(peer);
            }
        }
    }

    /// A heartbeat round: every follower gets an AppendEntries (retransmitting anything not
    /// acknowledged) or its current snapshot chunk, tagged with a fresh round.
    pub(crate) fn broadcast_heartbeat(&mut self) {
        self.reads.next_round(self.now);
        for peer in self.peers.clone() {
            if let Some(pr) = self.progress.get_mut(&peer) {
                match pr.mode {
                    Mode::Replicate => {
                        pr.next_index = pr.match_index + 1;
                        pr.inflight.clear();
                    }
                    Mode::Probe { .. } => pr.mode = Mode::Probe { paused: false },
                    Mode::Snapshot { .. } => {}
                }
            }
            self.send_append(peer);
        }
    }

    /// Sends one AppendEntries (or snapshot chunk) to `peer` from its next index.
    pub(crate) fn send_append(&mut self, peer: NodeId) {
        let Some(pr) = self.progress.get(&peer) else {
            return;
        };
        if matches!(pr.mode, Mode::Snapshot { .. }) || pr.next_index <= self.log.snapshot().index {
            self.send_snapshot_chunk(peer);
            return;
        }
        let next = pr.next_index;
        let prev_index = next - 1;
        let Some(prev_term) = self.log.term_at(prev_index) else {
            debug_assert!(false, "next index {next} beyond the log");
            return;
        };
        let entries = self.log.slice(
            next,
            self.cfg.append_entries_max,
            self.cfg.append_bytes_max,
            encoded_len,
        );
        let last = prev_index + entries.len() as u64;
        let msg = RaftMsg::Append {
            term: self.term(),
            prev_index,
            prev_term,
            entries,
            commit: self.log.committed,
            round: self.reads.round(),
        };
        if let Some(pr) = self.progress.get_mut(&peer) {
            match pr.mode {
                Mode::Probe { .. } => pr.mode = Mode::Probe { paused: true },
                Mode::Replicate if last >= next => {
                    pr.next_index = last + 1;
                    pr.inflight.push_back(last);
                }
                _ => {}
            }
        }
        self.send(peer, msg);
    }

    /// Follower side of AppendEntries (the sender is the leader of our term).
    pub(crate) fn on_append(
        &mut self,
        from: NodeId,
        mut prev_index: u64,
        mut prev_term: u64,
        mut entries: Vec<Entry<C>>,
        leader_commit: u64,
        round: u64,
    ) {
        let committed = self.log.committed;
        if prev_index < committed {
            // Entries up to our commit index are known to match the leader's: skip them.
            let skip = usize::try_from(committed - prev_index).unwrap_or(usize::MAX);
            entries.drain(..skip.min(entries.len()));
            prev_index = committed;
            prev_term = self.log.term_at(committed).unwrap_or(prev_term);
        }
        let term = self.term();
        let reply = |index, reject| RaftMsg::AppendResp {
            term,
            index,
            reject,
            round,
        };
        match self.log.term_at(prev_index) {
            None => {
                let hint = RejectHint {
                    conflict_term: None,
                    first_index: self.log.last_index() + 1,
                };
                let msg = reply(prev_index, Some(hint));
                self.send(from, msg);
                return;
            }
            Some(t) if t != prev_term => {
                let hint = RejectHint {
                    conflict_term: Some(t),
                    first_index: self.log.first_index_of_term_at(prev_index),
                };
                let msg = reply(prev_index, Some(hint));
                self.send(from, msg);
                return;
            }
            Some(_) => {}
        }
        // Our log's term at `prev_index` was checked; after skipping what we have committed
        // it is ours, not the message's, that entries must not go below.
        if entries.first().is_some_and(|e| e.term < prev_term) && !self.bugs.any() {
            self.refuse("entries below the term of the entry they follow");
            return;
        }
        let had_entries = !entries.is_empty();
        let last_sent = entries.last().map(|e| (e.index, e.term));
        let last_new = prev_index + entries.len() as u64;
        for e in entries {
            match self.log.term_at(e.index) {
                Some(t) if t == e.term => continue,
                Some(_) => {
                    assert!(
                        e.index > self.log.committed || self.bugs.any(),
                        "leader overwrites committed index {}",
                        e.index
                    );
                    self.log.truncate(e.index);
                    self.log.push(e);
                }
                None => self.log.push(e),
            }
        }
        if self.bugs.truncate_on_stale_append && had_entries && self.log.last_index() > last_new {
            // The planted bug: treat a stale (delayed or duplicated) append as authoritative.
            self.log.truncate(last_new + 1);
        }
        // Log matching (§5.3): the leader's last entry now sits in our log with its term, so
        // (by induction) every entry before it matches the leader's too.
        assert!(
            self.bugs.any() || last_sent.is_none_or(|(i, t)| self.log.term_at(i) == Some(t)),
            "append did not leave the leader's entry {last_sent:?} in the log"
        );
        let new_commit = leader_commit.min(last_new);
        if new_commit > self.log.committed {
            self.log.commit_to(new_commit);
        }
        let msg = reply(last_new, None);
        self.send(from, msg);
    }

    /// Leader side: an AppendEntries answer from `from`.
    pub(crate) fn on_append_resp(
        &mut self,
        from: NodeId,
        index: u64,
        reject: Option<RejectHint>,
        round: u64,
    ) {
        if self.role() != Role::Leader {
            return;
        }
        self.on_ack(from, round);
        let last = self.log.last_index();
        let strict = !self.bugs.any();
        // A follower ahead of its leader is a broken leader-completeness guarantee: only
        // reachable with a planted bug (or from a peer that lies).
        if reject.is_none() && index > last && strict {
            self.refuse("a match beyond the leader's log");
            return;
        }
        let Some(pr) = self.progress.get_mut(&from) else {
            return;
        };
        match reject {
            None => {
                let index = index.min(last);
                if index > pr.match_index {
                    pr.match_index = index;
                    pr.next_index = pr.next_index.max(index + 1);
                    if matches!(pr.mode, Mode::Probe { .. }) {
                        pr.mode = Mode::Replicate;
                        pr.next_index = index + 1;
                    }
                    while pr.inflight.front().is_some_and(|&i| i <= index) {
                        pr.inflight.pop_front();
                    }
                    self.maybe_commit();
                } else if let Mode::Probe { .. } = pr.mode {
                    pr.mode = Mode::Probe { paused: false };
                }
            }
            Some(hint) => {
                if index < pr.match_index || matches!(pr.mode, Mode::Snapshot { .. }) {
                    return; // stale: we already know more
                }
                if matches!(pr.mode, Mode::Probe { .. }) && index + 1 != pr.next_index {
                    // The answer to an older probe (a retransmission, a duplicate): only the
                    // probe in flight moves us, or every old answer would start a chain of its
                    // own and the traffic would grow with every heartbeat.
                    return;
                }
                let next = match hint.conflict_term {
                    Some(t) => self
                        .log
                        .last_index_of_term(t)
                        .map_or(hint.first_index, |i| i + 1),
                    None => hint.first_index,
                };
                let before = pr.next_index;
                pr.next_index = next.min(index).min(last + 1).max(pr.match_index + 1);
                // Probe again at once only from a new point: the same probe would only be
                // refused again, and answering every refusal keeps ping-pong chains alive (one
                // more with every heartbeat) when a follower has lost what it acknowledged.
                pr.mode = Mode::Probe {
                    paused: pr.next_index == before,
                };
                pr.inflight.clear();
            }
        }
        // Only as much as the follower may have in flight: answering every response with a
        // batch would let duplicated responses multiply the traffic.
        if self
            .progress
            .get(&from)
            .is_some_and(|p| p.wants_append(last))
        {
            self.send_append(from);
        }
    }

    /// Commits the highest index a majority stores, if it is of the current term (§5.4.2:
    /// counting replicas never commits an entry of an earlier term).
    pub(crate) fn maybe_commit(&mut self) {
        if self.role() != Role::Leader {
            return;
        }
        let quorum_index = self
            .progress
            .quorum_match(self.log.persisted, self.quorum());
        if quorum_index <= self.log.committed {
            return;
        }
        let own_term = self.log.term_at(quorum_index) == Some(self.term());
        if own_term || self.bugs.commit_old_term {
            self.log.commit_to(quorum_index);
            self.on_commit_advanced();
        }
    }
}
