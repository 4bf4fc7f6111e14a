//! The replica's clocks of intent: when a follower stands for election, when a leader sends
//! its next heartbeat and checks its quorum, and when it last heard a leader (what leases and
//! CheckQuorum rely on). Local monotonic time only; changed only through these methods.

use super::types::Role;
use crate::time::LocalInstant;
use std::time::Duration;

/// Deadlines and the last contact with a leader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Timers {
    election_at: LocalInstant,
    heartbeat_at: LocalInstant,
    quorum_at: LocalInstant,
    leader_contact_at: Option<LocalInstant>,
}

impl Timers {
    /// A replica starting at `now`. With leases, a restarted node may have promised a leader,
    /// before crashing, not to vote for another within the minimum election timeout: it
    /// counts as having heard one now.
    pub(crate) fn start(now: LocalInstant, lease: bool) -> Self {
        Timers {
            election_at: now,
            heartbeat_at: now,
            quorum_at: now,
            leader_contact_at: lease.then_some(now),
        }
    }

    /// The earliest deadline that matters in `role`.
    pub(crate) fn next(&self, role: Role, check_quorum: bool) -> LocalInstant {
        match (role, check_quorum) {
            (Role::Leader, true) => self.heartbeat_at.min(self.quorum_at),
            (Role::Leader, false) => self.heartbeat_at,
            _ => self.election_at,
        }
    }

    pub(crate) fn election_due(&self, now: LocalInstant) -> bool {
        now >= self.election_at
    }

    pub(crate) fn quorum_due(&self, now: LocalInstant) -> bool {
        now >= self.quorum_at
    }

    /// Whether a heartbeat is due; if so, the next one is set `every` from now.
    pub(crate) fn heartbeat_due(&mut self, now: LocalInstant, every: Duration) -> bool {
        let due = now >= self.heartbeat_at;
        if due {
            self.heartbeat_at = now.saturating_add(every);
        }
        due
    }

    /// The election timer restarts: it runs out `timeout` from now.
    pub(crate) fn restart_election(&mut self, now: LocalInstant, timeout: Duration) {
        self.election_at = now.saturating_add(timeout);
        debug_assert!(self.election_at >= now);
    }

    /// BUGGIFY: the election timer runs out now.
    pub(crate) fn expire_election(&mut self, now: LocalInstant) {
        self.election_at = now;
    }

    /// The quorum was heard: the next check is `within` from now.
    pub(crate) fn quorum_heard(&mut self, now: LocalInstant, within: Duration) {
        self.quorum_at = now.saturating_add(within);
    }

    /// Heard from the leader of the current term at `now`.
    pub(crate) fn leader_heard(&mut self, now: LocalInstant) {
        debug_assert!(self.leader_contact_at.is_none_or(|t| t <= now));
        self.leader_contact_at = Some(now);
    }

    /// Starts leading at `now`: the first heartbeat goes out `heartbeat` from now, the first
    /// quorum check `quorum_within` from now; a leader hears no other leader.
    pub(crate) fn start_leading(
        &mut self,
        now: LocalInstant,
        heartbeat: Duration,
        quorum_within: Duration,
    ) {
        self.leader_contact_at = None;
        self.heartbeat_at = now.saturating_add(heartbeat);
        self.quorum_at = now.saturating_add(quorum_within);
    }

    /// When this replica last heard from a leader (none while it leads).
    pub(crate) fn leader_contact_at(&self) -> Option<LocalInstant> {
        self.leader_contact_at
    }
}
