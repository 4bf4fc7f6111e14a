//! The core's read handlers: ReadIndex and lease reads (see `reads.rs`, which owns the state
//! they decide with).

use super::core::{RaftCore, RequestError};
use super::ready::ReadVia;
use super::types::{Command, Role};
use crate::ids::NodeId;
use crate::time::LocalInstant;
use std::time::Duration;

impl<C: Command> RaftCore<C> {
    /// Registers a linearizable read (ReadIndex, or the lease when configured and valid). When
    /// it may be served, `Ready::reads` reports `request_ctx` with the index to wait for.
    /// Refused on followers (with a leader hint) and beyond `reads_pending_max`.
    pub fn read_index(&mut self, request_ctx: u64, now: LocalInstant) -> Result<(), RequestError> {
        self.observe_time(now);
        if self.role() != Role::Leader {
            return Err(RequestError::NotLeader {
                hint: self.leader(),
            });
        }
        let pending = self.reads.pending();
        if pending >= self.cfg.reads_pending_max {
            return Err(RequestError::Overloaded {
                pending: pending as u64,
                max: self.cfg.reads_pending_max as u64,
            });
        }
        if self.reads.term_committed() {
            self.register_read(request_ctx);
        } else {
            self.reads.wait_for_commit(request_ctx);
        }
        Ok(())
    }

    /// Whether a lease read would be served right now without a round trip.
    pub fn lease_valid(&self, now: LocalInstant) -> bool {
        self.role() == Role::Leader && self.reads.lease_valid_at(now)
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
        self.reads.register(request_ctx, index, via);
    }

    /// Sends the heartbeat round pending reads wait for (once per `ready()`, however many
    /// reads arrived).
    pub(crate) fn flush_read_round(&mut self) {
        if self.role() == Role::Leader && self.reads.wants_round() {
            self.broadcast_heartbeat();
        }
    }

    /// The leader committed further: the first commit of its term releases waiting reads.
    pub(crate) fn on_commit_advanced(&mut self) {
        if !self.reads.term_committed() && self.log.term_at(self.log.committed) == Some(self.term())
        {
            for ctx in self.reads.first_commit() {
                self.register_read(ctx);
            }
        }
    }

    /// Any answer from `from` in our term: it is alive (CheckQuorum) and acknowledged `round`.
    pub(crate) fn on_ack(&mut self, from: NodeId, round: u64) {
        let first = self.reads.term_first_round();
        let sent = self.reads.round();
        let Some(pr) = self.progress.get_mut(&from) else {
            return;
        };
        pr.active = true;
        if round < first || round <= pr.acked_round {
            return;
        }
        pr.acked_round = round.min(sent);
        let quorum_round = self.progress.quorum_round(sent, self.quorum());
        if quorum_round < first {
            return;
        }
        let lease = self.lease_duration();
        self.reads.quorum_reached(quorum_round, lease);
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
