//! The ID generator's sans-IO core.

use super::bugs;
use super::hwm::{HWM_FILE, HwmLog, Recovery, recover};
use super::lease::{LEASE_TIMER, RENEW_TIMER, Usable, WorkerLease};
use super::msg::IdgenMsg;
use super::{IdLayout, IdgenConfig};
use crate::ids::NodeId;
use crate::node::service::{AfterSyncFailure, Ctx, Message, ReplyTo, Service, TimerId};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::VecDeque;
use std::time::Duration;

const RETRY_TIMER: TimerId = TimerId(1);
/// How long a request waits for a renewal to raise the lease's ceiling before looking again.
const LEASE_WAIT_MS: u64 = 5;

/// What a client asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IdRequest {
    /// The next id.
    Next,
}

/// What a node answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IdResponse {
    /// An id, issued.
    Id(u64),
    /// No id was issued.
    Refused(Refusal),
}

/// Why a node refused: in every case no id was issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Refusal {
    /// The wall clock is behind the last issued timestamp by more than the wait bound.
    ClockBehind {
        /// How far behind.
        behind_ms: u64,
    },
    /// Too many requests queued.
    Overloaded,
    /// The persisted state could not be read, so uniqueness cannot be promised.
    StateUnreadable,
    /// The clock is outside the range the timestamp bits can express.
    TimestampOutOfRange,
    /// Worker ids are leased and this node cannot prove it holds one now.
    NoWorkerLease,
    /// This node is a lock server, not a generator.
    NotAGenerator,
    /// A new high-water mark could not be written (e.g. the disk is full).
    StateUnwritable,
}

impl Message for IdRequest {
    fn label(&self) -> &'static str {
        "idgen/next"
    }
}

impl Message for IdResponse {
    fn label(&self) -> &'static str {
        match self {
            IdResponse::Id(_) => "idgen/id",
            IdResponse::Refused(_) => "idgen/refused",
        }
    }
}

/// One ID-generator node.
#[derive(Debug)]
pub struct IdGen {
    cfg: IdgenConfig,
    layout: IdLayout,
    worker: u64,
    /// Timestamp (ms since the id epoch) and sequence of the last id issued; after a restart,
    /// the high-water mark with the sequence exhausted, so the next id is above it.
    last_ts: u64,
    last_seq: u64,
    /// Durable high-water mark: no id will ever be issued above it before it is raised, nor at
    /// or below it after a restart.
    reserved_until: u64,
    /// Where the next high-water mark goes in its file.
    hwm_log: HwmLog,
    /// Set when the state on disk could not be read: refuse everything rather than risk a repeat.
    unreadable: bool,
    queue: VecDeque<ReplyTo>,
    /// The worker-id lease, when worker ids are leased.
    lease: Option<WorkerLease>,
    /// The grant (fencing token) the node last issued under.
    lease_token: Option<u64>,
}

enum Step {
    Issue(u64),
    Refuse(Refusal),
    Wait(Duration),
}

impl Service for IdGen {
    type Msg = IdgenMsg;
    type Request = IdRequest;
    type Response = IdResponse;
    type Config = IdgenConfig;

    fn start(cfg: &IdgenConfig, ctx: &mut Ctx<'_, Self>) -> Self {
        let layout = IdLayout::of(cfg);
        let NodeId(worker) = ctx.node();
        let mut idgen = IdGen {
            cfg: cfg.clone(),
            layout,
            worker: u64::from(worker),
            last_ts: 0,
            last_seq: 0,
            reserved_until: 0,
            hwm_log: HwmLog::default(),
            unreadable: false,
            queue: VecDeque::new(),
            lease: None,
            lease_token: None,
        };
        match ctx.storage().read(HWM_FILE) {
            Ok(None) => {}
            Ok(Some(bytes)) => idgen.recover(ctx, &bytes),
            Err(_) => idgen.unreadable = true,
        }
        if idgen.unreadable {
            ctx.alert("idgen/state-unreadable", json!(null));
        }
        if let Some(leases) = &cfg.leases {
            let info = ctx.info();
            let servers: Vec<NodeId> = info
                .cluster
                .iter()
                .copied()
                .take(leases.servers as usize)
                .collect();
            let nodes = u32::try_from(info.cluster.len()).unwrap_or(u32::MAX);
            let generator = info
                .cluster
                .iter()
                .position(|n| *n == info.node)
                .unwrap_or(0);
            let generator = u32::try_from(generator)
                .unwrap_or(0)
                .saturating_sub(leases.servers);
            // One session per incarnation, far from the clients' small session ids.
            let session =
                (1u64 << 40) | (u64::from(info.node.0) << 20) | u64::from(info.incarnation.0);
            let mut lease = WorkerLease::new(
                leases,
                servers,
                leases.pool(nodes),
                generator,
                session,
                ctx.bug(bugs::WORKER_LEASE_IGNORED),
            );
            lease.start(ctx);
            idgen.lease = Some(lease);
        }
        idgen
    }

