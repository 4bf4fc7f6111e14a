//! The job queue's replicated state: jobs by id (with the idempotency key each was enqueued
//! under), which worker session holds a visibility lease on which job with which token, and the
//! schedule's last fired slot. Ids and tokens come from the replicated state, so they strictly
//! increase across leader changes, restarts and snapshots.
//!
//! Visibility timeouts and schedule slots are the leader's duties ([`JobDuties`]): it times each
//! lease on its own monotonic clock from when it first saw it (a new leader: from when it took
//! over) and proposes `Expire` after `visibility_ms × (1 + drift bound)`; it proposes
//! `Fire { slot }` one period after it saw the previous slot fire. A `Fire` counts only for the
//! slot right after the last one fired, so a slot fires once whoever proposes it, however often.
//!
//! A job may be enqueued to run at a wall-clock time T ("send the reminder at 9:00"): it waits,
//! invisible, until the leader's wall clock reaches T and the leader proposes `Due`. Only the
//! log moves it to visible, once, so it runs once whatever the clocks say and whoever leads;
//! a leader whose clock runs behind releases it late, one whose clock jumps ahead, early.

use crate::services::replicated::{DutyPlan, SYSTEM_SESSION, StateMachine};
use crate::time::{LocalInstant, LocalNow};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// A job queue operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "op")]
pub enum JobOp {
    /// A producer adds a job; a second enqueue under the same key is the same job.
    Enqueue {
        /// The idempotency key.
        key: String,
        /// What the job does (the effect's name at the sink).
        name: String,
        /// Run it no earlier than this wall-clock time (ms since the Unix epoch) by the
        /// leader's clock; absent: at once.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        at_unix_ms: Option<i64>,
    },
    /// A worker asks for the oldest visible job (the lease belongs to the asking session).
    Lease,
    /// A worker is done with the job it leased under `token`: delete it.
    Ack {
        /// The job.
        id: u64,
        /// The lease's token.
        token: u64,
    },
    /// The leader's duty: lease `token` of job `id` ran out; the job is visible again.
    Expire {
        /// The job.
        id: u64,
        /// The lease that ran out.
        token: u64,
    },
    /// The leader's duty: schedule slot `slot` is due (counts only as the next slot).
    Fire {
        /// The slot.
        slot: u64,
    },
    /// The leader's duty: job `id`, enqueued to run at a wall-clock time, is due by the
    /// leader's clock and becomes visible (once: it counts only while the job waits).
    Due {
        /// The job.
        id: u64,
    },
}

/// What a job queue operation returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "result")]
pub enum JobResult {
    /// The job's id (the same for every enqueue under one key).
    Enqueued {
        /// The id.
        id: u64,
    },
    /// The caller holds a visibility lease on this job.
    Leased {
        /// The job.
        id: u64,
        /// What it does.
        name: String,
        /// Its idempotency key (the sink deduplicates on it).
        key: String,
        /// The schedule slot it runs, if any.
        slot: Option<u64>,
        /// The lease's fencing token.
        token: u64,
    },
    /// No job is visible.
    Empty,
    /// The job is deleted.
    Acked,
    /// The token does not hold the job (its lease ran out, or it is done).
    NotHolder,
    /// A leader duty (or a refused operation) was applied.
    Done,
}

/// Where a job is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "state")]
pub enum JobState {
    /// Waiting for its wall-clock time: invisible until the leader says it is due.
    Scheduled {
        /// When it may run (ms since the Unix epoch, by the leader's wall clock).
        at_unix_ms: i64,
    },
    /// Visible: the next lease may take it.
    Ready,
    /// Invisible while a worker holds it.
    Leased {
        /// The holder's session.
        session: u64,
        /// The lease's token.
        token: u64,
    },
    /// Acknowledged (kept, so its key still deduplicates).
    Done,
}

/// One job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    /// Its idempotency key.
    pub key: String,
    /// What it does.
    pub name: String,
    /// The schedule slot it runs.
    pub slot: Option<u64>,
    /// Where it is.
    pub state: JobState,
}

/// Every job, and the schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobsMachine {
    jobs: BTreeMap<u64, Job>,
    by_key: BTreeMap<String, u64>,
    next_id: u64,
    next_token: u64,
    /// The last schedule slot fired (0: none yet).
    fired: u64,
}

