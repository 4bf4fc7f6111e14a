//! One replica: a faultlab [`Service`] that owns a raft-rs [`RawNode`] and carries out every
//! `Ready` in the order raft-rs's contract gives, with faultlab's disk and network:
//!
//! 1. send `messages` at once (a leader's appends and heartbeats may go out while its own
//!    write is in flight — Raft thesis §10.2.1);
//! 2. persist the snapshot, entries and hard state to the WAL (page cache);
//! 3. `ctx.sync()` when the Ready must be synced — every output after it waits for the fsync;
//! 4. send `persisted_messages` (votes, append acks): only now are they true;
//! 5. restore the state machine from the snapshot, apply committed entries, answer clients;
//! 6. `advance`, then the `LightReady`: commit index, messages, committed entries;
//!    `advance_apply`.
//!
//! Ticks come from a faultlab timer on the node's local monotonic clock. Reads go through
//! ReadIndex (`ReadOnlyOption::Safe`); writes through the log, with client sessions.
//!
//! raft-rs draws its randomized election timeout from `rand::thread_rng()`, which would make
//! runs irreproducible; after every `tick`/`step`, when an election-timer reset has just
//! happened (`election_elapsed == 0` off the leader), the node draws the timeout again from its
//! seeded `ctx.rng()` in the same range.
//!
//! Facts the invariants check are recorded with `ctx.observe`: `raftkv/leader` (a node leads a
//! term), `raftkv/vote` (a vote granted, as it is sent), `raftkv/applied` (index, term and state
//! digest after each applied entry or restored snapshot), `raftkv/started`, `raftkv/refused`
//! (the durable state cannot be trusted: the node serves nothing, for good) and
//! `raftkv/lost-acknowledged` (a leader's message proves this node lost entries it had
//! acknowledged — raft-rs would panic; the node stops instead).

use crate::machine::{Applied, Command, KvOp, KvOutput, Machine};
use crate::msg::{KvRequest, KvResponse, RaftKvMsg};
use crate::wal::{self, LoadError, LogStore, Wal, WalError};
use crate::{APPLY_BEFORE_PERSIST, LEASE_READ, SEND_BEFORE_PERSIST, SNAPSHOT_NOT_PERSISTED};
use faultlab::prelude::*;
use raft::eraftpb::{Entry, Message as RaftMessage, MessageType, Snapshot};
use raft::{RawNode, ReadOnlyOption, SnapshotStatus, StateRole};
use std::collections::BTreeMap;
use std::time::Duration;

const TICK: TimerId = TimerId(1);
const GROUP_COMMIT: TimerId = TimerId(2);

/// How every replica is configured (from the `[raftkv]` options).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeConfig {
    /// One raft tick, on the local monotonic clock.
    pub tick_ms: u64,
    /// Election timeout in ticks: randomized in `[election_ticks, 2 × election_ticks)`.
    pub election_ticks: usize,
    /// Heartbeat interval in ticks.
    pub heartbeat_ticks: usize,
    /// A leader steps down when it has not heard from a quorum for an election timeout.
    pub check_quorum: bool,
    /// PreVote: a node rejoining does not disrupt a working leader.
    pub pre_vote: bool,
    /// Take a snapshot (and drop the log before it) once this many entries were applied
    /// since the last one.
    pub compact_after_entries: u64,
    /// Rewrite the WAL once this many records were appended since it was last rewritten.
    pub rewrite_after_records: u64,
    /// raft-rs: bytes of entries per append message.
    pub max_size_per_msg: u64,
    /// raft-rs: append messages in flight per follower.
    pub max_inflight_msgs: usize,
    /// Planted bug `raftkv-apply-before-persist` only: the background fsync interval.
    pub group_commit_ms: u64,
}

/// The planted bugs this run switched on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Bugs {
    send_before_persist: bool,
    apply_before_persist: bool,
    lease_read: bool,
    snapshot_not_persisted: bool,
}

/// One replica.
pub struct RaftKvNode {
    /// `None` once the node found its durable state untrustworthy (or raft-rs could not start
    /// on it): it then serves nothing and takes no part in the protocol — never starts afresh.
    live: Option<Live>,
}

