//! The Raft state machine: its state, construction, input dispatch, timers and `ready()`.
//! Elections, replication, snapshots and reads live in sibling files as further `impl` blocks.

use super::campaign::Ballot;
use super::config::{RaftBugs, RaftConfig};
use super::incoming::Incoming;
use super::log::RaftLog;
use super::msg::RaftMsg;
use super::progress::Followers;
use super::reads::Reads;
use super::ready::{ReadState, Ready, ReadySnapshot};
use super::standing::Standing;
use super::timers::Timers;
use super::types::{Command, Entry, HardState, LeaderChange, Payload, Recovered, Role, Snapshot};
use crate::ids::NodeId;
use crate::rng::DetRng;
use crate::time::LocalInstant;
use rand::Rng;
use std::cmp::Ordering;
use std::time::Duration;
use thiserror::Error;

/// Why a proposal or a read was refused. Nothing was appended or registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum RequestError {
    /// This node is not the leader; `hint` is the leader it knows of, if any.
    #[error("not the leader (leader hint: {hint:?})")]
    NotLeader {
        /// The current leader as far as this node knows.
        hint: Option<NodeId>,
    },
    /// The command encodes larger than `append_bytes_max` (or cannot be encoded at all).
    #[error("command of {bytes} bytes exceeds append_bytes_max {max}")]
    TooLarge {
        /// Encoded size.
        bytes: usize,
        /// The bound.
        max: usize,
    },
    /// Too much is pending (`uncommitted_entries_max` or `reads_pending_max`).
    #[error("overloaded: {pending} pending, bound {max}")]
    Overloaded {
        /// How much is pending.
        pending: u64,
        /// The bound.
        max: u64,
    },
}

/// Why `compact` was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum CompactError {
    /// `upto_index` is not applied yet (or beyond the log).
    #[error("cannot compact up to {upto_index}: only {applied} applied")]
    NotApplied {
        /// Requested index.
        upto_index: u64,
        /// Applied index.
        applied: u64,
    },
}

/// A sans-IO Raft replica. See the module docs for how a host drives it.
#[derive(Debug)]
pub struct RaftCore<C> {
    pub(crate) id: NodeId,
    /// The other members, in id order.
    pub(crate) peers: Vec<NodeId>,
    pub(crate) cfg: RaftConfig,
    pub(crate) bugs: RaftBugs,
    pub(crate) standing: Standing,
    pub(crate) log: RaftLog<C>,
    /// The hard state last handed to the host.
    pub(crate) hard_state_handed: HardState,
    /// The latest snapshot's application bytes (sent to lagging followers).
    pub(crate) snapshot_data: Vec<u8>,
    pub(crate) now: LocalInstant,
    pub(crate) timers: Timers,
    /// Votes (or pre-votes) received in the current campaign.
    pub(crate) votes: Ballot,
    pub(crate) progress: Followers,
    pub(crate) reads: Reads,
    pub(crate) incoming: Incoming,
    pub(crate) msgs: Vec<(NodeId, RaftMsg<C>)>,
    pub(crate) snapshot_out: Option<ReadySnapshot>,
    pub(crate) leader_changes: Vec<LeaderChange>,
    pub(crate) snapshot_wanted_sent: bool,
    /// Messages refused since the host last asked ([`RaftCore::take_refused`]): why each one.
    pub(crate) refused: Vec<&'static str>,
}

impl<C: Command> RaftCore<C> {
    /// A replica `id` of the fixed cluster `members` (which includes `id`), restarted from
    /// `recovered` durable state at local time `now`. It starts as a follower with a random
    /// election timeout. Panics if `cfg` is invalid or `id` is not a member: both are harness
    /// bugs, not input.
    pub fn new(
        id: NodeId,
        members: &[NodeId],
        cfg: RaftConfig,
        bugs: RaftBugs,
        recovered: Recovered<C>,
        now: LocalInstant,
        rng: &mut DetRng,
    ) -> Self {
        if let Err((field, msg)) = cfg.validate() {
            panic!("invalid RaftConfig.{field}: {msg}");
        }
        assert!(members.contains(&id), "{id} is not a member");
        let mut peers: Vec<NodeId> = members.iter().copied().filter(|&m| m != id).collect();
        peers.sort_unstable();
        peers.dedup();
        let Recovered {
            hard_state,
            snapshot,
            entries,
        } = recovered;
        let lease = cfg.lease_read.is_some();
        let mut core = RaftCore {
            id,
            peers,
            cfg,
            bugs,
            standing: Standing::recovered(hard_state.term, hard_state.vote),
            log: RaftLog::recovered(snapshot.meta, entries),
            hard_state_handed: hard_state,
            snapshot_data: snapshot.data,
            now,
            timers: Timers::start(now, lease),
            votes: Ballot::default(),
            progress: Followers::default(),
            reads: Reads::default(),
            incoming: Incoming::default(),
            msgs: Vec::new(),
            snapshot_out: None,
            leader_changes: Vec::new(),
            snapshot_wanted_sent: false,
            refused: Vec::new(),
        };
        assert!(
            core.log.last_term() <= core.term() || core.bugs.any(),
            "log term {} ahead of hard state term {}",
            core.log.last_term(),
            core.term()
        );
        core.reset_election_deadline(rng);
        core
    }

