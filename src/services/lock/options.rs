//! Options of the lock service (`[lock]` in a scenario file); every default is stated here.
//!
//! Node layout: nodes `n0 .. n(N-2)` are the lock servers (one Raft group, or independent
//! Redlock servers under `--bug lock-redlock`); the last node is the protected resource.

use super::machine::DutyConfig;
use crate::ids::NodeId;
use crate::plugin::{OptionError, Shape};
use crate::services::raft::RaftConfig;
use crate::services::replicated::{self, ClientOptions, Routing, SessionOptions};
use serde::Deserialize;

/// The `[lock]` table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LockOptions {
    /// Lock names clients contend for (`lock0`, `lock1`, ...). Default 1.
    pub locks: u32,
    /// The lease a client asks for. Default 1000.
    pub lease_ms: u64,
    /// The clock drift the service and its clients tolerate (ppm): the server expires a lease
    /// after `lease_ms × (1 + bound)` on its clock, a client stops using it after
    /// `lease_ms × (1 − bound)` on its own, counted from when it asked. Default 10000 (1 %).
    pub drift_bound_ppm: u32,
    /// A client also stops this long before its lease runs out by its clock (its own think
    /// time must stay below this). Default 50.
    pub guard_ms: u64,
    /// Per mille of holds that use the lease to its end (the rest release at a random point).
    /// Default 300.
    pub hold_to_end_permille: u32,
    /// Per mille of holds that renew the lease once before releasing. Default 200.
    pub renew_permille: u32,
    /// Writes a holder makes to the protected resource per hold. Default 2.
    pub writes_per_hold: u32,
    /// Per mille of holds in which the holder stalls (a GC pause) after checking its lease and
    /// before writing. Default 0.
    pub stall_permille: u32,
    /// How long such a stall lasts. Default 0.
    pub stall_ms: u64,
    /// Per mille of acquires given up while queued after which the client, still needing
    /// that lock, asks for it again and keeps its place; the rest abandon it (leave its queue
    /// with `Cancel`) and ask for a lock drawn afresh. Default 750.
    pub wait_again_permille: u32,
    /// A free lock stays reserved this long for the waiter at the head of the queue. Default
    /// `lease_ms`.
    pub reserve_ms: Option<u64>,
    /// Raft election timeout bounds (local monotonic ms). Defaults 150 and 300.
    pub election_timeout_ms_min: u64,
    /// See `election_timeout_ms_min`.
    pub election_timeout_ms_max: u64,
    /// Leader heartbeat interval. Default 50.
    pub heartbeat_ms: u64,
    /// Applied log entries that trigger a snapshot and log compaction. Default 500.
    pub compact_after_entries: u64,
    /// A client tries another server after this long without a reply (Redlock: gives that
    /// server up). Default 100.
    pub attempt_timeout_ms: u64,
    /// A client waits this long before asking again (no leader known, or queued). Default 20.
    pub backoff_ms: u64,
    /// Bound on the client session table. Default 4096.
    pub sessions_max: usize,
}

impl Default for LockOptions {
    fn default() -> Self {
        LockOptions {
            locks: 1,
            lease_ms: 1000,
            drift_bound_ppm: 10_000,
            guard_ms: 50,
            hold_to_end_permille: 300,
            renew_permille: 200,
            writes_per_hold: 2,
            stall_permille: 0,
            stall_ms: 0,
            wait_again_permille: 750,
            reserve_ms: None,
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

impl LockOptions {
    /// The lock servers of a cluster (all nodes but the last).
    pub fn servers(cluster: &[NodeId]) -> &[NodeId] {
        &cluster[..cluster.len().saturating_sub(1)]
    }

    /// The protected resource's node (the last).
    pub fn resource(cluster: &[NodeId]) -> NodeId {
        cluster.last().copied().unwrap_or(NodeId(0))
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

    /// One group of every server.
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

    /// How the leader times leases.
    pub fn duties(&self, restart_tokens_on_failover: bool) -> DutyConfig {
        DutyConfig {
            drift_bound_ppm: self.drift_bound_ppm,
            reserve_ms: self.reserve_ms.unwrap_or(self.lease_ms),
            restart_tokens_on_failover,
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

    /// How long a client may use a lease by its own clock, counted from when it asked
    /// (`margin`: with the drift bound; without it is the planted bug).
    pub fn usable_ms(&self, margin: bool) -> u64 {
        let drift = if margin {
            (self.lease_ms * u64::from(self.drift_bound_ppm)).div_ceil(1_000_000)
        } else {
            0
        };
        self.lease_ms.saturating_sub(drift)
    }

    /// Checks the options for a cluster of this shape.
    pub fn validate(&self, shape: &Shape) -> Result<(), OptionError> {
        if shape.nodes < 2 {
            return Err(OptionError::new(
                "locks",
                "the lock service needs at least 2 nodes: servers and the resource (the last node)",
            ));
        }
        if self.locks == 0 {
            return Err(OptionError::new("locks", "must be at least 1"));
        }
        if self.drift_bound_ppm >= 500_000 {
            return Err(OptionError::new("drift_bound_ppm", "must be below 500000"));
        }
        if self.lease_ms == 0 || self.usable_ms(true) <= self.guard_ms * 2 {
            return Err(OptionError::new(
                "lease_ms",
                format!(
                    "{} ms leaves no usable lease after the drift margin and twice guard_ms {}",
                    self.lease_ms, self.guard_ms
                ),
            ));
        }
        for (field, v) in [
            ("hold_to_end_permille", self.hold_to_end_permille),
            ("renew_permille", self.renew_permille),
            ("stall_permille", self.stall_permille),
            ("wait_again_permille", self.wait_again_permille),
        ] {
            if v > 1000 {
                return Err(OptionError::new(field, "must be at most 1000"));
            }
        }
        replicated::validate_common(&self.client(), &self.sessions(), shape)?;
        self.raft()
            .validate()
            .map_err(|(field, message)| OptionError::new(field, message))
    }
}
