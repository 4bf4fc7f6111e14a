//! One replica of a replicated service: a [`Service`] that drives a [`RaftCore`] through its
//! `Ready` contract — persist, sync, send, restore, apply, serve reads, compact — and answers
//! clients: writes once applied (after the sync that made them durable here), reads once
//! ReadIndex (or the lease) confirmed leadership.
//!
//! Facts the invariants check are recorded with `ctx.observe`: `raft/leader` (a node became
//! leader of a term), `raft/applied` (an entry applied, with the state digest after it),
//! `raft/commit`, `raft/vote`, and `raft/log` (a summary of the log: see `log_summary.rs`).

use super::log_summary::{LogWatch, ReadyLog};
use super::state::Replicated;
use super::{Logged, Rejection, Request, Response, Routing, SessionOptions, StateMachine};
use crate::bugs::BugSet;
use crate::ids::NodeId;
use crate::node::service::{AfterSyncFailure, Ctx, ReplyTo, Service, TimerId};
use crate::services::raft::store::{self, Store, StoreError};
use crate::services::raft::{
    Entry, Payload, RaftBugs, RaftConfig, RaftCore, RaftMsg, Ready, RequestError, Role,
};
use crate::services::ring::{GroupId, Ring};
use crate::time::LocalInstant;
use serde_json::json;
use std::collections::BTreeMap;
use std::marker::PhantomData;

const RAFT_TIMER: TimerId = TimerId(1);

/// The note of a peer message the Raft core refused (no correct replica sends it); the
/// `peer-messages-valid` invariant fails a simulated run that has one.
pub const REFUSED_MESSAGE: &str = "raft/refused-message";

/// Planted bugs of the host and the layers below it, decided from the run's bug set by the
/// service (which names its own bugs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HostBugs {
    /// Flags of the Raft core.
    pub raft: RaftBugs,
    /// Send messages and replies before syncing what they promise is durable.
    pub ack_before_fsync: bool,
    /// A leader answers reads from its local state without confirming it still leads.
    pub stale_read: bool,
    /// Retried writes are applied again (sessions ignored).
    pub no_dedup: bool,
    /// Recovery reads log records without verifying their checksums.
    pub ignore_checksum: bool,
}

/// How every replica of a replicated service is configured.
#[derive(Debug, Clone)]
pub struct NodeConfig<M: StateMachine> {
    /// The Raft core's options.
    pub raft: RaftConfig,
    /// How nodes form replication groups and keys map to them.
    pub routing: Routing,
    /// Client sessions (the `no_dedup` bug comes from [`HostBugs`]).
    pub sessions: SessionOptions,
    /// Which of the run's planted bugs this service's host and core take on.
    pub bugs: fn(&BugSet) -> HostBugs,
    /// What the application's leader duties are configured with.
    pub duties: M::DutyConfig,
}

/// A write waiting to be applied, by session.
type PendingWrites = BTreeMap<(u64, u64), Vec<ReplyTo>>;

/// One replica.
#[derive(Debug)]
pub struct ReplicatedNode<M: StateMachine> {
    /// `None` when the durable state was found damaged or the disk failed: the node then
    /// serves nothing and takes no part in the protocol (fail-stop, never start afresh).
    live: Option<Live<M>>,
    _machine: PhantomData<M>,
}

#[derive(Debug)]
struct Live<M: StateMachine> {
    core: RaftCore<Logged<M::Op>>,
    store: Store,
    app: Replicated<M>,
    bugs: HostBugs,
    sessions: SessionOptions,
    group: GroupId,
    ring: Option<Ring>,
    writes: PendingWrites,
    reads: BTreeMap<u64, (ReplyTo, M::Op)>,
    next_read: u64,
    leading: bool,
    /// The last (term, vote) recorded, so each vote is observed once.
    observed_vote: Option<(u64, NodeId)>,
    /// The commit index when last looked at, so a leader's own advances are observed.
    observed_commit: u64,
    /// What was last recorded of the log (`raft/log`).
    log_watch: LogWatch,
    duty_cfg: M::DutyConfig,
    /// The application's leader duties: `Some` while this node leads.
    duties: Option<M::Duties>,
    /// When the duties want to be asked again.
    duty_at: Option<LocalInstant>,
}

