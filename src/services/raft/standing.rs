//! Where a replica stands: its term, its vote in that term, its role and the leader it knows.
//! Only these transitions change them, and each asserts the §5 rule it must keep: the term
//! never goes back, one vote per term, a leader voted for itself in its own term. The rest of
//! the core reads them.

use super::types::Role;
use crate::ids::NodeId;

/// Term, vote, role and known leader, changed only through the transitions below.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Standing {
    term: u64,
    vote: Option<NodeId>,
    role: Role,
    leader: Option<NodeId>,
}

impl Standing {
    /// A restarted replica: a follower that knows no leader, in its durable term and vote.
    pub(crate) fn recovered(term: u64, vote: Option<NodeId>) -> Self {
        Standing {
            term,
            vote,
            role: Role::Follower,
            leader: None,
        }
    }

    pub(crate) fn term(&self) -> u64 {
        self.term
    }

    pub(crate) fn vote(&self) -> Option<NodeId> {
        self.vote
    }

    pub(crate) fn role(&self) -> Role {
        self.role
    }

    pub(crate) fn leader(&self) -> Option<NodeId> {
        self.leader
    }

    /// Follows `leader` (or nobody yet) in `term`, adopting the term if it is newer (with no
    /// vote in it). Returns whether role or leader changed.
    pub(crate) fn follow(&mut self, term: u64, leader: Option<NodeId>) -> bool {
        assert!(term >= self.term, "term goes back");
        if term > self.term {
            self.term = term;
            self.vote = None;
        }
        let changed = self.role != Role::Follower || self.leader != leader;
        self.role = Role::Follower;
        self.leader = leader;
        changed
    }

    /// Asks for pre-votes (same term, no leader). Returns whether it was following one.
    pub(crate) fn pre_campaign(&mut self) -> bool {
        let was_following = self.leader.is_some();
        self.role = Role::PreCandidate;
        self.leader = None;
        was_following
    }

    /// Stands in the next term, voting for itself. Returns whether it was following a leader.
    pub(crate) fn campaign(&mut self, me: NodeId) -> bool {
        let was_following = self.leader.is_some();
        self.term = self
            .term
            .checked_add(1)
            .unwrap_or_else(|| panic!("term space exhausted at {}", self.term));
        self.vote = Some(me);
        self.role = Role::Candidate;
        self.leader = None;
        was_following
    }

    /// Won the election of its term.
    pub(crate) fn lead(&mut self, me: NodeId) {
        assert_eq!(self.role, Role::Candidate);
        assert_eq!(self.vote, Some(me), "a leader voted for itself");
        self.role = Role::Leader;
        self.leader = Some(me);
    }

    /// Whether this replica may grant `candidate` its vote (it has not voted for another in
    /// this term and follows no leader), the log being up to date aside.
    pub(crate) fn may_vote_for(&self, candidate: NodeId) -> bool {
        self.vote == Some(candidate) || (self.vote.is_none() && self.leader.is_none())
    }

    /// Votes for `candidate`: at most one vote per term.
    pub(crate) fn grant_vote(&mut self, candidate: NodeId) {
        assert!(
            self.vote.is_none() || self.vote == Some(candidate),
            "second vote in term {}",
            self.term
        );
        self.vote = Some(candidate);
    }
}
