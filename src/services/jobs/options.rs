//! Options of the job queue (`[jobs]` in a scenario file); every default is stated here.
//!
//! Node layout: nodes `n0 .. n(replicas-1)` are the queue's Raft replicas, the next `workers`
//! nodes are workers, and the last node is the effect sink.

use super::machine::DutyConfig;
use crate::ids::NodeId;
use crate::plugin::{OptionError, Shape};
use crate::services::raft::RaftConfig;
use crate::services::replicated::{self, ClientOptions, Routing, SessionOptions};
use serde::Deserialize;

/// Worker sessions start here; producers' are their client number + 1, below 2^32 (on real
/// sockets client numbers are drawn per run and can be large).
pub const WORKER_SESSION_BASE: u64 = 1 << 48;
/// A worker's session is `WORKER_SESSION_BASE + node × this + incarnation`.
pub const WORKER_SESSION_STRIDE: u64 = 100_000;

/// The `[jobs]` table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JobsOptions {
    /// Raft replicas of the queue (the first nodes). Default 3.
    pub replicas: u32,
    /// Worker nodes (after the replicas; the last node is the sink). Default 2.
    pub workers: u32,
    /// How long a leased job stays invisible, judged by the leader's monotonic clock.
    /// Default 400.
    pub visibility_ms: u64,
    /// The clock drift tolerated (ppm): the leader expires a lease after
    /// `visibility_ms × (1 + bound)` on its clock; a worker stops acting on it after
    /// `visibility_ms × (1 − bound) − guard_ms` on its own, counted from when it asked.
    /// Default 100000 (10 %).
    pub drift_bound_ppm: u32,
    /// A worker also stops this long before its lease runs out by its clock. Default 20.
    pub guard_ms: u64,
    /// How long a job's work takes before its effect. Default 20.
    pub work_ms: u64,
    /// How long a worker takes after the effect before it acknowledges (cleanup). Default 20.
    pub finish_ms: u64,
    /// An idle worker asks again this long after finding the queue empty. Default 20.
    pub poll_ms: u64,
    /// The schedule fires a slot every this-many ms (0: no schedule). Default 500.
    pub every_ms: u64,
    /// Of a producer's new jobs, this many per thousand are enqueued to run at a wall-clock
    /// time ("at T"): T is the producer's wall clock plus a delay drawn up to `delay_ms_max`.
    /// Default 200.
    pub delayed_permille: u32,
    /// The longest such delay. Default 600.
    pub delay_ms_max: u64,
    /// The promise for a job enqueued to run at T: it has run by T (on the producer's clock)
    /// plus this slack, plus the usual settling, once clocks and network are healed — the slack
    /// covers the leader's wall clock running behind the producer's. Default 1000.
    pub at_slack_ms: u64,
    /// Longest idempotency key or job name a node takes, in bytes. Default 128.
    pub key_bytes_max: usize,
    /// Raft election timeout bounds (local monotonic ms). Defaults 150 and 300.
    pub election_timeout_ms_min: u64,
    /// See `election_timeout_ms_min`.
    pub election_timeout_ms_max: u64,
    /// Leader heartbeat interval. Default 50.
    pub heartbeat_ms: u64,
    /// Applied log entries that trigger a snapshot and log compaction. Default 500.
    pub compact_after_entries: u64,
    /// A producer or worker tries another replica (a worker: resends to the sink) after this
    /// long without a reply. Default 100.
    pub attempt_timeout_ms: u64,
    /// Wait this long before retrying when no leader is known. Default 20.
    pub backoff_ms: u64,
    /// Bound on the client session table. Default 4096.
    pub sessions_max: usize,
}

impl Default for JobsOptions {
    fn default() -> Self {
        JobsOptions {
            replicas: 3,
            workers: 2,
            visibility_ms: 400,
            drift_bound_ppm: 100_000,
            guard_ms: 20,
            work_ms: 20,
            finish_ms: 20,
            poll_ms: 20,
            every_ms: 500,
            delayed_permille: 200,
            delay_ms_max: 600,
            at_slack_ms: 1000,
            key_bytes_max: 128,
            election_timeout_ms_min: 150,
            election_timeout_ms_max: 300,
            heartbeat_ms: 50,
            compact_after_entries: 500,
            attempt_timeout_ms: 100,
            backoff_ms: 20,
            sessions_max: 4096,
        }
    }
}

/// What a node of a job cluster is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A Raft replica of the queue.
    Replica,
    /// A worker.
    Worker,
    /// The effect sink.
    Sink,
}

