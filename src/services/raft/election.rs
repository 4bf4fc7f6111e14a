//! Elections: PreVote, RequestVote, role changes and CheckQuorum.

use super::core::RaftCore;
use super::msg::RaftMsg;
use super::types::{Command, Entry, Payload, Role};
use crate::ids::NodeId;
use crate::rng::DetRng;
use crate::time::LocalInstant;

impl<C: Command> RaftCore<C> {
    /// Starts an election now (a pre-vote round first when `pre_vote` is on), as if the
    /// election timeout had fired. Leaders ignore it.
    pub fn campaign(&mut self, now: LocalInstant, rng: &mut DetRng) {
        self.observe_time(now);
        if self.role() == Role::Leader {
            return;
        }
        if self.cfg.pre_vote {
            self.become_pre_candidate(rng);
        } else {
            self.become_candidate(rng);
        }
    }

    /// With CheckQuorum or leases, a node that believes in a live leader ignores requests to
    /// vote in a higher term: it neither grants nor adopts the term, so a disruptive node
    /// cannot depose the leader (and a lease stays safe).
    pub(crate) fn votes_ignored(&self, now: LocalInstant) -> bool {
        (self.cfg.check_quorum || self.cfg.lease_read.is_some()) && self.leader_is_live(now)
    }

    pub(crate) fn become_follower(&mut self, term: u64, leader: Option<NodeId>, rng: &mut DetRng) {
        let changed = self.standing.follow(term, leader);
        self.progress.forget();
        self.votes.clear();
        self.reads.clear_on_step_down();
        self.reset_election_deadline(rng);
        if changed {
            self.note_leader_change();
        }
    }

    fn become_pre_candidate(&mut self, rng: &mut DetRng) {
        let was_following = self.standing.pre_campaign();
        self.progress.forget();
        self.reads.clear_on_step_down();
        self.votes.start(self.id);
        self.reset_election_deadline(rng);
        if was_following {
            self.note_leader_change();
        }
        let (last_index, last_term) = (self.log.last_index(), self.log.last_term());
        for peer in self.peers.clone() {
            self.send(
                peer,
                RaftMsg::PreVote {
                    term: self.term() + 1,
                    last_index,
                    last_term,
                },
            );
        }
        if self.votes_won() {
            self.become_candidate(rng);
        }
    }

    fn become_candidate(&mut self, rng: &mut DetRng) {
        let was_following = self.standing.campaign(self.id);
        self.progress.forget();
        self.reads.clear_on_step_down();
        self.votes.start(self.id);
        self.reset_election_deadline(rng);
        if was_following {
            self.note_leader_change();
        }
        let (last_index, last_term) = (self.log.last_index(), self.log.last_term());
        for peer in self.peers.clone() {
            self.send(
                peer,
                RaftMsg::Vote {
                    term: self.term(),
                    last_index,
                    last_term,
                },
            );
        }
        if self.votes_won() {
            self.become_leader();
        }
    }

    fn become_leader(&mut self) {
        self.standing.lead(self.id);
        let next = self.log.last_index() + 1;
        self.progress.start_term(&self.peers, next);
        self.reads.start_term(self.now);
        self.timers
            .start_leading(self.now, self.cfg.heartbeat(), self.cfg.election_min());
        // §5.4.2 / §6.4: an entry of our own term commits everything before it and lets
        // ReadIndex start.
        self.log.push(Entry {
            term: self.term(),
            index: next,
            payload: Payload::Noop,
        });
        self.note_leader_change();
        self.broadcast_heartbeat();
    }

    fn votes_won(&self) -> bool {
        self.votes.won(self.quorum())
    }

    fn votes_lost(&self) -> bool {
        self.votes.lost(self.quorum())
    }

    pub(crate) fn on_pre_vote(
        &mut self,
        from: NodeId,
        term: u64,
        last_index: u64,
        last_term: u64,
        now: LocalInstant,
    ) {
        // Thesis §9.6: grant only if we too believe the leader is gone.
        let granted = term > self.term()
            && !self.leader_is_live(now)
            && (self.bugs.vote_ignores_log || self.log.is_up_to_date(last_index, last_term));
        let term = if granted { term } else { self.term() };
        self.send(from, RaftMsg::PreVoteResp { term, granted });
    }

    pub(crate) fn on_pre_vote_resp(
        &mut self,
        from: NodeId,
        term: u64,
        granted: bool,
        rng: &mut DetRng,
    ) {
        let ours = if granted {
            self.term() + 1
        } else {
            self.term()
        };
        if self.role() != Role::PreCandidate || term != ours {
            return;
        }
        self.votes.record(from, granted);
        if self.votes_won() {
            self.become_candidate(rng);
        } else if self.votes_lost() {
            self.become_follower(self.term(), None, rng);
        }
    }

    pub(crate) fn on_vote(
        &mut self,
        from: NodeId,
        last_index: u64,
        last_term: u64,
        rng: &mut DetRng,
    ) {
        let granted = self.standing.may_vote_for(from)
            && (self.bugs.vote_ignores_log || self.log.is_up_to_date(last_index, last_term));
        if granted {
            self.standing.grant_vote(from);
            self.reset_election_deadline(rng);
        }
        self.send(
            from,
            RaftMsg::VoteResp {
                term: self.term(),
                granted,
            },
        );
    }

    pub(crate) fn on_vote_resp(&mut self, from: NodeId, granted: bool) {
        if self.role() != Role::Candidate {
            return;
        }
        self.votes.record(from, granted);
        if self.votes_won() {
            self.become_leader();
        } else if self.votes_lost() {
            // Wait for the election timeout: stepping down at once would not help, and the
            // randomised timeout is what breaks split votes.
        }
    }

    /// CheckQuorum: step down unless a majority was heard from since the last check.
    pub(crate) fn check_quorum(&mut self, rng: &mut DetRng) {
        let quorum = self.quorum();
        if !self.progress.heard_from_quorum(quorum) {
            self.become_follower(self.term(), None, rng);
            return;
        }
        self.timers.quorum_heard(self.now, self.cfg.election_min());
    }
}