impl<M: StateMachine> Service for ReplicatedNode<M> {
    type Msg = RaftMsg<Logged<M::Op>>;
    type Request = Request<M::Op>;
    type Response = Response<M::Output>;
    type Config = NodeConfig<M>;

    fn start(cfg: &NodeConfig<M>, ctx: &mut Ctx<'_, Self>) -> Self {
        let live = match recover::<M>(cfg, ctx) {
            Ok(mut live) => {
                ctx.observe("raft/started", json!({"group": live.group}));
                if let Some(summary) = live.log_watch.at_start(&live.core, live.group) {
                    ctx.observe("raft/log", summary);
                }
                if live.app.applied_index() > 0 {
                    live.observe_state(ctx, live.core.snapshot_meta().term);
                }
                Some(live)
            }
            Err(stop) => {
                stop.carry_out(ctx);
                None
            }
        };
        let mut node = ReplicatedNode {
            live,
            _machine: PhantomData,
        };
        node.drive(ctx);
        node
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: Self::Msg) {
        let now = ctx.now().mono;
        if let Some(live) = &mut self.live {
            live.core.step(from, msg, now, ctx.rng());
            if ctx.buggify(super::SPURIOUS_ELECTION_TIMEOUT) {
                live.core.expire_election_timer();
            }
        }
        self.drive(ctx);
    }

    fn on_request(&mut self, ctx: &mut Ctx<'_, Self>, from: ReplyTo, req: Self::Request) {
        let Some(live) = &mut self.live else {
            ctx.reply(from, Response::Rejected(Rejection::Unavailable));
            return;
        };
        if let Some(reply) = live.accept(ctx, from, req) {
            ctx.reply(from, reply);
        }
        self.drive(ctx);
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, timer: TimerId) {
        debug_assert_eq!(timer, RAFT_TIMER);
        let now = ctx.now().mono;
        if let Some(live) = &mut self.live {
            live.core.on_time(now, ctx.rng());
        }
        self.drive(ctx);
    }

    fn on_sync_failed(&mut self, _ctx: &mut Ctx<'_, Self>) -> AfterSyncFailure {
        // The entries, votes or snapshot it was to persist may be gone while memory still
        // holds them: only a restart from what the disk holds keeps Raft's promises.
        AfterSyncFailure::Restart
    }

    fn sketch(&self, now: crate::time::LocalNow, sketch: &mut crate::node::sketch::Sketch) {
        match &self.live {
            Some(live) => super::sketch::replica(&live.core, live.app.machine(), now, sketch),
            None => {
                sketch.dim("stopped", 1);
            }
        }
    }
}

/// Why a replica stops taking part.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Stop {
    /// The durable state cannot be trusted (corruption, a snapshot that does not restore):
    /// refuse to serve for good — starting afresh would forget votes and acknowledged entries.
    Refuse(String),
    /// The disk refused a read or write (full, failing): memory may no longer match the disk,
    /// so the node halts and its software starts again from what the disk holds.
    Halt(String),
}

impl Stop {
    fn of_store(context: &str, e: StoreError) -> Stop {
        match e {
            StoreError::Storage(e) => Stop::Halt(format!("{context}: {e}")),
            e @ (StoreError::Corrupt { .. } | StoreError::Encode(_)) => {
                Stop::Refuse(format!("{context}: {e}"))
            }
        }
    }

    /// Says so, and halts when the disk is to blame.
    fn carry_out<S: Service>(self, ctx: &mut Ctx<'_, S>) {
        match self {
            Stop::Refuse(reason) => ctx.alert("raft/refusing-to-serve", json!(reason)),
            Stop::Halt(reason) => {
                ctx.note("raft/storage-failed", json!(reason));
                ctx.halt(reason);
            }
        }
    }
}