struct Live {
    raw: RawNode<LogStore>,
    wal: Wal,
    machine: Machine,
    cfg: NodeConfig,
    bugs: Bugs,
    id: u64,
    /// Writes proposed here and waiting to be applied, by session (client, seq).
    writes: BTreeMap<(u64, u64), Vec<ReplyTo>>,
    /// Reads waiting for ReadIndex to confirm leadership, by request context.
    reads: BTreeMap<u64, (ReplyTo, String)>,
    /// Reads confirmed at a commit index, waiting for the state machine to reach it.
    confirmed: Vec<(u64, ReplyTo, String)>,
    next_read: u64,
    /// The term this node leads, while it does.
    leading: Option<u64>,
    /// Peers a snapshot was sent to: reported to raft-rs once the Ready is advanced.
    snapshot_sent: Vec<u64>,
    /// `raftkv-apply-before-persist`: writes not yet synced, and the persisted messages held
    /// until the background fsync.
    dirty: bool,
    held: Vec<RaftMessage>,
    group_commit_armed: bool,
}

/// Why a replica stops.
enum Stop {
    /// The durable state cannot be trusted: serve nothing.
    Refuse(String),
    /// A leader's message proves this node lost entries it had acknowledged (raft-rs would
    /// panic on it): serve nothing.
    LostAcknowledged(String),
    /// The disk refused a write: halt, and start again from what the disk holds.
    Halt(String),
}

impl Stop {
    fn of_wal(context: &str, e: WalError) -> Stop {
        match e {
            WalError::Storage(e) => Stop::Halt(format!("{context}: {e}")),
            WalError::Encode(e) => Stop::Refuse(format!("{context}: {e}")),
        }
    }

    fn carry_out(self, ctx: &mut Ctx<'_, RaftKvNode>) {
        match self {
            Stop::Refuse(reason) => {
                ctx.observe("raftkv/refused", json!({ "reason": reason }));
            }
            Stop::LostAcknowledged(reason) => {
                ctx.observe("raftkv/lost-acknowledged", json!({ "reason": reason }));
            }
            Stop::Halt(reason) => {
                ctx.note("raftkv/storage-failed", json!(reason));
                ctx.halt(reason);
            }
        }
    }
}

fn raft_id(node: NodeId) -> u64 {
    u64::from(node.0) + 1
}

fn node_of(raft_id: u64) -> Option<NodeId> {
    raft_id
        .checked_sub(1)
        .and_then(|n| u32::try_from(n).ok())
        .map(NodeId)
}

fn raft_config(cfg: &NodeConfig, id: u64, applied: u64, bugs: Bugs) -> raft::Config {
    raft::Config {
        id,
        election_tick: cfg.election_ticks,
        heartbeat_tick: cfg.heartbeat_ticks,
        applied,
        max_size_per_msg: cfg.max_size_per_msg,
        max_inflight_msgs: cfg.max_inflight_msgs,
        // raft-rs requires CheckQuorum for lease reads (the planted bug switches both on).
        check_quorum: cfg.check_quorum || bugs.lease_read,
        pre_vote: cfg.pre_vote,
        min_election_tick: cfg.election_ticks,
        max_election_tick: 2 * cfg.election_ticks,
        read_only_option: if bugs.lease_read {
            ReadOnlyOption::LeaseBased
        } else {
            ReadOnlyOption::Safe
        },
        ..raft::Config::default()
    }
}

impl Service for RaftKvNode {
    type Msg = RaftKvMsg;
    type Request = KvRequest;
    type Response = KvResponse;
    type Config = NodeConfig;

