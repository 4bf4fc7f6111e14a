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

mod guard;
mod ready;

use guard::is_peer_message;

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

    fn on_sync_failed(&mut self, _: &mut Ctx<'_, Self>) -> AfterSyncFailure {
        // raft-rs was told its entries and hard state were persisted; they may not be. Only a
        // restart from the WAL keeps its promises.
        AfterSyncFailure::Restart
    }
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
}