    /// This replica's id.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// The current term.
    pub fn term(&self) -> u64 {
        self.standing.term()
    }

    /// The current role.
    pub fn role(&self) -> Role {
        self.standing.role()
    }

    /// The leader of the current term, if known (this node itself when leading).
    pub fn leader(&self) -> Option<NodeId> {
        self.standing.leader()
    }

    /// The vote cast in the current term.
    pub fn vote(&self) -> Option<NodeId> {
        self.standing.vote()
    }

    /// Highest index known committed.
    pub fn commit_index(&self) -> u64 {
        self.log.committed
    }

    /// Highest index handed to the host for application.
    pub fn applied_index(&self) -> u64 {
        self.log.applied
    }

    /// Index of the last log entry.
    pub fn last_index(&self) -> u64 {
        self.log.last_index()
    }

    /// Term of the entry at `index`, if it is in the log (or is the snapshot's last entry).
    pub fn term_at(&self, index: u64) -> Option<u64> {
        self.log.term_at(index)
    }

    /// The log's term boundaries after the snapshot: `(first_index, term)` of every run of
    /// entries of one term, lowest first (empty when no entry follows the snapshot).
    pub fn term_runs(&self) -> Vec<(u64, u64)> {
        self.log.term_runs()
    }

    /// The entry at `index`, if still in the log.
    pub fn entry(&self, index: u64) -> Option<&Entry<C>> {
        self.log.entry(index)
    }

    /// The latest snapshot's metadata.
    pub fn snapshot_meta(&self) -> super::types::SnapshotMeta {
        self.log.snapshot()
    }

    /// The configuration.
    pub fn config(&self) -> &RaftConfig {
        &self.cfg
    }

    pub(crate) fn quorum(&self) -> usize {
        let members = self.peers.len() + 1;
        members / 2 + 1
    }

    /// The earliest local time at which `on_time` has something to do: the host sets one
    /// timer for it (and may call `on_time` earlier or later; it is idempotent).
    pub fn next_deadline(&self) -> LocalInstant {
        self.timers.next(self.role(), self.cfg.check_quorum)
    }

    pub(crate) fn observe_time(&mut self, now: LocalInstant) {
        assert!(now >= self.now, "local monotonic clock went back");
        self.now = now;
    }

    /// Advances time: starts elections, sends heartbeats, checks the quorum.
    pub fn on_time(&mut self, now: LocalInstant, rng: &mut DetRng) {
        self.observe_time(now);
        if self.role() == Role::Leader {
            if self.cfg.check_quorum && self.timers.quorum_due(now) {
                self.check_quorum(rng);
                if self.role() != Role::Leader {
                    return;
                }
            }
            if self.timers.heartbeat_due(now, self.cfg.heartbeat()) {
                self.broadcast_heartbeat();
            }
        } else if self.timers.election_due(now) {
            self.campaign(now, rng);
        }
    }

    /// BUGGIFY: the election timer runs out now, as if heartbeats had gone missing (a leader
    /// is not affected).
    pub fn expire_election_timer(&mut self) {
        if self.role() != Role::Leader {
            self.timers.expire_election(self.now);
        }
    }

    pub(crate) fn reset_election_deadline(&mut self, rng: &mut DetRng) {
        let ms =
            rng.random_range(self.cfg.election_timeout_ms_min..self.cfg.election_timeout_ms_max);
        self.timers
            .restart_election(self.now, Duration::from_millis(ms));
    }

    /// Whether this node believes a live leader exists: it leads, or it heard from the leader
    /// within the minimum election timeout. Such a node refuses to help depose it.
    pub(crate) fn leader_is_live(&self, now: LocalInstant) -> bool {
        self.role() == Role::Leader
            || self
                .timers
                .leader_contact_at()
                .is_some_and(|t| now < t.saturating_add(self.cfg.election_min()))
    }

