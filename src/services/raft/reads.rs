//! Linearizable reads without log writes: ReadIndex (thesis §6.4) and leader leases (§6.4.1).
//!
//! A read registered at commit index `c` is served once the leader knows it was still leader
//! after the read arrived — a majority acknowledged a heartbeat round sent afterwards — or its
//! lease was valid on arrival, and once the host applied `c`. A new leader first commits its
//! no-op, so `c` covers every write acknowledged by an earlier leader.

use super::core::{RaftCore, RequestError};
use super::ready::{ReadState, ReadVia};
use super::types::{Command, Role};
use crate::ids::NodeId;
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

    fn pending(&self) -> usize {
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
}

impl<C: Command> RaftCore<C> {
    /// Registers a linearizable read (ReadIndex, or the lease when configured and valid). When
    /// it may be served, `Ready::reads` reports `request_ctx` with the index to wait for.
    /// Refused on followers (with a leader hint) and beyond `reads_pending_max`.
    pub fn read_index(&mut self, request_ctx: u64, now: LocalInstant) -> Result<(), RequestError> {
        self.observe_time(now);
        if self.role != Role::Leader {
            return Err(RequestError::NotLeader { hint: self.leader });
        }
        let pending = self.reads.pending();
        if pending >= self.cfg.reads_pending_max {
            return Err(RequestError::Overloaded {
                pending: pending as u64,
                max: self.cfg.reads_pending_max as u64,
            });
        }
        if self.reads.term_committed {
            self.register_read(request_ctx);
        } else {
            self.reads.waiting_commit.push_back(request_ctx);
        }
        Ok(())
    }

    /// Whether a lease read would be served right now without a round trip.
    pub fn lease_valid(&self, now: LocalInstant) -> bool {
        self.role == Role::Leader && self.reads.lease_until.is_some_and(|until| now < until)
    }

    fn register_read(&mut self, request_ctx: u64) {
        let index = self.log.committed;
        let via = if self.lease_valid(self.now) {
            Some(ReadVia::Lease)
        } else if self.quorum() == 1 {
            Some(ReadVia::Quorum)
        } else {
            None
        };
        let reads = &mut self.reads;
        match via {
            Some(via) => reads.applying.push_back(ReadState {
                request_ctx,
                index,
                via,
            }),
            None => {
                let round = reads.round + 1;
                reads.round_wanted = reads.round_wanted.max(round);
                reads.confirming.push_back(Pending {
                    request_ctx,
                    index,
                    round,
                });
            }
        }
    }

    /// Sends the heartbeat round pending reads wait for (once per `ready()`, however many
    /// reads arrived).
    pub(crate) fn flush_read_round(&mut self) {
        if self.role == Role::Leader && self.reads.round_wanted > self.reads.round {
            self.broadcast_heartbeat();
        }
    }

    /// The leader committed further: the first commit of its term releases waiting reads.
    pub(crate) fn on_commit_advanced(&mut self) {
        if !self.reads.term_committed && self.log.term_at(self.log.committed) == Some(self.term) {
            self.reads.term_committed = true;
            while let Some(ctx) = self.reads.waiting_commit.pop_front() {
                self.register_read(ctx);
            }
        }
    }

    /// Any answer from `from` in our term: it is alive (CheckQuorum) and acknowledged `round`.
    pub(crate) fn on_ack(&mut self, from: NodeId, round: u64) {
        let first = self.reads.term_first_round;
        let Some(pr) = self.progress.get_mut(&from) else {
            return;
        };
        pr.active = true;
        if round < first || round <= pr.acked_round {
            return;
        }
        pr.acked_round = round.min(self.reads.round);
        let mut rounds: Vec<u64> = self.progress.values().map(|p| p.acked_round).collect();
        rounds.push(self.reads.round);
        rounds.sort_unstable_by(|a, b| b.cmp(a));
        let quorum_round = rounds[self.quorum() - 1];
        if quorum_round < first {
            return;
        }
        let reads = &mut self.reads;
        while reads
            .confirming
            .front()
            .is_some_and(|p| p.round <= quorum_round)
        {
            if let Some(p) = reads.confirming.pop_front() {
                reads.applying.push_back(ReadState {
                    request_ctx: p.request_ctx,
                    index: p.index,
                    via: ReadVia::Quorum,
                });
            }
        }
        if let Some(lease) = self.lease_duration()
            && let Some(&sent) = self.reads.sent_at.get(&quorum_round)
        {
            let until = sent.saturating_add(lease);
            self.reads.lease_until = Some(self.reads.lease_until.map_or(until, |u| u.max(until)));
        }
        while self
            .reads
            .sent_at
            .first_key_value()
            .is_some_and(|(&r, _)| r < quorum_round)
        {
            self.reads.sent_at.pop_first();
        }
    }

    /// How long after a round's send time a majority's acknowledgement keeps the lease:
    /// followers that acknowledged will not vote for anyone else for the minimum election
    /// timeout of *their* clocks, which may run faster than ours by up to the drift bound.
    fn lease_duration(&self) -> Option<Duration> {
        let lease = self.cfg.lease_read?;
        let min = self.cfg.election_min();
        if self.bugs.lease_read_no_drift_bound {
            return Some(min);
        }
        let drift = u128::from(lease.drift_bound_ppm);
        let ns = min.as_nanos() * (1_000_000 - drift) / (1_000_000 + drift);
        Some(Duration::from_nanos(u64::try_from(ns).unwrap_or(u64::MAX)))
    }
}
