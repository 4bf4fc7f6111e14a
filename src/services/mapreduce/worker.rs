//! A worker: it heartbeats to the coordinator, runs one task attempt at a time, and serves the
//! map outputs on its disk to reducers.
//!
//! - A map attempt reads its split (generated from the job's name), waits `map_ms` (the work),
//!   and writes one intermediate file per reduce partition to its own disk
//!   (`m-<job>-<map>-<attempt>-<part>`) — without a sync, as the paper's workers do: scratch
//!   data, lost with the page cache when the worker crashes. Then it reports `MapDone`.
//! - A reduce attempt fetches its partition of every map output from the worker holding it;
//!   a missing output (the holder crashed) or one unreachable after `fetch_tries_max`
//!   timeouts is reported lost (`ReduceFailed`), and the coordinator re-runs that map. With
//!   every input in hand it waits `reduce_ms`, sums the counts, and streams the sorted records
//!   to the store's temp file for its attempt, chunk by chunk, each acknowledged once durable.
//!   Then it reports `ReduceDone`; the coordinator decides whether it commits.
//!
//! A report is resent with every heartbeat until the coordinator acknowledges it.
//! Records (`observe`): `mr/map-written` when a map's output is on disk.

use super::bugs;
use super::corpus::{self, Counts};
use super::msg::{Input, MrMsg, Report, Task};
use super::node::MrNode;
use super::options::{COORDINATOR, MrOptions, Role};
use crate::ids::NodeId;
use crate::node::service::{Ctx, TimerId};
use crate::rng::Fnv64;
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;

/// Send a heartbeat.
pub const HEARTBEAT_TIMER: TimerId = TimerId(31);
/// The task's work is done.
pub const WORK_TIMER: TimerId = TimerId(32);
/// Fetches unanswered: resend (or give up).
pub const FETCH_TIMER: TimerId = TimerId(33);
/// A chunk unanswered: resend.
pub const CHUNK_TIMER: TimerId = TimerId(34);

/// A map worker's answer to a fetch, as the node hands it on.
#[derive(Debug, Clone)]
pub struct FetchReply {
    /// The job.
    pub job: String,
    /// The split.
    pub map: u32,
    /// The map attempt.
    pub map_attempt: u64,
    /// The partition.
    pub part: u32,
    /// The counts, or `None`: missing.
    pub counts: Option<Counts>,
}

/// Where the attempt is.
#[derive(Debug, Clone)]
enum Phase {
    /// A map doing its work.
    Mapping,
    /// A reduce fetching: map → (where, timeouts so far); what has arrived.
    Fetching {
        pending: BTreeMap<u32, (Input, u32)>,
        got: BTreeMap<u32, Counts>,
    },
    /// A reduce doing its work on everything fetched.
    Reducing { got: BTreeMap<u32, Counts> },
    /// Streaming the output to the store: the records, the chunk in flight.
    Writing {
        records: Vec<(String, u64)>,
        next: u32,
    },
}

/// A worker.
#[derive(Debug)]
pub struct Worker {
    opts: MrOptions,
    me: NodeId,
    incarnation: u32,
    current: Option<(Task, Phase)>,
    report: Option<Report>,
    /// The partition hash's salt: 0, or per process (the planted bug).
    salt: u64,
}

fn map_file(job: &str, map: u32, attempt: u64, part: u32) -> String {
    format!("m-{job}-{map}-{attempt}-{part}")
}

impl Worker {
    /// A worker (re)starting: no task, nothing to report (its memory is gone).
    pub fn start(opts: &MrOptions, ctx: &mut Ctx<'_, MrNode>) -> Worker {
        let info = ctx.info();
        let salt = if ctx.bug(bugs::RANDOM_PARTITION_HASH) {
            let mut h = Fnv64::new();
            h.write(&info.node.0.to_le_bytes());
            h.write(&info.incarnation.0.to_le_bytes());
            h.finish() | 1
        } else {
            0
        };
        let mut w = Worker {
            opts: opts.clone(),
            me: info.node,
            incarnation: info.incarnation.0,
            current: None,
            report: None,
            salt,
        };
        w.heartbeat(ctx);
        w
    }

