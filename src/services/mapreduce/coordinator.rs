//! The coordinator (the paper's master): it keeps the jobs, hands task attempts to idle
//! workers on their heartbeats, re-executes the tasks of workers that die or restart (and the
//! finished maps whose output was on their disks), launches a backup attempt for a task that
//! runs long (stragglers), and fences commits: the first finished attempt of a partition is
//! granted the rename, every later one is turned away. Its progress is durable ([`super::state`])
//! and synced before it is acted on, so a restarted coordinator neither loses a job nor
//! commits a partition twice.
//!
//! Attempt ids are `epoch << 32 | counter`, the epoch bumped and synced at every start, so no
//! two attempts ever share an id (a temp file is named for its attempt).
//!
//! Records (`observe`): `mr/assign` for each attempt handed out, `mr/job-done` when the last
//! partition's rename is confirmed.

use super::bugs;
use super::msg::{Input, MrMsg, MrResponse, Report, Task};
use super::node::MrNode;
use super::options::MrOptions;
use super::state::{self, CoordState, JobState};
use crate::node::service::{Ctx, ReplyTo, TimerId};
use crate::time::LocalInstant;
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;

/// The coordinator's tick.
pub const TICK_TIMER: TimerId = TimerId(21);

/// A task: a split or a partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Map(u32),
    Reduce(u32),
}

/// An attempt the coordinator believes is running.
#[derive(Debug, Clone)]
struct Running {
    job: String,
    kind: Kind,
    worker: u32,
    started: LocalInstant,
}

/// What the coordinator knows of a worker.
#[derive(Debug, Clone, Copy)]
struct Seen {
    incarnation: u32,
    last: LocalInstant,
    alive: bool,
}

/// The coordinator.
#[derive(Debug)]
pub struct Coordinator {
    opts: MrOptions,
    /// `None` when the durable state cannot be trusted: it serves nothing.
    state: Option<CoordState>,
    next_attempt: u64,
    running: BTreeMap<u64, Running>,
    workers: BTreeMap<u32, Seen>,
    in_memory: bool,
    double_commit: bool,
    forget_lost: bool,
    reduce_early: bool,
}

impl Coordinator {
    /// The coordinator's abstract state for guided exploration: attempts in flight, workers
    /// it hears from, restarts so far, and whether its durable state was lost.
    pub fn sketch(&self, sketch: &mut crate::node::sketch::Sketch) {
        sketch
            .dim("coordinator", 1)
            .count("running", self.running.len() as u64)
            .count("workers", self.workers.len() as u64)
            .count("epoch", self.state.as_ref().map_or(0, |s| s.epoch))
            .count(
                "jobs",
                self.state.as_ref().map_or(0, |s| s.jobs.len() as u64),
            )
            .flag("state_lost", self.state.is_none());
    }

    /// Recovers from disk and bumps the epoch.
    pub fn start(opts: &MrOptions, ctx: &mut Ctx<'_, MrNode>) -> Coordinator {
        let state = match ctx.storage().read(state::FILE) {
            Ok(None) => Ok(CoordState::default()),
            Ok(Some(bytes)) => state::decode(&bytes),
            Err(e) => Err(e.to_string()),
        };
        let state = match state {
            Ok(mut s) => {
                s.epoch += 1;
                Some(s)
            }
            Err(e) => {
                ctx.alert("mr/coordinator-refusing", json!(e));
                None
            }
        };
        let mut c = Coordinator {
            opts: opts.clone(),
            state,
            next_attempt: 0,
            running: BTreeMap::new(),
            workers: BTreeMap::new(),
            in_memory: ctx.bug(bugs::COORDINATOR_STATE_IN_MEMORY),
            double_commit: ctx.bug(bugs::DOUBLE_COMMIT),
            forget_lost: ctx.bug(bugs::FORGET_LOST_MAP_OUTPUT),
            reduce_early: ctx.bug(bugs::REDUCE_BEFORE_MAPS_DONE),
        };
        if c.state.is_some() {
            c.persist(ctx);
        }
        ctx.set_timer(TICK_TIMER, Duration::from_millis(opts.tick_ms));
        c
    }

    /// Writes the state and syncs it: everything said after this depends on it.
    fn persist(&mut self, ctx: &mut Ctx<'_, MrNode>) {
        let Some(s) = &self.state else { return };
        let bytes = state::encode(&s.durable(self.in_memory));
        match ctx.storage().write(state::FILE, &bytes) {
            Ok(()) => ctx.sync(),
            Err(e) => ctx.halt(format!("cannot write {}: {e}", state::FILE)),
        }
    }