    fn start(cfg: &NodeConfig, ctx: &mut Ctx<'_, Self>) -> Self {
        ctx.set_timer(TICK, Duration::from_millis(cfg.tick_ms));
        let mut node = RaftKvNode { live: None };
        match Live::recover(cfg, ctx) {
            Ok(live) => {
                ctx.observe(
                    "raftkv/started",
                    json!({ "applied": live.machine.applied() }),
                );
                if live.machine.applied() > 0 {
                    let term = live.raw.store().snapshot_ref().get_metadata().term;
                    live.observe_applied(ctx, term);
                }
                node.live = Some(live);
            }
            Err(stop) => stop.carry_out(ctx),
        }
        node.drive(ctx);
        node
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: RaftKvMsg) {
        let Some(live) = &mut self.live else {
            return;
        };
        let m = match msg.decode() {
            Ok(m) => m,
            Err(e) => {
                ctx.note("raftkv/undecodable-message", json!(e));
                return;
            }
        };
        if m.from != raft_id(from) || m.to != live.id || !is_peer_message(m.get_msg_type()) {
            ctx.note(
                "raftkv/unexpected-message",
                json!({"from": m.from, "to": m.to, "type": format!("{:?}", m.get_msg_type())}),
            );
            return;
        }
        if let Err(reason) = live.well_formed(&m) {
            ctx.note("raftkv/malformed-message", json!(reason));
            return;
        }
        if let Err(reason) = live.check_safe(&m) {
            Stop::LostAcknowledged(reason).carry_out(ctx);
            self.live = None;
            return;
        }
        // An error here is raft-rs dropping a message it does not want (a stale response).
        let _ = live.raw.step(m);
        live.derandomize(ctx);
        self.drive(ctx);
    }

    fn on_request(&mut self, ctx: &mut Ctx<'_, Self>, from: ReplyTo, req: KvRequest) {
        let Some(live) = &mut self.live else {
            ctx.reply(from, KvResponse::Unavailable);
            return;
        };
        live.accept(ctx, from, req);
        live.derandomize(ctx);
        self.drive(ctx);
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, timer: TimerId) {
        let Some(live) = &mut self.live else {
            return;
        };
        match timer {
            TICK => {
                ctx.set_timer(TICK, Duration::from_millis(live.cfg.tick_ms));
                live.raw.tick();
                live.derandomize(ctx);
            }
            GROUP_COMMIT => live.group_commit(ctx),
            _ => {}
        }
        self.drive(ctx);
    }
}

/// The message types nodes exchange; anything else from the network is dropped (local
/// messages, forwarded proposals and reads, leader transfer — none of which this service uses).
fn is_peer_message(t: MessageType) -> bool {
    use MessageType::*;
    matches!(
        t,
        MsgAppend
            | MsgAppendResponse
            | MsgRequestVote
            | MsgRequestVoteResponse
            | MsgRequestPreVote
            | MsgRequestPreVoteResponse
            | MsgSnapshot
            | MsgHeartbeat
            | MsgHeartbeatResponse
    )
}

impl RaftKvNode {
    /// Handles every `Ready` raft-rs has, then what follows from them.
    fn drive(&mut self, ctx: &mut Ctx<'_, Self>) {
        // Bounded: each round either handles a Ready or reports snapshots; raft-rs settles.
        for _ in 0..256 {
            let Some(live) = &mut self.live else {
                return;
            };
            if live.raw.has_ready() {
                if let Err(stop) = live.handle_ready(ctx) {
                    stop.carry_out(ctx);
                    self.live = None;
                    return;
                }
                live.track_leadership(ctx);
                continue;
            }
            if live.snapshot_sent.is_empty() {
                break;
            }
            // We cannot know whether a snapshot arrived: report it finished, so raft-rs probes
            // the follower again (and sends another snapshot if it still needs one).
            for to in std::mem::take(&mut live.snapshot_sent) {
                live.raw.report_snapshot(to, SnapshotStatus::Finish);
            }
        }
        let Some(live) = &mut self.live else {
            return;
        };
        live.track_leadership(ctx);
        live.serve_confirmed(ctx);
        if let Err(stop) = live.maybe_compact(ctx) {
            stop.carry_out(ctx);
            self.live = None;
        }
    }
}

