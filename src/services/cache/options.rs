//! Options of the cache tier (`[cache]` in a scenario file); every default is stated here.

use crate::plugin::{OptionError, Shape};
use crate::services::kv::api::KvOptions;
use serde::Deserialize;
use std::time::Duration;

/// The `[cache]` table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CacheOptions {
    /// Nodes `n0 ..` that run the KV store (the source of truth); the rest are cache nodes.
    /// Default 3.
    pub store_nodes: u32,
    /// Keys clients use (`k0 ..`). Default 4.
    pub keys: u32,
    /// Share of operations that read, in permille (the rest write). Default 800.
    pub read_permille: u32,
    /// Share of operations on the hot key `k0`, in permille (the rest spread evenly over all
    /// keys). Default 0.
    pub hot_key_permille: u32,
    /// The last this-many clients only read: with clients placed next to nodes in turn
    /// (client `c` next to node `c mod nodes`), the last ones sit next to the cache nodes and
    /// keep reading through a partition that cuts them off from the store. Default 0.
    pub read_only_clients: u32,
    /// How long an entry lives after its fill, on the cache node's monotonic clock. Default 500.
    pub ttl_ms: u64,
    /// How long a miss's lease stays good for a fill, on the cache node's monotonic clock.
    /// Default 100.
    pub lease_ms: u64,
    /// The clock-rate error tolerated between a cache node and a writer (ppm): a writer that
    /// cannot reach a key's cache node waits out `(ttl_ms + lease_ms)` stretched by it before
    /// it reports its write done. Default 100000 (10 %).
    pub drift_bound_ppm: u32,
    /// The promise: a read that starts more than this after a write completed sees that write
    /// or a newer one. Default 0 (a write completes only once no older copy can be served).
    pub staleness_bound_ms: u64,
    /// Entries a cache node holds; beyond it, the one expiring first is evicted. Default 1024.
    pub entries_max: usize,
    /// Outstanding leases a cache node keeps; beyond it a miss gets no lease. Default 1024.
    pub leases_max: usize,
    /// Longest key a cache node takes, in bytes. Default 256.
    pub key_bytes_max: usize,
    /// Longest value a cache node takes, in bytes. Default 4096.
    pub value_bytes_max: usize,
    /// A client gives up on one attempt after this long. Default 100.
    pub attempt_timeout_ms: u64,
    /// A client waits this long before retrying when the store has no leader. Default 10.
    pub backoff_ms: u64,
    /// The store's replicas (`[cache.store]`: the KV store's own options; its workload
    /// fields are not used). Default: the KV store's defaults.
    pub store: KvOptions,
}

impl Default for CacheOptions {
    fn default() -> Self {
        CacheOptions {
            store_nodes: 3,
            keys: 4,
            read_permille: 800,
            hot_key_permille: 0,
            read_only_clients: 0,
            ttl_ms: 500,
            lease_ms: 100,
            drift_bound_ppm: 100_000,
            staleness_bound_ms: 0,
            entries_max: 1024,
            leases_max: 1024,
            key_bytes_max: 256,
            value_bytes_max: 4096,
            attempt_timeout_ms: 100,
            backoff_ms: 10,
            store: KvOptions::default(),
        }
    }
}

/// The drift bound can be at most this (50 %): beyond it the wait-out formula breaks down.
const DRIFT_BOUND_PPM_MAX: u32 = 500_000;

impl CacheOptions {
    /// How long a writer that could not invalidate waits, on its own monotonic clock, after the
    /// store acknowledged its write: every copy a fill could have made from an older value is
    /// gone by then — a lease issued before the write is good for `lease_ms`, its entry for
    /// `ttl_ms` more, on a clock that may run slow by the drift bound while the writer's runs
    /// fast by it.
    pub fn wait_out(&self) -> Duration {
        let ms = self.ttl_ms.saturating_add(self.lease_ms);
        let d = u64::from(self.drift_bound_ppm.min(DRIFT_BOUND_PPM_MAX));
        let scaled = ms.saturating_mul(1_000_000 + d).div_ceil(1_000_000 - d);
        Duration::from_millis(scaled.saturating_add(1))
    }

    /// How often a cache node drops expired entries and leases.
    pub fn sweep(&self) -> Duration {
        Duration::from_millis((self.ttl_ms / 4).max(1))
    }

    /// Checks the options for a cluster of this shape.
    pub fn validate(&self, shape: &Shape) -> Result<(), OptionError> {
        if self.store_nodes == 0 || self.store_nodes >= shape.nodes {
            return Err(OptionError::new(
                "store_nodes",
                format!(
                    "{} store nodes leave no cache node among {} nodes",
                    self.store_nodes, shape.nodes
                ),
            ));
        }
        if !(1..=1000).contains(&self.keys) {
            return Err(OptionError::new("keys", "must be 1..=1000"));
        }
        if self.read_permille > 1000 || self.hot_key_permille > 1000 {
            return Err(OptionError::new(
                "read_permille",
                "read_permille and hot_key_permille must be 0..=1000",
            ));
        }
        if self.read_only_clients > shape.clients {
            return Err(OptionError::new(
                "read_only_clients",
                format!("more than the {} clients", shape.clients),
            ));
        }
        if self.ttl_ms == 0 || self.lease_ms == 0 {
            return Err(OptionError::new(
                "ttl_ms",
                "ttl_ms and lease_ms must be at least 1",
            ));
        }
        if self.drift_bound_ppm > DRIFT_BOUND_PPM_MAX {
            return Err(OptionError::new(
                "drift_bound_ppm",
                format!("must be at most {DRIFT_BOUND_PPM_MAX}"),
            ));
        }
        let sizes = [self.entries_max, self.leases_max, self.key_bytes_max];
        if sizes.contains(&0) || self.value_bytes_max == 0 {
            return Err(OptionError::new(
                "entries_max",
                "entries_max, leases_max, key_bytes_max and value_bytes_max must be at least 1",
            ));
        }
        if self.attempt_timeout_ms == 0 {
            return Err(OptionError::new("attempt_timeout_ms", "must be at least 1"));
        }
        let store_shape = Shape {
            nodes: self.store_nodes,
            clients: shape.clients,
        };
        self.store
            .validate(&store_shape)
            .map_err(|e| OptionError::new("store", format!("{}: {}", e.field, e.message)))?;
        if self.store.groups != 1 {
            return Err(OptionError::new("store", "groups: the store is one group"));
        }
        Ok(())
    }
}