    /// A client submits `job`.
    pub fn on_submit(&mut self, ctx: &mut Ctx<'_, MrNode>, from: ReplyTo, job: String) {
        let Some(s) = &mut self.state else {
            ctx.reply(from, MrResponse::WrongNode);
            return;
        };
        if s.jobs.contains_key(&job) {
            // A resubmit (or a duplicate) may arrive while the first one's sync is under way.
            ctx.sync();
            ctx.reply(from, MrResponse::Accepted);
            return;
        }
        if s.jobs.len() >= self.opts.jobs_max as usize {
            ctx.reply(from, MrResponse::Busy);
            return;
        }
        let order = s.submitted;
        s.submitted += 1;
        let j = JobState::new(order, self.opts.maps, self.opts.reduces);
        s.jobs.insert(job, j);
        self.persist(ctx);
        ctx.reply(from, MrResponse::Accepted);
    }

    /// A worker's heartbeat.
    pub fn on_heartbeat(
        &mut self,
        ctx: &mut Ctx<'_, MrNode>,
        worker: u32,
        incarnation: u32,
        running: Option<Task>,
        report: Option<Report>,
    ) {
        if self.state.is_none() {
            return;
        }
        let now = ctx.now().mono;
        let seen = self.workers.entry(worker).or_insert(Seen {
            incarnation,
            last: now,
            alive: true,
        });
        if incarnation < seen.incarnation {
            // A heartbeat from before the worker's restart, held by the network.
            return;
        }
        let restarted = incarnation > seen.incarnation;
        *seen = Seen {
            incarnation,
            last: now,
            alive: true,
        };
        if restarted {
            ctx.note("mr/worker-restarted", json!({"worker": worker}));
            self.running.retain(|_, r| r.worker != worker);
        }
        self.forget_outputs_of(ctx, worker, Some(incarnation));
        if let Some(report) = report {
            let attempt = report.attempt();
            self.on_report(ctx, worker, incarnation, report);
            ctx.send(crate::ids::NodeId(worker), MrMsg::ReportAck { attempt });
            return;
        }
        // What the worker says it runs is what runs there (an assignment may have been lost).
        let kept = running
            .as_ref()
            .and_then(|t| self.running.get(&t.attempt()).cloned());
        self.running.retain(|_, r| r.worker != worker);
        match running {
            Some(task) => {
                let kind = match &task {
                    Task::Map { map, .. } => Kind::Map(*map),
                    Task::Reduce { part, .. } => Kind::Reduce(*part),
                };
                if self.needed(task.job(), kind) {
                    let started = kept.map_or(now, |k| k.started);
                    let r = Running {
                        job: task.job().to_string(),
                        kind,
                        worker,
                        started,
                    };
                    self.running.insert(task.attempt(), r);
                }
            }
            None => self.assign(ctx, worker),
        }
    }

    /// Marks lost the map outputs held by `worker` in an incarnation other than `current`
    /// (`None`: it is dead, all of them), for jobs not yet done.
    fn forget_outputs_of(&mut self, ctx: &mut Ctx<'_, MrNode>, worker: u32, current: Option<u32>) {
        if self.forget_lost {
            return;
        }
        let Some(s) = &mut self.state else { return };
        let mut lost = Vec::new();
        for (name, j) in &mut s.jobs {
            if j.done() {
                continue;
            }
            for (m, slot) in j.maps.iter_mut().enumerate() {
                let gone =
                    slot.is_some_and(|d| d.worker == worker && Some(d.incarnation) != current);
                if gone {
                    *slot = None;
                    lost.push(json!([name, m]));
                }
            }
        }
        if !lost.is_empty() {
            ctx.note(
                "mr/rerun-lost-maps",
                json!({"worker": worker, "maps": lost}),
            );
            self.persist(ctx);
        }
    }

    /// True while `kind` of `job` still needs an attempt to finish.
    fn needed(&self, job: &str, kind: Kind) -> bool {
        let Some(j) = self.state.as_ref().and_then(|s| s.jobs.get(job)) else {
            return false;
        };
        match kind {
            Kind::Map(m) => j.maps.get(m as usize).is_some_and(Option::is_none) && !j.done(),
            Kind::Reduce(p) => j.reduces.get(p as usize).is_some_and(Option::is_none),
        }
    }

    fn runs(&self, job: &str, kind: Kind) -> usize {
        self.running
            .values()
            .filter(|r| r.job == job && r.kind == kind)
            .count()
    }