    pub(crate) fn send(&mut self, to: NodeId, msg: RaftMsg<C>) {
        debug_assert!(to != self.id && self.peers.contains(&to));
        self.msgs.push((to, msg));
    }

    /// Handles a message from a peer.
    pub fn step(&mut self, from: NodeId, msg: RaftMsg<C>, now: LocalInstant, rng: &mut DetRng) {
        self.observe_time(now);
        if from == self.id || !self.peers.contains(&from) {
            return;
        }
        if let Err(why) = msg.check() {
            self.refuse(why);
            return;
        }
        let term = msg.term();
        match term.cmp(&self.term()) {
            Ordering::Greater => match &msg {
                RaftMsg::PreVote { .. } | RaftMsg::PreVoteResp { granted: true, .. } => {}
                RaftMsg::Vote { .. } if self.votes_ignored(now) => return,
                RaftMsg::Append { .. } | RaftMsg::Snapshot { .. } => {
                    self.become_follower(term, Some(from), rng);
                }
                _ => self.become_follower(term, None, rng),
            },
            Ordering::Less => {
                self.reply_stale(from, &msg);
                return;
            }
            Ordering::Equal => {}
        }
        match msg {
            RaftMsg::PreVote {
                term,
                last_index,
                last_term,
            } => self.on_pre_vote(from, term, last_index, last_term, now),
            RaftMsg::PreVoteResp { term, granted } => {
                self.on_pre_vote_resp(from, term, granted, rng)
            }
            RaftMsg::Vote {
                last_index,
                last_term,
                ..
            } => self.on_vote(from, last_index, last_term, rng),
            RaftMsg::VoteResp { granted, .. } => self.on_vote_resp(from, granted),
            RaftMsg::Append {
                prev_index,
                prev_term,
                entries,
                commit,
                round,
                ..
            } => {
                if self.follow(from, rng) {
                    self.on_append(from, prev_index, prev_term, entries, commit, round);
                }
            }
            RaftMsg::AppendResp {
                index,
                reject,
                round,
                ..
            } => self.on_append_resp(from, index, reject, round),
            RaftMsg::Snapshot {
                meta,
                offset,
                data,
                done,
                round,
                ..
            } => {
                if self.follow(from, rng) {
                    self.on_snapshot_chunk(from, meta, offset, data, done, round);
                }
            }
            RaftMsg::SnapshotResp {
                index,
                next_offset,
                installed,
                round,
                ..
            } => self.on_snapshot_resp(from, index, next_offset, installed, round),
        }
    }

    /// A message from an older term: tell its sender our term so an old leader or candidate
    /// steps down; responses from older terms are dropped.
    fn reply_stale(&mut self, from: NodeId, msg: &RaftMsg<C>) {
        let term = self.term();
        let reply = match msg {
            RaftMsg::PreVote { .. } => RaftMsg::PreVoteResp {
                term,
                granted: false,
            },
            RaftMsg::Vote { .. } => RaftMsg::VoteResp {
                term,
                granted: false,
            },
            RaftMsg::Append { round, .. } | RaftMsg::Snapshot { round, .. } => {
                RaftMsg::AppendResp {
                    term,
                    index: 0,
                    reject: None,
                    round: *round,
                }
            }
            _ => return,
        };
        self.send(from, reply);
    }

    /// Accepts `from` as the leader of the current term.
    /// False (and refused) when this node leads the term itself: no correct peer claims it
    /// too. Under planted bugs two leaders can share a term, and this one steps down.
    fn follow(&mut self, from: NodeId, rng: &mut DetRng) -> bool {
        if self.role() != Role::Follower || self.leader() != Some(from) {
            if self.role() == Role::Leader && !self.bugs.any() {
                self.refuse("a second leader in this node's own term");
                return false;
            }
            self.become_follower(self.term(), Some(from), rng);
        }
        self.timers.leader_heard(self.now);
        self.reset_election_deadline(rng);
        true
    }

    /// Notes a peer message no correct replica sends, and drops it.
    pub(crate) fn refuse(&mut self, why: &'static str) {
        // Bounded: a host that never asks keeps only the first reasons.
        if self.refused.len() < 64 {
            self.refused.push(why);
        }
    }