    /// Sends a heartbeat now and sets the next.
    pub fn heartbeat(&mut self, ctx: &mut Ctx<'_, MrNode>) {
        let msg = MrMsg::Heartbeat {
            incarnation: self.incarnation,
            running: self.current.as_ref().map(|(t, _)| t.clone()),
            report: self.report.clone(),
        };
        ctx.send(COORDINATOR, msg);
        ctx.set_timer(
            HEARTBEAT_TIMER,
            Duration::from_millis(self.opts.heartbeat_ms),
        );
    }

    /// True when a task's fields fit this cluster.
    fn task_ok(&self, task: &Task) -> bool {
        if !super::msg::job_ok(task.job(), self.opts.job_bytes_max) {
            return false;
        }
        match task {
            Task::Map { map, .. } => *map < self.opts.maps,
            Task::Reduce { part, inputs, .. } => {
                *part < self.opts.reduces
                    && inputs.len() <= self.opts.maps as usize
                    && inputs.iter().all(|i| {
                        i.map < self.opts.maps && self.opts.role(NodeId(i.worker)) == Role::Worker
                    })
            }
        }
    }

    /// The coordinator hands it an attempt.
    pub fn on_assign(&mut self, ctx: &mut Ctx<'_, MrNode>, task: Task) {
        if self.current.is_some() || self.report.is_some() || !self.task_ok(&task) {
            // Busy: the next heartbeat tells the coordinator what actually runs here.
            return;
        }
        match &task {
            Task::Map { .. } => {
                ctx.set_timer(WORK_TIMER, Duration::from_millis(self.opts.map_ms));
                self.current = Some((task, Phase::Mapping));
            }
            Task::Reduce { inputs, .. } => {
                let mut pending = BTreeMap::new();
                for i in inputs {
                    pending.insert(i.map, (*i, 0));
                }
                let phase = Phase::Fetching {
                    pending,
                    got: BTreeMap::new(),
                };
                self.current = Some((task, phase));
                self.send_fetches(ctx);
                self.check_fetched(ctx);
            }
        }
    }

    /// Asks each holder for what has not arrived; reads its own disk for what it holds.
    fn send_fetches(&mut self, ctx: &mut Ctx<'_, MrNode>) {
        let Some((Task::Reduce { job, part, .. }, Phase::Fetching { pending, got })) =
            &mut self.current
        else {
            return;
        };
        let mut missing = Vec::new();
        for (map, (input, _)) in pending.iter() {
            if input.worker == self.me.0 {
                match read_output(ctx, job, *map, input.map_attempt, *part) {
                    Some(c) => {
                        got.insert(*map, c);
                    }
                    None => missing.push((*map, input.map_attempt)),
                }
                continue;
            }
            let msg = MrMsg::Fetch {
                job: job.clone(),
                map: *map,
                map_attempt: input.map_attempt,
                part: *part,
            };
            ctx.send(NodeId(input.worker), msg);
        }
        pending.retain(|m, _| !got.contains_key(m));
        ctx.set_timer(
            FETCH_TIMER,
            Duration::from_millis(self.opts.attempt_timeout_ms),
        );
        if !missing.is_empty() {
            self.fail(ctx, missing);
        }
    }

    /// Moves on to the reduce's work once every input is in.
    fn check_fetched(&mut self, ctx: &mut Ctx<'_, MrNode>) {
        let Some((_, phase)) = &mut self.current else {
            return;
        };
        if let Phase::Fetching { pending, got } = phase
            && pending.is_empty()
        {
            *phase = Phase::Reducing {
                got: std::mem::take(got),
            };
            ctx.cancel_timer(FETCH_TIMER);
            ctx.set_timer(WORK_TIMER, Duration::from_millis(self.opts.reduce_ms));
        }
    }