/// Loads the durable state; `Err` (with why) when it cannot be trusted or read.
fn recover<M: StateMachine>(
    cfg: &NodeConfig<M>,
    ctx: &mut Ctx<'_, ReplicatedNode<M>>,
) -> Result<Live<M>, Stop> {
    let bugs = (cfg.bugs)(&ctx.info().bugs);
    let sessions = SessionOptions {
        no_dedup: bugs.no_dedup,
        ..cfg.sessions
    };
    // A damaged log or snapshot is refused, never read as empty: that would forget
    // acknowledged writes.
    let loaded = store::load_checked::<Logged<M::Op>>(ctx.storage(), !bugs.ignore_checksum)
        .map_err(|e| Stop::of_store("cannot recover", e))?;
    if let Some(torn) = loaded.torn_tail {
        // Only a record that was never fully written can be torn: it was never synced, so never
        // acknowledged. Dropping it is safe; it is reported, not hidden.
        ctx.note(
            "raft/torn-tail-truncated",
            json!({"offset_bytes": torn.offset_bytes, "dropped_bytes": torn.dropped_bytes}),
        );
    }
    let snapshot = &loaded.recovered.snapshot;
    let app = if snapshot.meta.index == 0 {
        Replicated::new(sessions)
    } else {
        Replicated::restore(sessions, &snapshot.data).map_err(|e| Stop::Refuse(e.to_string()))?
    };
    let group = cfg.routing.group_of_node(ctx.node(), &ctx.info().cluster);
    let members = cfg.routing.members(group, &ctx.info().cluster);
    let now = ctx.now().mono;
    let raft_bugs = RaftBugs {
        host_acks_before_fsync: bugs.ack_before_fsync || bugs.raft.host_acks_before_fsync,
        ..bugs.raft
    };
    let core = RaftCore::new(
        ctx.node(),
        &members,
        cfg.raft.clone(),
        raft_bugs,
        loaded.recovered,
        now,
        ctx.rng(),
    );
    Ok(Live {
        core,
        store: loaded.store,
        app,
        bugs,
        sessions,
        group,
        ring: cfg.routing.ring(),
        writes: BTreeMap::new(),
        reads: BTreeMap::new(),
        next_read: 0,
        leading: false,
        observed_vote: None,
        observed_commit: 0,
        log_watch: LogWatch::default(),
        duty_cfg: cfg.duties.clone(),
        duties: None,
        duty_at: None,
    })
}

impl<M: StateMachine> ReplicatedNode<M> {
    /// The application as this replica has applied it (`None` while it cannot serve).
    pub fn machine(&self) -> Option<&M> {
        self.live.as_ref().map(|l| l.app.machine())
    }

    /// Hands every `Ready` the core has to [`Live::handle`], then sets the one timer.
    fn drive(&mut self, ctx: &mut Ctx<'_, Self>) {
        loop {
            let Some(live) = &mut self.live else {
                ctx.cancel_timer(RAFT_TIMER);
                return;
            };
            for why in live.core.take_refused() {
                ctx.note(REFUSED_MESSAGE, json!(why));
            }
            let ready = live.core.ready();
            if ready.is_empty() {
                // What the leader's duties propose makes more to do.
                if live.run_duties(ctx) {
                    continue;
                }
                break;
            }
            if let Err(stop) = live.handle(ctx, ready) {
                // Nothing may be promised any more: fail-stop (or halt and recover from disk).
                stop.carry_out(ctx);
                self.live = None;
            }
        }
        if let Some(live) = &self.live {
            let now = ctx.now().mono;
            let mut deadline = live.core.next_deadline();
            if let Some(at) = live.duty_at {
                deadline = deadline.min(at);
            }
            ctx.set_timer(RAFT_TIMER, deadline.saturating_since(now));
        }
    }
}