impl JobsOptions {
    /// What node `n` is.
    pub fn role(&self, n: NodeId) -> Role {
        if n.0 < self.replicas {
            Role::Replica
        } else if n.0 < self.replicas + self.workers {
            Role::Worker
        } else {
            Role::Sink
        }
    }

    /// The replicas.
    pub fn replica_ids(&self) -> Vec<NodeId> {
        (0..self.replicas).map(NodeId).collect()
    }

    /// The sink.
    pub fn sink(&self) -> NodeId {
        NodeId(self.replicas + self.workers)
    }

    /// The session of worker `node` in its incarnation `incarnation`: a restarted worker never
    /// reuses a session (the replicas would answer its first request from the old one's table).
    pub fn worker_session(node: NodeId, incarnation: u32) -> u64 {
        WORKER_SESSION_BASE
            + u64::from(node.0) * WORKER_SESSION_STRIDE
            + u64::from(incarnation) % WORKER_SESSION_STRIDE
    }

    /// True when `session` may be worker `node`'s.
    pub fn is_worker_session(node: NodeId, session: u64) -> bool {
        session >= WORKER_SESSION_BASE
            && (session - WORKER_SESSION_BASE) / WORKER_SESSION_STRIDE == u64::from(node.0)
    }

    /// The Raft core's options.
    pub fn raft(&self) -> RaftConfig {
        RaftConfig {
            election_timeout_ms_min: self.election_timeout_ms_min,
            election_timeout_ms_max: self.election_timeout_ms_max,
            heartbeat_ms: self.heartbeat_ms,
            pre_vote: true,
            check_quorum: true,
            compact_after_entries: self.compact_after_entries,
            ..RaftConfig::default()
        }
    }

    /// One group of every replica.
    pub fn routing(&self) -> Routing {
        Routing {
            groups: 1,
            vnodes_per_group: 1,
        }
    }

    /// Client sessions.
    pub fn sessions(&self) -> SessionOptions {
        SessionOptions {
            sessions_max: self.sessions_max,
            no_dedup: false,
        }
    }

    /// How clients find the leader.
    pub fn client(&self) -> ClientOptions {
        ClientOptions {
            attempt_timeout_ms: self.attempt_timeout_ms,
            backoff_ms: self.backoff_ms,
            routing: self.routing(),
        }
    }

    /// How the leader times leases and the schedule (`cron_every_node`: the planted bug, which
    /// takes the schedule away from the leader).
    pub fn duties(&self, cron_every_node: bool) -> DutyConfig {
        DutyConfig {
            visibility_ms: self.visibility_ms,
            drift_bound_ppm: self.drift_bound_ppm,
            every_ms: if cron_every_node { 0 } else { self.every_ms },
        }
    }

    /// How long a worker may act on a lease by its own clock, counted from when it asked.
    pub fn usable_ms(&self) -> u64 {
        let drift = (self.visibility_ms * u64::from(self.drift_bound_ppm)).div_ceil(1_000_000);
        self.visibility_ms
            .saturating_sub(drift)
            .saturating_sub(self.guard_ms)
    }

    /// Checks the options for a cluster of this shape.
    pub fn validate(&self, shape: &Shape) -> Result<(), OptionError> {
        if self.replicas == 0 {
            return Err(OptionError::new("replicas", "must be at least 1"));
        }
        if self.workers == 0 {
            return Err(OptionError::new("workers", "must be at least 1"));
        }
        if shape.nodes != self.replicas + self.workers + 1 {
            return Err(OptionError::new(
                "workers",
                format!(
                    "{} replicas + {} workers + the sink make {} nodes, the scenario has {}",
                    self.replicas,
                    self.workers,
                    self.replicas + self.workers + 1,
                    shape.nodes
                ),
            ));
        }
        if self.drift_bound_ppm >= 500_000 {
            return Err(OptionError::new("drift_bound_ppm", "must be below 500000"));
        }
        if self.usable_ms() <= self.work_ms {
            return Err(OptionError::new(
                "visibility_ms",
                format!(
                    "{} ms leaves no time for work_ms {} after the drift margin and guard_ms",
                    self.visibility_ms, self.work_ms
                ),
            ));
        }
        if self.delayed_permille > 1000 {
            return Err(OptionError::new("delayed_permille", "must be at most 1000"));
        }
        if self.poll_ms == 0 {
            return Err(OptionError::new("poll_ms", "must be at least 1"));
        }
        if self.key_bytes_max < 32 {
            return Err(OptionError::new("key_bytes_max", "must be at least 32"));
        }
        replicated::validate_common(&self.client(), &self.sessions(), shape)?;
        self.raft()
            .validate()
            .map_err(|(field, message)| OptionError::new(field, message))
    }
}
