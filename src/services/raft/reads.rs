//! Linearizable reads without log writes: ReadIndex (thesis §6.4) and leader leases (§6.4.1).
//!
//! A read registered at commit index `c` is served once the leader knows it was still leader
//! after the read arrived — a majority acknowledged a heartbeat round sent afterwards — or its
//! lease was valid on arrival, and once the host applied `c`. A new leader first commits its
//! no-op, so `c` covers every write acknowledged by an earlier leader.
//!
//! This module owns the leader's read state ([`Reads`]); the core's read handlers
//! (`read_index.rs`) decide with it, passing in what they know of the log and the peers.

use super::ready::{ReadState, ReadVia};
use crate::time::LocalInstant;
use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

/// Heartbeat rounds whose send time is kept for lease renewal; older ones are forgotten
/// (an acknowledgement of a forgotten round only fails to renew the lease).
const ROUNDS_KEPT_MAX: usize = 64;

#[derive(Debug, Clone, Copy)]
struct Pending {
    request_ctx: u64,
    index: u64,
    /// The round a majority must acknowledge.
    round: u64,
}

/// The leader's read bookkeeping for its current term.
#[derive(Debug, Default)]
pub(crate) struct Reads {
    round: u64,
    term_first_round: u64,
    sent_at: BTreeMap<u64, LocalInstant>,
    lease_until: Option<LocalInstant>,
    /// The leader committed an entry of its own term.
    term_committed: bool,
    /// Reads that arrived before that first commit.
    waiting_commit: VecDeque<u64>,
    confirming: VecDeque<Pending>,
    applying: VecDeque<ReadState>,
    ready: Vec<ReadState>,
    /// A heartbeat round this far is needed to confirm reads.
    round_wanted: u64,
}

impl Reads {
    pub fn round(&self) -> u64 {
        self.round
    }

    pub fn pending(&self) -> usize {
        self.waiting_commit.len() + self.confirming.len() + self.applying.len()
    }

    pub fn next_round(&mut self, now: LocalInstant) {
        self.round += 1;
        self.sent_at.insert(self.round, now);
        while self.sent_at.len() > ROUNDS_KEPT_MAX {
            self.sent_at.pop_first();
        }
    }

    pub fn start_term(&mut self, now: LocalInstant) {
        debug_assert_eq!(self.pending(), 0);
        self.sent_at.clear();
        self.lease_until = None;
        self.term_committed = false;
        self.next_round(now);
        self.term_first_round = self.round;
    }

    /// Reads in flight are dropped when leadership is lost; the host fails them (it sees the
    /// change in `Ready::leader_changes`).
    pub fn clear_on_step_down(&mut self) {
        self.waiting_commit.clear();
        self.confirming.clear();
        self.applying.clear();
        self.lease_until = None;
    }

    pub fn release_applied(&mut self, applied: u64) {
        while self.applying.front().is_some_and(|r| r.index <= applied) {
            if let Some(r) = self.applying.pop_front() {
                self.ready.push(r);
            }
        }
    }

    pub fn take_ready(&mut self) -> Vec<ReadState> {
        std::mem::take(&mut self.ready)
    }

    /// The first round of the current term: acknowledgements of earlier rounds say nothing
    /// about this term's leadership.
    pub fn term_first_round(&self) -> u64 {
        self.term_first_round
    }

    /// Whether the leader has committed an entry of its own term (reads may be registered).
    pub fn term_committed(&self) -> bool {
        self.term_committed
    }

    /// Whether the lease makes a read safe without a round trip at `now`.
    pub fn lease_valid_at(&self, now: LocalInstant) -> bool {
        self.lease_until.is_some_and(|until| now < until)
    }

    /// Whether pending reads wait for a heartbeat round not yet sent.
    pub fn wants_round(&self) -> bool {
        self.round_wanted > self.round
    }

    /// A read that arrived before the term's first commit waits for it.
    pub fn wait_for_commit(&mut self, request_ctx: u64) {
        debug_assert!(
            !self.term_committed,
            "a read waits for a commit already made"
        );
        self.waiting_commit.push_back(request_ctx);
    }

    /// The term's first commit happened: the reads that waited for it, in arrival order, to
    /// be registered.
    pub fn first_commit(&mut self) -> Vec<u64> {
        debug_assert!(!self.term_committed, "a term commits first only once");
        self.term_committed = true;
        self.waiting_commit.drain(..).collect()
    }

    /// Registers a read at commit index `index`: served through `via` once `index` is applied,
    /// or (`None`) once a majority acknowledges the next heartbeat round.
    pub fn register(&mut self, request_ctx: u64, index: u64, via: Option<ReadVia>) {
        debug_assert!(
            self.term_committed,
            "a read registered before the term's first commit"
        );
        match via {
            Some(via) => self.applying.push_back(ReadState {
                request_ctx,
                index,
                via,
            }),
            None => {
                let round = self.round + 1;
                self.round_wanted = self.round_wanted.max(round);
                self.confirming.push_back(Pending {
                    request_ctx,
                    index,
                    round,
                });
            }
        }
    }

    /// A majority acknowledged every round up to `quorum_round`: the reads waiting for those
    /// rounds are confirmed, and with `lease` the lease extends from when that round was sent.
    pub fn quorum_reached(&mut self, quorum_round: u64, lease: Option<Duration>) {
        assert!(
            quorum_round <= self.round,
            "a majority acknowledged round {quorum_round}, never sent (last {})",
            self.round
        );
        while self
            .confirming
            .front()
            .is_some_and(|p| p.round <= quorum_round)
        {
            if let Some(p) = self.confirming.pop_front() {
                self.applying.push_back(ReadState {
                    request_ctx: p.request_ctx,
                    index: p.index,
                    via: ReadVia::Quorum,
                });
            }
        }
        if let Some(lease) = lease
            && let Some(&sent) = self.sent_at.get(&quorum_round)
        {
            let until = sent.saturating_add(lease);
            self.lease_until = Some(self.lease_until.map_or(until, |u| u.max(until)));
        }
        while self
            .sent_at
            .first_key_value()
            .is_some_and(|(&r, _)| r < quorum_round)
        {
            self.sent_at.pop_first();
        }
    }
}