impl<M: StateMachine> Live<M> {
    /// Admits a client request; returns the immediate answer, if there is one.
    fn accept(
        &mut self,
        ctx: &mut Ctx<'_, ReplicatedNode<M>>,
        from: ReplyTo,
        req: Request<M::Op>,
    ) -> Option<Response<M::Output>> {
        let now = ctx.now().mono;
        let rejected = |e: RequestError| {
            Some(Response::Rejected(match e {
                RequestError::NotLeader { hint } => Rejection::NotLeader { hint },
                RequestError::TooLarge { .. } | RequestError::Overloaded { .. } => {
                    Rejection::Overloaded
                }
            }))
        };
        if req.client_id == super::SYSTEM_SESSION {
            // Only the leader's duties run under it: no session, no deduplication, no checks
            // of whose a lease is.
            return Some(Response::Rejected(Rejection::Forbidden));
        }
        if !self.owns(&req.op) {
            return Some(Response::Rejected(Rejection::NotLeader { hint: None }));
        }
        if M::is_read(&req.op) {
            if self.bugs.stale_read && self.core.role() == Role::Leader {
                // The planted bug: trust that we still lead.
                return Some(Response::Done(self.app.read(&req.op)));
            }
            let id = self.next_read;
            return match self.core.read_index(id, now) {
                Ok(()) => {
                    self.next_read += 1;
                    self.reads.insert(id, (from, req.op));
                    None
                }
                Err(e) => rejected(e),
            };
        }
        let key = (req.client_id, req.seq);
        if let Some(waiting) = self.writes.get_mut(&key) {
            // A retry of a write already in the log: wait for the same entry.
            waiting.push(from);
            return None;
        }
        let logged = Logged {
            client_id: req.client_id,
            seq: req.seq,
            op: req.op,
        };
        match self.core.propose(logged, now) {
            Ok(_) => {
                self.writes.insert(key, vec![from]);
                None
            }
            Err(e) => rejected(e),
        }
    }

    /// Asks the leader's duties what to propose; true when something was proposed.
    fn run_duties(&mut self, ctx: &mut Ctx<'_, ReplicatedNode<M>>) -> bool {
        let Some(duties) = &mut self.duties else {
            self.duty_at = None;
            return false;
        };
        let clocks = ctx.now();
        let now = clocks.mono;
        let plan = self.app.machine().leader_duties(duties, clocks);
        self.duty_at = plan.next_at;
        let mut proposed = false;
        for op in plan.propose {
            let logged = Logged {
                client_id: super::SYSTEM_SESSION,
                seq: 0,
                op,
            };
            match self.core.propose(logged, now) {
                Ok(_) => proposed = true,
                // The duties ask again later (they re-time what they proposed).
                Err(e) => ctx.note("replicated/duty-not-proposed", json!(format!("{e:?}"))),
            }
        }
        proposed
    }

    /// True when the operation's key lives in this node's group (always, unsharded).
    fn owns(&self, op: &M::Op) -> bool {
        match (&self.ring, M::route_key(op)) {
            (Some(ring), Some(key)) => ring.group_of(key) == Some(self.group),
            _ => true,
        }
    }

    /// Carries out one `Ready` in the order its contract gives.
    fn handle(
        &mut self,
        ctx: &mut Ctx<'_, ReplicatedNode<M>>,
        ready: Ready<Logged<M::Op>>,
    ) -> Result<(), Stop> {
        // 1. persist, 2. sync — unless the planted bug acknowledges first.
        self.store
            .persist(ctx.storage(), &ready)
            .map_err(|e| Stop::of_store("cannot persist", e))?;
        let sync = ready.needs_sync();
        if sync && !self.bugs.ack_before_fsync {
            ctx.sync();
        }
        let log_change = ReadyLog {
            entries: &ready.entries,
            truncate_from: ready.truncate_from,
            restored: ready.snapshot.as_ref().is_some_and(|s| s.restore),
        };
        // 3. send
        for (to, msg) in ready.messages {
            ctx.send(to, msg);
        }
        // 4. restore
        if let Some(snap) = &ready.snapshot
            && snap.restore
        {
            self.app = Replicated::restore(self.sessions, &snap.snapshot.data).map_err(|e| {
                Stop::Refuse(format!("snapshot from the leader does not restore: {e}"))
            })?;
            self.observe_state(ctx, snap.snapshot.meta.term);
            // A rare path the coverage audit and `[expect.notes]` look for.
            ctx.note("raft/snapshot-installed", json!(snap.snapshot.meta.index));
            self.fail_pending(ctx, None);
        }
        // 5. apply, 6. serve reads
        self.observe_commit(ctx);
        for entry in &ready.committed {
            self.apply(ctx, entry);
        }
        for read in &ready.reads {
            if let Some((to, op)) = self.reads.remove(&read.request_ctx) {
                debug_assert!(self.app.applied_index() >= read.index);
                ctx.reply(to, Response::Done(self.app.read(&op)));
            }
        }
        let mut won_term = None;
        for change in &ready.leader_changes {
            let leads = change.role == Role::Leader && change.leader == Some(self.core.id());
            if leads && !self.leading {
                self.duties = Some(M::duties(&self.duty_cfg));
            }
            if !leads {
                self.duties = None;
            }
            if leads && !self.leading {
                ctx.observe(
                    "raft/leader",
                    json!({"group": self.group, "term": change.term}),
                );
                won_term = Some(change.term);
            }
            if self.leading && !leads {
                // Reads registered here were dropped; proposals have an unknown outcome.
                self.fail_pending(ctx, change.leader);
            }
            self.leading = leads;
        }
        self.observe_vote(ctx);
        if let Some(summary) = self
            .log_watch
            .after_ready(&self.core, self.group, log_change, won_term)
        {
            ctx.observe("raft/log", summary);
        }
        // 7. compact
        if ready.snapshot_wanted {
            let applied = self.app.applied_index();
            if let Err(e) = self.core.compact(applied, self.app.snapshot()) {
                ctx.note("raft/compact-refused", json!(e.to_string()));
            }
        }
        if sync && self.bugs.ack_before_fsync {
            ctx.sync();
        }
        Ok(())
    }