impl JobsMachine {
    /// A job.
    pub fn job(&self, id: u64) -> Option<&Job> {
        self.jobs.get(&id)
    }

    /// The last schedule slot fired.
    pub fn fired(&self) -> u64 {
        self.fired
    }

    fn enqueue(&mut self, key: &str, name: &str, slot: Option<u64>, at: Option<i64>) -> u64 {
        if let Some(&id) = self.by_key.get(key) {
            return id;
        }
        let id = self.next_id;
        self.next_id += 1;
        self.by_key.insert(key.to_string(), id);
        self.jobs.insert(
            id,
            Job {
                key: key.to_string(),
                name: name.to_string(),
                slot,
                state: at.map_or(JobState::Ready, |at_unix_ms| JobState::Scheduled {
                    at_unix_ms,
                }),
            },
        );
        id
    }
}

impl JobOp {
    /// True for what a producer may ask.
    pub fn from_producer(&self) -> bool {
        matches!(self, JobOp::Enqueue { .. })
    }

    /// True for what a worker may ask (an enqueue: the planted bug's per-node cron).
    pub fn from_worker(&self) -> bool {
        matches!(
            self,
            JobOp::Lease | JobOp::Ack { .. } | JobOp::Enqueue { .. }
        )
    }
}

/// The name of schedule slot `slot`'s job (also its idempotency key).
pub fn slot_name(slot: u64) -> String {
    format!("slot-{slot}")
}

impl StateMachine for JobsMachine {
    type Op = JobOp;
    type Output = JobResult;
    const LABEL: &'static str = "jobs";
    type Duties = JobDuties;
    type DutyConfig = DutyConfig;

    fn empty() -> Self {
        JobsMachine {
            jobs: BTreeMap::new(),
            by_key: BTreeMap::new(),
            next_id: 1,
            next_token: 1,
            fired: 0,
        }
    }

    fn is_read(_op: &JobOp) -> bool {
        false
    }

    fn read(&self, _op: &JobOp) -> JobResult {
        JobResult::Done
    }

    fn apply(&mut self, index: u64, op: &JobOp) -> JobResult {
        self.apply_from(index, SYSTEM_SESSION, op)
    }

    /// A lease belongs to the session that asked for it; the duties count only from the leader.
    fn apply_from(&mut self, _index: u64, session: u64, op: &JobOp) -> JobResult {
        match op {
            JobOp::Enqueue {
                key,
                name,
                at_unix_ms,
            } => JobResult::Enqueued {
                id: self.enqueue(key, name, None, *at_unix_ms),
            },
            JobOp::Lease if session == SYSTEM_SESSION => JobResult::Done,
            JobOp::Lease => {
                let Some((&id, job)) = self
                    .jobs
                    .iter_mut()
                    .find(|(_, j)| j.state == JobState::Ready)
                else {
                    return JobResult::Empty;
                };
                let token = self.next_token;
                self.next_token += 1;
                job.state = JobState::Leased { session, token };
                JobResult::Leased {
                    id,
                    name: job.name.clone(),
                    key: job.key.clone(),
                    slot: job.slot,
                    token,
                }
            }
            JobOp::Ack { id, token } => match self.jobs.get_mut(id) {
                Some(job) if matches!(job.state, JobState::Leased { token: t, .. } if t == *token) =>
                {
                    job.state = JobState::Done;
                    JobResult::Acked
                }
                _ => JobResult::NotHolder,
            },
            JobOp::Expire { .. } | JobOp::Fire { .. } | JobOp::Due { .. }
                if session != SYSTEM_SESSION =>
            {
                JobResult::Done
            }
            JobOp::Expire { id, token } => {
                if let Some(job) = self.jobs.get_mut(id)
                    && matches!(job.state, JobState::Leased { token: t, .. } if t == *token)
                {
                    job.state = JobState::Ready;
                }
                JobResult::Done
            }
            JobOp::Fire { slot } => {
                if *slot == self.fired + 1 {
                    self.fired = *slot;
                    let name = slot_name(*slot);
                    self.enqueue(&name, &name, Some(*slot), None);
                }
                JobResult::Done
            }
            JobOp::Due { id } => {
                if let Some(job) = self.jobs.get_mut(id)
                    && matches!(job.state, JobState::Scheduled { .. })
                {
                    job.state = JobState::Ready;
                }
                JobResult::Done
            }
        }
    }