    /// The attempt cannot get these map outputs: report them lost and stop.
    fn fail(&mut self, ctx: &mut Ctx<'_, MrNode>, lost: Vec<(u32, u64)>) {
        let Some((
            Task::Reduce {
                job, part, attempt, ..
            },
            _,
        )) = self.current.take()
        else {
            return;
        };
        ctx.cancel_timer(FETCH_TIMER);
        ctx.cancel_timer(WORK_TIMER);
        self.report = Some(Report::ReduceFailed {
            job,
            part,
            attempt,
            lost,
        });
        self.heartbeat(ctx);
    }

    /// A map worker answers a fetch. A late answer to an earlier reduce of another partition
    /// of the same job (same map attempts) is told apart by the partition it names.
    pub fn on_fetch_reply(&mut self, ctx: &mut Ctx<'_, MrNode>, from: NodeId, reply: FetchReply) {
        let FetchReply {
            job,
            map,
            map_attempt,
            part,
            counts,
        } = reply;
        let Some((
            Task::Reduce {
                job: j, part: p, ..
            },
            Phase::Fetching { pending, got },
        )) = &mut self.current
        else {
            return;
        };
        if *j != job || *p != part {
            return;
        }
        let Some((input, _)) = pending.get(&map) else {
            return;
        };
        if input.map_attempt != map_attempt || input.worker != from.0 {
            return;
        }
        match counts {
            Some(c) if counts_ok(&c, self.opts.words_per_split) => {
                got.insert(map, c);
                pending.remove(&map);
                self.check_fetched(ctx);
            }
            Some(_) => {}
            None => {
                ctx.note("mr/map-output-missing", json!({"map": map, "from": from.0}));
                self.fail(ctx, vec![(map, map_attempt)]);
            }
        }
    }

    /// Fetches timed out: resend, or give up on the ones tried `fetch_tries_max` times.
    pub fn on_fetch_timer(&mut self, ctx: &mut Ctx<'_, MrNode>) {
        let Some((_, Phase::Fetching { pending, .. })) = &mut self.current else {
            return;
        };
        let mut lost = Vec::new();
        for (map, (input, tries)) in pending.iter_mut() {
            *tries += 1;
            if *tries >= self.opts.fetch_tries_max {
                lost.push((*map, input.map_attempt));
            }
        }
        if lost.is_empty() {
            self.send_fetches(ctx);
        } else {
            ctx.note("mr/fetch-unreachable", json!({"lost": lost}));
            self.fail(ctx, lost);
        }
    }

    /// The work of the current attempt is done.
    pub fn on_work_timer(&mut self, ctx: &mut Ctx<'_, MrNode>) {
        match self.current.take() {
            Some((Task::Map { job, map, attempt }, Phase::Mapping)) => {
                let outputs = corpus::map_output(&self.opts, &job, map, self.salt);
                for (part, counts) in &outputs {
                    // Plain data: encoding cannot fail.
                    let bytes = serde_json::to_vec(counts).unwrap_or_default();
                    if let Err(e) = ctx
                        .storage()
                        .write(&map_file(&job, map, attempt, *part), &bytes)
                    {
                        // Nothing reported: the coordinator runs the map again elsewhere.
                        ctx.note("mr/map-write-failed", json!(e.to_string()));
                        self.heartbeat(ctx);
                        return;
                    }
                }
                ctx.observe(
                    "mr/map-written",
                    json!({"job": job, "map": map, "attempt": attempt, "worker": self.me.0}),
                );
                self.report = Some(Report::MapDone { job, map, attempt });
                self.heartbeat(ctx);
            }
            Some((task, Phase::Reducing { got })) => {
                let mut merged = Counts::new();
                for c in got.values() {
                    for (w, n) in c {
                        *merged.entry(w.clone()).or_insert(0) += n;
                    }
                }
                let records = merged.into_iter().collect();
                self.current = Some((task, Phase::Writing { records, next: 0 }));
                self.send_chunk(ctx);
            }
            other => self.current = other,
        }
    }