    /// Hands idle `worker` the first task that needs an attempt, else a backup of a straggler.
    fn assign(&mut self, ctx: &mut Ctx<'_, MrNode>, worker: u32) {
        let Some(s) = &self.state else { return };
        let mut jobs: Vec<(&String, &JobState)> =
            s.jobs.iter().filter(|(_, j)| !j.done()).collect();
        jobs.sort_by_key(|(_, j)| j.order);
        let mut pick: Option<(String, Kind)> = None;
        'jobs: for (name, j) in &jobs {
            for m in 0..j.maps.len() as u32 {
                if self.needed(name, Kind::Map(m)) && self.runs(name, Kind::Map(m)) == 0 {
                    pick = Some((name.to_string(), Kind::Map(m)));
                    break 'jobs;
                }
            }
            if !self.reducible(name) {
                continue;
            }
            for p in 0..j.reduces.len() as u32 {
                if self.needed(name, Kind::Reduce(p)) && self.runs(name, Kind::Reduce(p)) == 0 {
                    pick = Some((name.to_string(), Kind::Reduce(p)));
                    break 'jobs;
                }
            }
        }
        if pick.is_none() {
            pick = self.straggler(ctx.now().mono, worker);
            if let Some((job, kind)) = &pick {
                ctx.note(
                    "mr/backup",
                    json!({"job": job, "task": format!("{kind:?}"), "worker": worker}),
                );
            }
        }
        if let Some((job, kind)) = pick {
            self.give(ctx, worker, job, kind);
        }
    }

    /// A task whose only attempt has run longer than `backup_after_ms` on another worker — a
    /// reduce only while every map is done (a map lost since the first attempt began is run
    /// again first; a backup given the outputs done so far would skip it).
    fn straggler(&self, now: LocalInstant, worker: u32) -> Option<(String, Kind)> {
        let after = Duration::from_millis(self.opts.backup_after_ms);
        self.running
            .values()
            .filter(|r| r.worker != worker && now.saturating_since(r.started) >= after)
            .filter(|r| matches!(r.kind, Kind::Map(_)) || self.reducible(&r.job))
            .find(|r| self.needed(&r.job, r.kind) && self.runs(&r.job, r.kind) == 1)
            .map(|r| (r.job.clone(), r.kind))
    }

    /// True when `job`'s reduces may run: every map done (or, under the planted bug
    /// `mr-reduce-before-maps-done`, any).
    fn reducible(&self, job: &str) -> bool {
        let Some(j) = self.state.as_ref().and_then(|s| s.jobs.get(job)) else {
            return false;
        };
        j.maps_done() || (self.reduce_early && j.maps.iter().any(Option::is_some))
    }

    fn give(&mut self, ctx: &mut Ctx<'_, MrNode>, worker: u32, job: String, kind: Kind) {
        if matches!(kind, Kind::Reduce(_)) && !self.reducible(&job) {
            return;
        }
        let Some(s) = &self.state else { return };
        let Some(j) = s.jobs.get(&job) else { return };
        self.next_attempt += 1;
        let attempt = (s.epoch << 32) | (self.next_attempt & 0xffff_ffff);
        let task = match kind {
            Kind::Map(map) => Task::Map {
                job: job.clone(),
                map,
                attempt,
            },
            Kind::Reduce(part) => Task::Reduce {
                job: job.clone(),
                part,
                attempt,
                inputs: j
                    .maps
                    .iter()
                    .enumerate()
                    .filter_map(|(m, d)| {
                        d.map(|d| Input {
                            map: m as u32,
                            map_attempt: d.attempt,
                            worker: d.worker,
                        })
                    })
                    .collect(),
            },
        };
        let (what, index) = match kind {
            Kind::Map(m) => ("map", m),
            Kind::Reduce(p) => ("reduce", p),
        };
        ctx.observe(
            "mr/assign",
            json!({"job": job, "task": what, "index": index, "attempt": attempt, "worker": worker}),
        );
        let started = ctx.now().mono;
        self.running.insert(
            attempt,
            Running {
                job,
                kind,
                worker,
                started,
            },
        );
        ctx.send(crate::ids::NodeId(worker), MrMsg::Assign(task));
    }
}

#[path = "coordinator_reports.rs"]
mod reports;

impl Coordinator {
    /// True when `n` is a worker of this cluster.
    pub fn is_worker(&self, n: crate::ids::NodeId) -> bool {
        self.opts.role(n) == super::options::Role::Worker
    }

    /// True when `n` is the store.
    pub fn is_store(&self, n: crate::ids::NodeId) -> bool {
        n == self.opts.store()
    }

    /// True for a job name the coordinator takes.
    pub fn job_ok(&self, job: &str) -> bool {
        super::msg::job_ok(job, self.opts.job_bytes_max)
    }
}