    fn on_sync_failed(&mut self, ctx: &mut Ctx<'_, Self>) -> AfterSyncFailure {
        if ctx.bug(bugs::ACK_AFTER_FAILED_SYNC) {
            // The bug: the replies waiting for the mark go out although it is not durable.
            return AfterSyncFailure::Continue;
        }
        AfterSyncFailure::Restart
    }

    fn sketch(&self, now: crate::time::LocalNow, sketch: &mut crate::node::sketch::Sketch) {
        // Where the generator stands against its own clock: behind the last id issued (a
        // clock stepped back), and how much of the durable reservation is left before it
        // must write a new high-water mark.
        let clock_ts = now
            .wall
            .as_unix_ms()
            .checked_sub(self.cfg.epoch_unix_ms)
            .and_then(|ms| u64::try_from(ms).ok())
            .unwrap_or(0);
        sketch
            .dim("idgen", 1)
            .count("behind_ms", self.last_ts.saturating_sub(clock_ts))
            .count("headroom_ms", self.reserved_until.saturating_sub(clock_ts))
            .count("queued", self.queue.len() as u64)
            .flag("leased", self.lease_token.is_some())
            .flag("unreadable", self.unreadable);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: IdgenMsg) {
        let now_ts = self.clock_ts(ctx).unwrap_or(0);
        if let (Some(lease), IdgenMsg::LeaseReply { req_id, resp }) = (&mut self.lease, msg) {
            lease.on_reply(ctx, from, req_id, resp, now_ts);
            self.drain(ctx);
        }
    }