impl Live {
    fn recover(cfg: &NodeConfig, ctx: &mut Ctx<'_, RaftKvNode>) -> Result<Live, Stop> {
        let bugs = Bugs {
            send_before_persist: ctx.bug(SEND_BEFORE_PERSIST),
            apply_before_persist: ctx.bug(APPLY_BEFORE_PERSIST),
            lease_read: ctx.bug(LEASE_READ),
            snapshot_not_persisted: ctx.bug(SNAPSHOT_NOT_PERSISTED),
        };
        let id = raft_id(ctx.node());
        let voters: Vec<u64> = ctx.info().cluster.iter().map(|&n| raft_id(n)).collect();
        let loaded = wal::load(ctx.storage(), &voters).map_err(|e| match e {
            LoadError::Storage(e) => Stop::Halt(format!("cannot read the WAL: {e}")),
            e @ LoadError::Corrupt { .. } => Stop::Refuse(format!("cannot recover: {e}")),
        })?;
        if let Some(torn) = loaded.torn {
            // Only a record that was never completely written can be torn: never synced, so
            // never acknowledged. Dropping it is safe; it is reported, not hidden.
            ctx.note(
                "raftkv/torn-tail-truncated",
                json!({"offset": torn.offset, "dropped": torn.dropped}),
            );
        }
        let snap = loaded.store.snapshot_ref().get_metadata().index;
        let machine = if snap == 0 {
            Machine::default()
        } else {
            Machine::restore(&loaded.store.snapshot_ref().data, snap)
                .map_err(|e| Stop::Refuse(format!("cannot restore the snapshot: {e}")))?
        };
        let config = raft_config(cfg, id, snap, bugs);
        config
            .validate()
            .map_err(|e| Stop::Refuse(format!("raft config: {e}")))?;
        let logger = slog::Logger::root(slog::Discard, slog::o!());
        let raw = RawNode::new(&config, loaded.store, &logger)
            .map_err(|e| Stop::Refuse(format!("raft-rs refused the durable state: {e}")))?;
        let mut live = Live {
            raw,
            wal: Wal::default(),
            machine,
            cfg: cfg.clone(),
            bugs,
            id,
            writes: BTreeMap::new(),
            reads: BTreeMap::new(),
            confirmed: Vec::new(),
            next_read: 0,
            leading: None,
            snapshot_sent: Vec::new(),
            dirty: false,
            held: Vec::new(),
            group_commit_armed: false,
        };
        // RawNode::new became follower and drew its timeout from thread_rng: draw it again.
        live.derandomize(ctx);
        Ok(live)
    }

    /// Redraws raft-rs's randomized election timeout from the seeded RNG whenever its election
    /// timer has just been reset (raft-rs drew it from `thread_rng`).
    fn derandomize(&mut self, ctx: &mut Ctx<'_, RaftKvNode>) {
        let r = &mut self.raw.raft;
        if r.state != StateRole::Leader && r.election_elapsed == 0 {
            let e = self.cfg.election_ticks;
            let t = ctx.rng().random_range(e..2 * e);
            r.set_randomized_election_timeout(t);
        }
    }

    /// What raft-rs assumes of a message and does not check (it would panic or reconfigure
    /// itself otherwise): appended entries contiguous after the message's index with terms
    /// that do not go back, a snapshot of this cluster whose image restores. Our own nodes
    /// never send anything else; a message that breaks these is dropped, never stepped.
    fn well_formed(&self, m: &RaftMessage) -> Result<(), String> {
        let mut prev = (m.index, m.log_term);
        for e in m.entries.iter() {
            if e.index != prev.0 + 1 || e.term < prev.1 || e.term > m.term {
                return Err(format!(
                    "entry ({}, term {}) after ({}, term {})",
                    e.index, e.term, prev.0, prev.1
                ));
            }
            prev = (e.index, e.term);
        }
        if m.get_msg_type() == MessageType::MsgSnapshot {
            let meta = m.get_snapshot().get_metadata();
            let mut voters = meta.get_conf_state().voters.clone();
            voters.sort_unstable();
            if voters != self.raw.store().conf_state().voters {
                return Err(format!("snapshot of another membership: {voters:?}"));
            }
            if meta.term > m.term || meta.index == 0 {
                return Err(format!("snapshot at ({}, term {})", meta.index, meta.term));
            }
            Machine::restore(&m.get_snapshot().data, meta.index)?;
        }
        Ok(())
    }

