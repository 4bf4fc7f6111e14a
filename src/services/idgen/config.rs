//! Options of the ID generator (`[idgen]` in a scenario file); every default is stated here.

use crate::plugin::OptionError;
use crate::services::lock::api::LockOptions;
use serde::Deserialize;

/// Options of the ID generator (`[idgen]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IdgenConfig {
    /// The ids' time origin, Unix ms. Default 1735689600000 (2025-01-01T00:00:00Z).
    pub epoch_unix_ms: i64,
    /// Bit widths; they must sum to at most 63 so ids are positive i64s. Defaults 41 / 10 / 12.
    pub timestamp_bits: u32,
    /// Bits of the worker (node) id.
    pub worker_bits: u32,
    /// Bits of the per-millisecond sequence.
    pub sequence_bits: u32,
    /// How far ahead of issued timestamps the persisted high-water mark runs. A larger value
    /// means fewer fsyncs and a longer wait after a restart. Default 1000.
    pub reserve_ms: u64,
    /// When the wall clock is behind the last issued timestamp by at most this, wait; by more,
    /// refuse. Default 50.
    pub backwards_wait_ms_max: u64,
    /// Requests queued while waiting; beyond it requests are refused. Default 10000.
    pub queue_max: usize,
    /// Worker ids leased from a lock service (`[idgen.leases]`); absent (the default), each
    /// node's worker id is its index.
    pub leases: Option<WorkerLeases>,
}

/// Worker ids as leases (`[idgen.leases]`): the first `servers` nodes run the Raft lock
/// service, the others generate ids under a worker id they hold a lease on (lock name
/// `worker-K`). A holder reserves timestamps in the lock's replicated mark before using them,
/// so the next holder of a worker id starts above everything the previous one could issue.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkerLeases {
    /// Lock servers (nodes `n0 ..`). Default 3.
    pub servers: u32,
    /// Worker ids to lease (`worker-0 ..`); fewer than generators leaves standbys waiting for
    /// one. Default: one per generator.
    pub worker_ids: Option<u32>,
    /// The lease a generator asks for. Default 1000.
    pub lease_ms: u64,
    /// Clock drift tolerated (ppm): the service expires a lease after `lease_ms × (1 + bound)`
    /// on its clock; a generator stops using it after `lease_ms × (1 − bound) − guard_ms` on
    /// its own, counted from when it asked. Default 10000 (1 %).
    pub drift_bound_ppm: u32,
    /// See `drift_bound_ppm`. Default 50.
    pub guard_ms: u64,
    /// How far above its wall clock a holder reserves timestamps with each renewal (the
    /// lock's mark); a new holder starts above the mark, so a handoff costs up to this long
    /// without ids from that worker id. Default 300.
    pub mark_ahead_ms: u64,
    /// A holder renews this often. Default `min(lease_ms / 4, mark_ahead_ms / 2)`.
    pub renew_every_ms: Option<u64>,
    /// A lease request tries another server after this long without a reply. Default 100.
    pub attempt_timeout_ms: u64,
    /// Wait this long before asking again (queued, or no leader known). Default 20.
    pub backoff_ms: u64,
}

impl Default for WorkerLeases {
    fn default() -> Self {
        WorkerLeases {
            servers: 3,
            worker_ids: None,
            lease_ms: 1000,
            drift_bound_ppm: 10_000,
            guard_ms: 50,
            mark_ahead_ms: 300,
            renew_every_ms: None,
            attempt_timeout_ms: 100,
            backoff_ms: 20,
        }
    }
}

impl WorkerLeases {
    /// Nodes that generate ids in a cluster of `nodes`.
    pub fn generators(&self, nodes: u32) -> u32 {
        nodes.saturating_sub(self.servers)
    }

    /// Worker ids leased out in a cluster of `nodes`.
    pub fn pool(&self, nodes: u32) -> u32 {
        self.worker_ids.unwrap_or_else(|| self.generators(nodes))
    }

    /// How often a holder renews.
    pub fn renew_every_ms(&self) -> u64 {
        self.renew_every_ms
            .unwrap_or_else(|| (self.lease_ms / 4).min(self.mark_ahead_ms / 2))
            .max(1)
    }