    fn duties(cfg: &DutyConfig) -> JobDuties {
        JobDuties {
            cfg: *cfg,
            timed: BTreeMap::new(),
            slot: None,
            released: BTreeMap::new(),
        }
    }

    fn leader_duties(&self, d: &mut JobDuties, clocks: LocalNow) -> DutyPlan<JobOp> {
        let now = clocks.mono;
        let mut plan = DutyPlan::default();
        let mut next_at: Option<LocalInstant> = None;
        let mut wake = |at: LocalInstant| next_at = Some(next_at.map_or(at, |n| n.min(at)));
        let leased: BTreeMap<u64, u64> = self
            .jobs
            .iter()
            .filter_map(|(&id, j)| match j.state {
                JobState::Leased { token, .. } => Some((id, token)),
                _ => None,
            })
            .collect();
        d.timed
            .retain(|id, (token, _)| leased.get(id) == Some(token));
        let expiry = Duration::from_millis(d.cfg.expiry_ms());
        for (id, token) in leased {
            let due = d
                .timed
                .entry(id)
                .or_insert_with(|| (token, now.saturating_add(expiry)));
            if now >= due.1 {
                plan.propose.push(JobOp::Expire { id, token });
                // Asked again if the proposal is lost (the operation is idempotent).
                due.1 = now.saturating_add(expiry);
            }
            wake(due.1);
        }
        let waiting: BTreeMap<u64, i64> = self
            .jobs
            .iter()
            .filter_map(|(&id, j)| match j.state {
                JobState::Scheduled { at_unix_ms } => Some((id, at_unix_ms)),
                _ => None,
            })
            .collect();
        d.released.retain(|id, _| waiting.contains_key(id));
        let wall_ms = clocks.wall.as_unix_ms();
        for (id, at_unix_ms) in waiting {
            if wall_ms < at_unix_ms {
                // Looked at again when the wall clock should say so; a clock stepped back in
                // the meantime only makes this look early, and it looks again.
                let in_ms = u64::try_from(at_unix_ms.saturating_sub(wall_ms)).unwrap_or(u64::MAX);
                wake(now.saturating_add(Duration::from_millis(in_ms)));
                continue;
            }
            match d.released.get(&id) {
                Some(&again) if now < again => wake(again),
                _ => {
                    plan.propose.push(JobOp::Due { id });
                    // Asked again if the proposal is lost (`Due` is idempotent).
                    let again = now.saturating_add(expiry);
                    d.released.insert(id, again);
                    wake(again);
                }
            }
        }
        if d.cfg.every_ms > 0 {
            let every = Duration::from_millis(d.cfg.every_ms);
            let (seen, due) = match d.slot {
                Some((seen, due)) if seen == self.fired => (seen, due),
                // A slot fired since (or this leader is new): the next one is a period away.
                _ => (self.fired, now.saturating_add(every)),
            };
            let due = if now >= due {
                plan.propose.push(JobOp::Fire { slot: seen + 1 });
                now.saturating_add(every)
            } else {
                due
            };
            d.slot = Some((seen, due));
            wake(due);
        }
        plan.next_at = next_at;
        plan
    }
}

/// How the leader times leases and the schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DutyConfig {
    /// The visibility timeout.
    pub visibility_ms: u64,
    /// The clock drift tolerated (ppm): a lease expires after `visibility_ms × (1 + bound)`.
    pub drift_bound_ppm: u32,
    /// The schedule's period (0: no schedule, or the planted bug's per-node cron instead).
    pub every_ms: u64,
}

impl DutyConfig {
    /// When a lease expires, on the leader's clock.
    pub fn expiry_ms(&self) -> u64 {
        self.visibility_ms
            + (self.visibility_ms * u64::from(self.drift_bound_ppm)).div_ceil(1_000_000)
    }
}

/// The leader's timers (never replicated).
#[derive(Debug)]
pub struct JobDuties {
    cfg: DutyConfig,
    /// Job id → (the lease's token, when it expires).
    timed: BTreeMap<u64, (u64, LocalInstant)>,
    /// (the last slot fired when last looked, when the next is due).
    slot: Option<(u64, LocalInstant)>,
    /// Waiting job id → when to propose its `Due` again if it still waits.
    released: BTreeMap<u64, LocalInstant>,
}