    /// Why peer messages were refused since the last call (the host notes them: under
    /// simulation a refusal is a finding, on real sockets a hostile or broken peer).
    pub fn take_refused(&mut self) -> Vec<&'static str> {
        std::mem::take(&mut self.refused)
    }

    /// Proposes a command; on success returns the `(index, term)` it was appended at. It is
    /// committed once that index shows up in `Ready::committed` with that term.
    pub fn propose(&mut self, cmd: C, now: LocalInstant) -> Result<(u64, u64), RequestError> {
        self.observe_time(now);
        if self.role() != Role::Leader {
            return Err(RequestError::NotLeader {
                hint: self.leader(),
            });
        }
        let pending = self.log.last_index() - self.log.committed;
        if pending >= self.cfg.uncommitted_entries_max {
            return Err(RequestError::Overloaded {
                pending,
                max: self.cfg.uncommitted_entries_max,
            });
        }
        let entry = Entry {
            term: self.term(),
            index: self.log.last_index() + 1,
            payload: Payload::Command(cmd),
        };
        let bytes = encoded_len(&entry);
        if bytes > self.cfg.append_bytes_max {
            return Err(RequestError::TooLarge {
                bytes,
                max: self.cfg.append_bytes_max,
            });
        }
        let at = (entry.index, entry.term);
        self.log.push(entry);
        Ok(at)
    }

    /// Drains everything the host must do; see [`Ready`] for the order.
    pub fn ready(&mut self) -> Ready<C> {
        let hard_state = self.take_hard_state();
        let snapshot = self.snapshot_out.take();
        let truncate_from = self.log.truncate_from.take();
        let entries = self.log.take_unpersisted();
        if self.role() == Role::Leader {
            // Our own entries count towards the quorum once handed over: the host makes them
            // durable before any message of this Ready (and so any ack) can arrive.
            self.maybe_commit();
            self.flush_read_round();
            self.replicate_all();
        }
        let committed = self.log.take_applicable();
        self.reads.release_applied(self.log.applied);
        let reads: Vec<ReadState> = self.reads.take_ready();
        let applied_in_log = self.log.applied - self.log.snapshot().index;
        let snapshot_wanted =
            !self.snapshot_wanted_sent && applied_in_log >= self.cfg.compact_after_entries;
        self.snapshot_wanted_sent |= snapshot_wanted;
        self.log.check(!self.bugs.any());
        Ready {
            hard_state,
            snapshot,
            truncate_from,
            entries,
            messages: std::mem::take(&mut self.msgs),
            committed,
            reads,
            leader_changes: std::mem::take(&mut self.leader_changes),
            snapshot_wanted,
        }
    }

    fn take_hard_state(&mut self) -> Option<HardState> {
        let vote = if self.bugs.vote_not_persisted {
            None
        } else {
            self.vote()
        };
        let hs = HardState {
            term: self.term(),
            vote,
        };
        assert!(hs.term >= self.hard_state_handed.term, "term went back");
        // One vote per term (§5.2): within a term the persisted vote may only be set, never
        // moved to another candidate.
        assert!(
            hs.term > self.hard_state_handed.term
                || self.hard_state_handed.vote.is_none()
                || self.hard_state_handed.vote == hs.vote,
            "vote moved within term {}",
            hs.term
        );
        (hs != self.hard_state_handed).then(|| {
            self.hard_state_handed = hs;
            hs
        })
    }

    /// The host's snapshot of its application up to `upto_index` (which it has applied):
    /// drops the log up to there. The next `ready()` asks to persist it.
    pub fn compact(&mut self, upto_index: u64, app_snapshot: Vec<u8>) -> Result<(), CompactError> {
        let snap = self.log.snapshot();
        if upto_index <= snap.index {
            return Ok(());
        }
        let term = match self.log.term_at(upto_index) {
            Some(t) if upto_index <= self.log.applied => t,
            _ => {
                return Err(CompactError::NotApplied {
                    upto_index,
                    applied: self.log.applied,
                });
            }
        };
        let meta = super::types::SnapshotMeta {
            index: upto_index,
            term,
        };
        self.log.compact(meta);
        self.snapshot_data = app_snapshot;
        self.snapshot_wanted_sent = false;
        self.snapshot_out = Some(ReadySnapshot {
            snapshot: Snapshot {
                meta,
                data: self.snapshot_data.clone(),
            },
            restore: false,
        });
        Ok(())
    }

    pub(crate) fn note_leader_change(&mut self) {
        self.leader_changes.push(LeaderChange {
            term: self.term(),
            leader: self.leader(),
            role: self.role(),
        });
    }
}

/// JSON size of a value, without allocating it; `usize::MAX` when it cannot be encoded.
pub(crate) fn encoded_len<T: serde::Serialize>(value: &T) -> usize {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut c = Counter(0);
    match serde_json::to_writer(&mut c, value) {
        Ok(()) => c.0,
        Err(_) => usize::MAX,
    }
}