    fn apply(&mut self, ctx: &mut Ctx<'_, ReplicatedNode<M>>, entry: &Entry<Logged<M::Op>>) {
        use super::Applied;
        match &entry.payload {
            Payload::Noop => self.app.apply_noop(entry.index),
            Payload::Command(cmd) => {
                let applied = self.app.apply(entry.index, cmd);
                if let Some(waiting) = self.writes.remove(&(cmd.client_id, cmd.seq)) {
                    let resp = match applied {
                        Applied::Output(o) => Response::Done(o),
                        // Not applied now, but an earlier copy may have been: unknown.
                        Applied::Stale { .. } => Response::Unknown,
                    };
                    for to in waiting {
                        // BUGGIFY: the reply is lost after the work was done; the client
                        // retries under the same sequence number.
                        if !ctx.buggify(super::DROP_REPLY) {
                            ctx.reply(to, resp.clone());
                        }
                    }
                }
            }
        }
        self.observe_state(ctx, entry.term);
    }

    /// Records what a leader commits by counting replicas: Raft's rule (§5.4.2) is that it is
    /// an entry of its own term (earlier entries commit along with it). A commit index learned
    /// as a follower is not the leader's doing and is not recorded.
    fn observe_commit(&mut self, ctx: &mut Ctx<'_, ReplicatedNode<M>>) {
        let commit = self.core.commit_index();
        if commit > self.observed_commit
            && self.core.role() == Role::Leader
            && let Some(entry_term) = self.core.term_at(commit)
        {
            ctx.observe(
                "raft/commit",
                json!({"group": self.group, "term": self.core.term(),
                           "index": commit, "entry_term": entry_term}),
            );
        }
        self.observed_commit = commit;
    }

    /// Records a vote the node holds for the first time (in memory: what it would answer).
    fn observe_vote(&mut self, ctx: &mut Ctx<'_, ReplicatedNode<M>>) {
        if let Some(candidate) = self.core.vote() {
            let vote = (self.core.term(), candidate);
            if self.observed_vote != Some(vote) {
                self.observed_vote = Some(vote);
                ctx.observe(
                    "raft/vote",
                    json!({"group": self.group, "term": vote.0, "candidate": candidate}),
                );
            }
        }
    }

    /// Records the applied index, the term of its entry and the state's digest.
    fn observe_state(&self, ctx: &mut Ctx<'_, ReplicatedNode<M>>, term: u64) {
        ctx.observe(
            "raft/applied",
            json!({
                "group": self.group,
                "index": self.app.applied_index(),
                "term": term,
                "digest": format!("{:016x}", self.app.digest()),
            }),
        );
    }

    /// Answers everything in flight after losing leadership (or replacing the state).
    fn fail_pending(&mut self, ctx: &mut Ctx<'_, ReplicatedNode<M>>, hint: Option<NodeId>) {
        for (_, (to, _)) in std::mem::take(&mut self.reads) {
            ctx.reply(to, Response::Rejected(Rejection::NotLeader { hint }));
        }
        for (_, waiting) in std::mem::take(&mut self.writes) {
            for to in waiting {
                ctx.reply(to, Response::Unknown);
            }
        }
    }
}