    /// Sends the chunk in flight to the store, or reports the attempt done after the last.
    fn send_chunk(&mut self, ctx: &mut Ctx<'_, MrNode>) {
        let Some((
            Task::Reduce {
                job,
                part,
                attempt,
                inputs,
            },
            Phase::Writing { records, next },
        )) = &self.current
        else {
            return;
        };
        let per = self.opts.chunk_records as usize;
        let from = *next as usize * per;
        if from >= records.len() {
            let report = Report::ReduceDone {
                job: job.clone(),
                part: *part,
                attempt: *attempt,
                records: records.len() as u32,
                inputs: inputs.iter().map(|i| (i.map, i.map_attempt)).collect(),
            };
            ctx.cancel_timer(CHUNK_TIMER);
            self.current = None;
            self.report = Some(report);
            self.heartbeat(ctx);
            return;
        }
        let chunk = records[from..(from + per).min(records.len())].to_vec();
        let msg = MrMsg::Chunk {
            job: job.clone(),
            part: *part,
            attempt: *attempt,
            index: *next,
            records: chunk,
        };
        ctx.send(self.opts.store(), msg);
        ctx.set_timer(
            CHUNK_TIMER,
            Duration::from_millis(self.opts.attempt_timeout_ms),
        );
    }

    /// The store made a chunk durable.
    pub fn on_chunk_ack(&mut self, ctx: &mut Ctx<'_, MrNode>, attempt: u64, index: u32) {
        let Some((task, Phase::Writing { next, .. })) = &mut self.current else {
            return;
        };
        if task.attempt() != attempt || *next != index {
            return;
        }
        *next += 1;
        self.send_chunk(ctx);
    }

    /// A chunk went unanswered: send it again.
    pub fn on_chunk_timer(&mut self, ctx: &mut Ctx<'_, MrNode>) {
        self.send_chunk(ctx);
    }

    /// The coordinator took the report of `attempt`.
    pub fn on_report_ack(&mut self, ctx: &mut Ctx<'_, MrNode>, attempt: u64) {
        if self.report.as_ref().is_some_and(|r| r.attempt() == attempt) {
            self.report = None;
            self.heartbeat(ctx);
        }
    }

    /// Another worker's reduce asks for a map output on this disk.
    pub fn on_fetch(
        &mut self,
        ctx: &mut Ctx<'_, MrNode>,
        from: NodeId,
        job: String,
        map: u32,
        map_attempt: u64,
        part: u32,
    ) {
        if !super::msg::job_ok(&job, self.opts.job_bytes_max) || part >= self.opts.reduces {
            return;
        }
        let counts = read_output(ctx, &job, map, map_attempt, part);
        let msg = MrMsg::FetchReply {
            job,
            map,
            map_attempt,
            part,
            counts,
        };
        ctx.send(from, msg);
    }
}

/// A map output on this disk, if it is there and whole.
fn read_output(
    ctx: &mut Ctx<'_, MrNode>,
    job: &str,
    map: u32,
    attempt: u64,
    part: u32,
) -> Option<Counts> {
    let bytes = ctx
        .storage()
        .read(&map_file(job, map, attempt, part))
        .ok()??;
    serde_json::from_slice(&bytes).ok()
}

/// True when a peer's counts could come from a split of this cluster.
fn counts_ok(c: &Counts, words_per_split: u32) -> bool {
    c.iter()
        .all(|(w, n)| corpus::is_word(w) && *n <= u64::from(words_per_split))
}

impl Worker {
    /// True when `n` is a worker of this cluster.
    pub fn is_worker(&self, n: NodeId) -> bool {
        self.opts.role(n) == Role::Worker
    }

    /// True when `n` is the store.
    pub fn is_store(&self, n: NodeId) -> bool {
        n == self.opts.store()
    }

    /// True while a reduce is fetching its inputs (for tests).
    #[cfg(test)]
    pub fn fetching(&self) -> bool {
        matches!(self.current, Some((_, Phase::Fetching { .. })))
    }
}