    /// raft-rs panics (by design: "was the raft log lost?") on a few messages that prove this
    /// node lost entries it had acknowledged. A peer's message must never panic a node, so
    /// those are caught here first; they cannot happen unless this node's durable state broke
    /// a promise, so it stops serving.
    fn check_safe(&self, m: &RaftMessage) -> Result<(), String> {
        let r = &self.raw.raft;
        if m.term < r.term {
            return Ok(());
        }
        let log = &r.raft_log;
        match m.get_msg_type() {
            MessageType::MsgHeartbeat if m.commit > log.last_index() => Err(format!(
                "leader {} says index {} is committed here, but my log ends at {}: I lost \
                 entries I had acknowledged",
                m.from,
                m.commit,
                log.last_index()
            )),
            MessageType::MsgAppend
                if m.index >= log.committed && log.match_term(m.index, m.log_term) =>
            {
                for e in m.entries.iter() {
                    if e.index <= log.committed && log.term(e.index).ok() != Some(e.term) {
                        return Err(format!(
                            "leader {} overwrites my committed entry {} with one of term {}",
                            m.from, e.index, e.term
                        ));
                    }
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn hint(&self) -> Option<NodeId> {
        let leader = self.raw.raft.leader_id;
        if leader == 0 || leader == self.id {
            None
        } else {
            node_of(leader)
        }
    }

    /// Admits a client request: a read through ReadIndex, a write through the log.
    fn accept(&mut self, ctx: &mut Ctx<'_, RaftKvNode>, from: ReplyTo, req: KvRequest) {
        if self.raw.raft.state != StateRole::Leader {
            ctx.reply(from, KvResponse::NotLeader { hint: self.hint() });
            return;
        }
        if let KvOp::Get { key } = req.op {
            let id = self.next_read;
            self.next_read += 1;
            self.reads.insert(id, (from, key));
            self.raw.read_index(id.to_be_bytes().to_vec());
            return;
        }
        let session = (req.client_id, req.seq);
        if let Some(out) = self.machine.answered(req.client_id, req.seq) {
            // Applied already (committed): its output is final.
            ctx.reply(from, KvResponse::Done(out.clone()));
            return;
        }
        if self.machine.superseded(req.client_id, req.seq) {
            ctx.reply(from, KvResponse::Unknown);
            return;
        }
        if let Some(waiting) = self.writes.get_mut(&session) {
            // A retry of a write already in the log: wait for the same entry.
            waiting.push(from);
            return;
        }
        let cmd = Command {
            client_id: req.client_id,
            seq: req.seq,
            op: req.op,
        };
        let data = match serde_json::to_vec(&cmd) {
            Ok(d) => d,
            Err(_) => {
                ctx.reply(from, KvResponse::NotLeader { hint: None });
                return;
            }
        };
        match self.raw.propose(Vec::new(), data) {
            Ok(()) => {
                self.writes.insert(session, vec![from]);
            }
            // Dropped before reaching the log: definitely not applied.
            Err(_) => ctx.reply(from, KvResponse::NotLeader { hint: self.hint() }),
        }
    }

    fn send_all(&mut self, ctx: &mut Ctx<'_, RaftKvNode>, msgs: Vec<RaftMessage>) {
        for m in msgs {
            let Some(to) = node_of(m.to) else {
                continue;
            };
            match m.get_msg_type() {
                MessageType::MsgRequestVoteResponse if !m.reject => {
                    ctx.observe("raftkv/vote", json!({"term": m.term, "candidate": m.to}));
                }
                MessageType::MsgSnapshot => self.snapshot_sent.push(m.to),
                _ => {}
            }
            match RaftKvMsg::encode(&m) {
                Ok(w) => ctx.send(to, w),
                Err(e) => ctx.note("raftkv/unencodable-message", json!(e)),
            }
        }
    }

    /// Carries out one `Ready` (see the module docs for the order).
    fn handle_ready(&mut self, ctx: &mut Ctx<'_, RaftKvNode>) -> Result<(), Stop> {
        let mut rd = self.raw.ready();
        // 1. What needs no persistence: a leader's appends and heartbeats.
        let msgs = rd.take_messages();
        self.send_all(ctx, msgs);
        let mut persisted = rd.take_persisted_messages();
        if self.bugs.send_before_persist {
            // PLANTED BUG: votes and append acks go out before what they promise is durable.
            let early = std::mem::take(&mut persisted);
            self.send_all(ctx, early);
        }
        // 2. Persist: hard state, snapshot, entries (page cache).
        let snapshot: Option<Snapshot> = (!rd.snapshot().is_empty()).then(|| rd.snapshot().clone());
        let mut hs = rd.hs().cloned();
        if let Some(h) = &hs {
            self.raw.mut_store().set_hard_state(h.clone());
        }
        if let Some(s) = &snapshot {
            self.raw.mut_store().install_snapshot(s.clone());
            if !self.bugs.snapshot_not_persisted {
                // The whole WAL becomes [snapshot][hard state]; the hard state is in it.
                self.wal
                    .rewrite(ctx.storage(), self.raw.store())
                    .map_err(|e| Stop::of_wal("cannot persist a snapshot", e))?;
                hs = None;
            }
            // PLANTED BUG (`raftkv-snapshot-not-persisted`): the snapshot lives only in memory;
            // the entries after it are appended to the old log on disk.
        }
        self.raw
            .mut_store()
            .append(rd.entries())
            .map_err(|e| Stop::Refuse(format!("raft-rs handed entries that do not fit: {e}")))?;
        self.wal
            .append(ctx.storage(), None, rd.entries(), hs.as_ref())
            .map_err(|e| Stop::of_wal("cannot persist entries", e))?;
        // 3. Sync, 4. then the messages that promise durability.
        let must_sync = rd.must_sync();
        if self.bugs.apply_before_persist {
            // PLANTED BUG: the fsync runs in the background (group commit); raft-rs is told the
            // Ready is persisted (advance, below) before it is.
            if must_sync {
                self.dirty = true;
            }
            if self.dirty {
                self.held.append(&mut persisted);
                if !self.group_commit_armed {
                    self.group_commit_armed = true;
                    ctx.set_timer(
                        GROUP_COMMIT,
                        Duration::from_millis(self.cfg.group_commit_ms),
                    );
                }
            }
        } else if must_sync {
            ctx.sync();
        }
        self.send_all(ctx, persisted);
        // 5. Restore, apply, serve reads.
        if let Some(s) = &snapshot {
            let meta = s.get_metadata();
            self.machine = Machine::restore(&s.data, meta.index)
                .map_err(|e| Stop::Refuse(format!("a snapshot from the leader: {e}")))?;
            self.observe_applied(ctx, meta.term);
            ctx.note(
                "raftkv/snapshot-installed",
                json!({ "index": meta.index, "persisted": !self.bugs.snapshot_not_persisted }),
            );
        }
        let committed = rd.take_committed_entries();
        self.apply(ctx, &committed);
        for rs in rd.take_read_states() {
            let Ok(id) = <[u8; 8]>::try_from(rs.request_ctx.as_slice()) else {
                continue;
            };
            if let Some((to, key)) = self.reads.remove(&u64::from_be_bytes(id)) {
                self.confirmed.push((rs.index, to, key));
            }
        }
        // 6. Advance; the LightReady.
        let mut light = self.raw.advance(rd);
        if let Some(commit) = light.commit_index() {
            self.raw.mut_store().set_commit(commit);
        }
        let msgs = light.take_messages();
        self.send_all(ctx, msgs);
        let committed = light.take_committed_entries();
        self.apply(ctx, &committed);
        self.raw.advance_apply();
        self.serve_confirmed(ctx);
        Ok(())
    }

    /// The planted bug's background fsync: sync what was written, then release what waited.
    fn group_commit(&mut self, ctx: &mut Ctx<'_, RaftKvNode>) {
        self.group_commit_armed = false;
        if self.dirty {
            ctx.sync();
            self.dirty = false;
        }
        let held = std::mem::take(&mut self.held);
        self.send_all(ctx, held);
    }

    fn apply(&mut self, ctx: &mut Ctx<'_, RaftKvNode>, entries: &[Entry]) {
        for e in entries {
            if e.index <= self.machine.applied() {
                continue;
            }
            let applied = self.machine.apply(e.index, e.term, &e.data);
            self.observe_applied(ctx, e.term);
            let Ok(cmd) = serde_json::from_slice::<Command>(&e.data) else {
                continue;
            };
            let Some(waiting) = self.writes.remove(&(cmd.client_id, cmd.seq)) else {
                continue;
            };
            let resp = match applied {
                Applied::Output(out) => KvResponse::Done(out),
                // Not applied now, but an earlier copy may have been: unknown.
                Applied::Stale | Applied::Nothing => KvResponse::Unknown,
            };
            for to in waiting {
                ctx.reply(to, resp.clone());
            }
        }
    }

    fn observe_applied(&self, ctx: &mut Ctx<'_, RaftKvNode>, term: u64) {
        ctx.observe(
            "raftkv/applied",
            json!({
                "index": self.machine.applied(),
                "term": term,
                "digest": format!("{:016x}", self.machine.digest()),
            }),
        );
    }

    /// Answers the confirmed reads the state machine has caught up with.
    fn serve_confirmed(&mut self, ctx: &mut Ctx<'_, RaftKvNode>) {
        let applied = self.machine.applied();
        let (ready, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.confirmed)
            .into_iter()
            .partition(|(index, _, _)| *index <= applied);
        self.confirmed = waiting;
        for (_, to, key) in ready {
            let value = self.machine.get(&key);
            ctx.reply(to, KvResponse::Done(KvOutput::Value { value }));
        }
    }

    /// Records a leadership won; answers what was in flight when one is lost.
    fn track_leadership(&mut self, ctx: &mut Ctx<'_, RaftKvNode>) {
        let r = &self.raw.raft;
        let now = (r.state == StateRole::Leader).then_some(r.term);
        if now == self.leading {
            return;
        }
        if let Some(term) = now {
            ctx.observe("raftkv/leader", json!({ "term": term }));
        } else {
            let hint = self.hint();
            // Unconfirmed reads never took effect; proposals may still commit: unknown.
            for (_, (to, _)) in std::mem::take(&mut self.reads) {
                ctx.reply(to, KvResponse::NotLeader { hint });
            }
            for (_, waiting) in std::mem::take(&mut self.writes) {
                for to in waiting {
                    ctx.reply(to, KvResponse::Unknown);
                }
            }
        }
        self.leading = now;
    }

    /// Takes a snapshot at the applied index when enough was applied since the last one, and
    /// rewrites the WAL (also when appended records pile up).
    fn maybe_compact(&mut self, ctx: &mut Ctx<'_, RaftKvNode>) -> Result<(), Stop> {
        let applied = self.machine.applied();
        let store = self.raw.store();
        let due = applied >= store.snapshot_index() + self.cfg.compact_after_entries;
        if due && applied > store.snapshot_index() {
            let Some(term) = store.term_at(applied) else {
                return Ok(());
            };
            let mut snap = Snapshot::default();
            snap.mut_metadata().index = applied;
            snap.mut_metadata().term = term;
            snap.mut_metadata()
                .set_conf_state(store.conf_state().clone());
            snap.data = self.machine.snapshot().into();
            self.raw
                .mut_store()
                .compact(snap)
                .map_err(|e| Stop::Refuse(format!("cannot compact: {e}")))?;
            ctx.note("raftkv/compacted", json!({ "index": applied }));
        } else if self.wal.appended() < self.cfg.rewrite_after_records {
            return Ok(());
        }
        self.wal
            .rewrite(ctx.storage(), self.raw.store())
            .map_err(|e| Stop::of_wal("cannot rewrite the WAL", e))
    }
}