    /// How long a generator may use a lease by its own clock, counted from when it asked.
    pub fn usable_ms(&self) -> u64 {
        self.lock_options()
            .usable_ms(true)
            .saturating_sub(self.guard_ms)
    }

    /// The lock service the servers run.
    pub fn lock_options(&self) -> LockOptions {
        LockOptions {
            lease_ms: self.lease_ms,
            drift_bound_ppm: self.drift_bound_ppm,
            guard_ms: self.guard_ms,
            attempt_timeout_ms: self.attempt_timeout_ms,
            backoff_ms: self.backoff_ms,
            ..LockOptions::default()
        }
    }

    fn validate(&self, nodes: u32, worker_bits: u32) -> Result<(), OptionError> {
        if self.servers == 0 {
            return Err(OptionError::new("leases", "servers must be at least 1"));
        }
        if self.generators(nodes) == 0 {
            return Err(OptionError::new(
                "leases",
                format!(
                    "{} servers leave none of {nodes} nodes to generate ids",
                    self.servers
                ),
            ));
        }
        let pool = self.pool(nodes);
        if pool == 0 {
            return Err(OptionError::new("leases", "worker_ids must be at least 1"));
        }
        if u64::from(pool) > (1u64 << worker_bits) {
            return Err(OptionError::new(
                "worker_bits",
                format!("{worker_bits} bits cannot number {pool} worker ids"),
            ));
        }
        if self.mark_ahead_ms == 0 {
            return Err(OptionError::new(
                "leases",
                "mark_ahead_ms must be at least 1",
            ));
        }
        if self.usable_ms() <= self.renew_every_ms() {
            return Err(OptionError::new(
                "leases",
                format!(
                    "lease_ms {} leaves {} ms usable after the drift margin and guard_ms, not more than \
                     the renewal interval {} ms",
                    self.lease_ms,
                    self.usable_ms(),
                    self.renew_every_ms()
                ),
            ));
        }
        // The lock service's own checks, as if its clients were the generators.
        let shape = crate::plugin::Shape {
            nodes: self.servers + 1,
            clients: self.generators(nodes),
        };
        self.lock_options()
            .validate(&shape)
            .map_err(|e| OptionError::new("leases", format!("{}: {}", e.field, e.message)))
    }
}

impl Default for IdgenConfig {
    fn default() -> Self {
        IdgenConfig {
            epoch_unix_ms: 1_735_689_600_000,
            timestamp_bits: 41,
            worker_bits: 10,
            sequence_bits: 12,
            reserve_ms: 1000,
            backwards_wait_ms_max: 50,
            queue_max: 10_000,
            leases: None,
        }
    }
}

impl IdgenConfig {
    /// Checks the options for a cluster of `nodes`; on error names the field.
    pub fn validate(&self, nodes: u32) -> Result<(), OptionError> {
        let bits = [
            ("timestamp_bits", self.timestamp_bits),
            ("worker_bits", self.worker_bits),
            ("sequence_bits", self.sequence_bits),
        ];
        for (field, b) in bits {
            if !(1..=62).contains(&b) {
                return Err(OptionError::new(field, format!("must be 1..=62, got {b}")));
            }
        }
        let total = self.timestamp_bits + self.worker_bits + self.sequence_bits;
        if total > 63 {
            return Err(OptionError::new(
                "timestamp_bits",
                format!("bit widths sum to {total}, more than 63"),
            ));
        }
        if let Some(leases) = &self.leases {
            leases.validate(nodes, self.worker_bits)?;
        } else if u64::from(nodes) > (1u64 << self.worker_bits) {
            return Err(OptionError::new(
                "worker_bits",
                format!("{} bits cannot number {nodes} nodes", self.worker_bits),
            ));
        }
        if self.reserve_ms == 0 {
            return Err(OptionError::new("reserve_ms", "must be at least 1"));
        }
        if self.queue_max == 0 {
            return Err(OptionError::new("queue_max", "must be at least 1"));
        }
        Ok(())
    }
}