    fn on_request(&mut self, ctx: &mut Ctx<'_, Self>, from: ReplyTo, req: IdRequest) {
        match req {
            IdRequest::Next => {
                if self.queue.len() >= self.cfg.queue_max {
                    ctx.reply(from, IdResponse::Refused(Refusal::Overloaded));
                    return;
                }
                self.queue.push_back(from);
                if self.queue.len() == 1 {
                    self.drain(ctx);
                }
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, timer: TimerId) {
        if timer == RETRY_TIMER {
            self.drain(ctx);
        } else if timer == LEASE_TIMER || timer == RENEW_TIMER {
            let now_ts = self.clock_ts(ctx).unwrap_or(0);
            if let Some(lease) = &mut self.lease {
                lease.on_timer(ctx, timer, now_ts);
            }
            self.drain(ctx);
        }
    }
}

impl IdGen {
    /// Serves queued requests in order until one has to wait for the clock.
    fn drain(&mut self, ctx: &mut Ctx<'_, Self>) {
        while let Some(&front) = self.queue.front() {
            match self.next_step(ctx) {
                Step::Wait(d) => {
                    ctx.set_timer(RETRY_TIMER, d);
                    return;
                }
                Step::Refuse(r) => {
                    self.queue.pop_front();
                    ctx.reply(front, IdResponse::Refused(r));
                }
                Step::Issue(id) => {
                    self.queue.pop_front();
                    ctx.reply(front, IdResponse::Id(id));
                }
            }
        }
    }

    fn next_step(&mut self, ctx: &mut Ctx<'_, Self>) -> Step {
        if self.unreadable {
            return Step::Refuse(Refusal::StateUnreadable);
        }
        let Some(now_ts) = self.clock_ts(ctx) else {
            return Step::Refuse(Refusal::TimestampOutOfRange);
        };
        let leased = match &self.lease {
            Some(lease) => match lease.usable(ctx.now().mono) {
                Some(u) => Some(u),
                None => return Step::Refuse(Refusal::NoWorkerLease),
            },
            None => None,
        };
        if let Some(u) = leased {
            self.take_grant(ctx, u);
        }
        if now_ts < self.last_ts && !ctx.bug(bugs::CLOCK_ROLLBACK) {
            let behind_ms = self.last_ts - now_ts;
            if behind_ms <= self.cfg.backwards_wait_ms_max {
                ctx.note("idgen/clock-behind-wait", json!(behind_ms));
                return Step::Wait(Duration::from_millis(behind_ms));
            }
            ctx.note("idgen/clock-behind-refuse", json!(behind_ms));
            return Step::Refuse(Refusal::ClockBehind { behind_ms });
        }
        let (ts, seq) = if now_ts == self.last_ts {
            if self.last_seq < self.layout.sequence_max() {
                (now_ts, self.last_seq + 1)
            } else if ctx.bug(bugs::SEQUENCE_WRAP) {
                (now_ts, 0)
            } else {
                ctx.note("idgen/sequence-exhausted", json!(now_ts));
                return Step::Wait(Duration::from_millis(1));
            }
        } else {
            // A new millisecond — or, with the rollback bug, an older one.
            (now_ts, 0)
        };
        if let (Some(u), Some(lease)) = (leased, &mut self.lease)
            && ts > u.ceiling
        {
            // Not reserved in the lock's mark yet: wait for the renewal that reserves it.
            lease.renew_soon(ctx, now_ts);
            return Step::Wait(Duration::from_millis(LEASE_WAIT_MS));
        }
        if ctx.buggify(super::SPURIOUS_WAIT) {
            return Step::Wait(Duration::from_millis(1));
        }
        if ts > self.reserved_until && !self.reserve(ctx, ts) {
            return Step::Refuse(Refusal::StateUnwritable);
        }
        // Postconditions the correct core relies on; each planted bug breaks one on purpose.
        let planted = ctx.bug(bugs::CLOCK_ROLLBACK) || ctx.bug(bugs::SEQUENCE_WRAP);
        debug_assert!(
            planted || (ts, seq) > (self.last_ts, self.last_seq) || self.never_issued(),
            "ids must strictly increase: ({ts}, {seq}) after ({}, {})",
            self.last_ts,
            self.last_seq
        );
        debug_assert!(ts <= self.reserved_until, "issuing above the durable mark");
        // The reservation headroom of a leased worker id: above the previous holders'
        // reservations (the floor), within this holder's acknowledged one (the ceiling).
        let mark_ignored = ctx.bug(bugs::LEASE_IGNORES_MARK);
        assert!(
            planted || mark_ignored || leased.is_none_or(|u| u.floor < ts && ts <= u.ceiling),
            "timestamp {ts} outside the lease's reservation {leased:?}"
        );
        debug_assert!(seq <= self.layout.sequence_max());
        self.last_ts = ts;
        self.last_seq = seq;
        Step::Issue(self.layout.compose(ts, self.worker, seq))
    }

    /// Switches to a new grant: its worker id, and timestamps above its floor (the previous
    /// holders' reservations) and above everything this node issued (so its ids still rise).
    fn take_grant(&mut self, ctx: &mut Ctx<'_, Self>, u: Usable) {
        if self.lease_token == Some(u.token) && self.worker == u.worker {
            return;
        }
        ctx.note(
            "idgen/worker",
            json!({"worker": u.worker, "floor": u.floor}),
        );
        self.lease_token = Some(u.token);
        self.worker = u.worker;
        if !ctx.bug(bugs::LEASE_IGNORES_MARK) {
            self.last_ts = self.last_ts.max(u.floor);
        }
        self.last_seq = self.layout.sequence_max();
    }

    /// True before the first id of a fresh node (nothing on disk, nothing issued).
    fn never_issued(&self) -> bool {
        self.last_ts == 0 && self.last_seq == 0 && self.reserved_until == 0
    }

    /// Takes the high-water mark from its file's bytes: a torn tail is ignored (it was never
    /// synced), corruption makes the node refuse for good — it says so.
    fn recover(&mut self, ctx: &mut Ctx<'_, Self>, bytes: &[u8]) {
        let mut recovery = recover(bytes);
        if let Recovery::Corrupt { record, reason } = &recovery {
            ctx.note(
                "idgen/hwm-corrupt",
                json!({"record": record, "reason": reason}),
            );
            if ctx.bug(bugs::TRUST_CORRUPT_HWM) {
                // The bug: a damaged file is as good as no file.
                recovery = Recovery::Fresh;
            } else {
                self.unreadable = true;
            }
        }
        if let Recovery::Mark { hwm, torn_bytes } = recovery {
            if torn_bytes > 0 {
                ctx.note("idgen/hwm-torn-tail", json!(torn_bytes));
            }
            self.reserved_until = hwm;
            self.last_ts = hwm;
            self.last_seq = self.layout.sequence_max();
        }
        self.hwm_log = HwmLog::after(bytes, &recovery);
    }

    /// Persists a new high-water mark; the reply that follows waits for the sync. `false` when
    /// it cannot be written (this request is refused; a later one tries again).
    fn reserve(&mut self, ctx: &mut Ctx<'_, Self>, ts: u64) -> bool {
        // BUGGIFY: reserve a single millisecond, so the next one needs a sync of its own.
        let ahead_ms = if ctx.buggify(super::EAGER_RESERVE) {
            1
        } else {
            self.cfg.reserve_ms
        };
        let hwm = ts.saturating_add(ahead_ms).min(self.layout.timestamp_max());
        if ctx.bug(bugs::RESTART_FORGETS) {
            // The bug: remember the reservation in memory only.
            self.reserved_until = hwm;
            return true;
        }
        match self.hwm_log.persist(ctx.storage(), hwm) {
            Ok(()) => {
                self.reserved_until = hwm;
                ctx.sync();
                true
            }
            Err(e) => {
                ctx.alert("idgen/state-unwritable", json!(e.to_string()));
                if ctx.bug(bugs::IGNORE_WRITE_ERROR) {
                    // The bug: issue above a mark that is not on disk.
                    self.reserved_until = hwm;
                    return true;
                }
                // Cannot persist: issue nothing beyond what is already durable.
                false
            }
        }
    }

    /// The wall clock as a timestamp for the id layout; `None` outside its range.
    pub(super) fn clock_ts(&self, ctx: &Ctx<'_, Self>) -> Option<u64> {
        let ms = ctx
            .now()
            .wall
            .as_unix_ms()
            .checked_sub(self.cfg.epoch_unix_ms)?;
        let ts = u64::try_from(ms).ok()?;
        (ts <= self.layout.timestamp_max()).then_some(ts)
    }
}

#[cfg(test)]
#[path = "core_tests.rs"]
mod tests;
