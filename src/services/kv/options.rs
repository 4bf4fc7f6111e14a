//! Options of the KV store (`[kv]` in a scenario file); every default is stated here.

use crate::plugin::{OptionError, Shape};
use crate::services::raft::{LeaseConfig, RaftConfig};
use crate::services::replicated::{self, ClientOptions, Routing, SessionOptions};
use serde::Deserialize;

/// The `[kv]` table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KvOptions {
    /// Keys clients use (`k0`, `k1`, ...): few, so operations really contend. Default 5.
    pub keys: u32,
    /// Weights of the operations clients draw. Defaults: get 35, put 20, cas 20, append 20,
    /// delete 5.
    pub get_weight: u32,
    /// See `get_weight`.
    pub put_weight: u32,
    /// See `get_weight`.
    pub cas_weight: u32,
    /// See `get_weight`.
    pub append_weight: u32,
    /// See `get_weight`.
    pub delete_weight: u32,
    /// Clients `c0 .. c<N-1>` only read (Jepsen's dedicated readers): a reader next to a node
    /// cut off from the rest keeps asking it, where a mixed client would soon wait on a write
    /// that cannot commit. Default 0.
    pub read_only_clients: u32,
    /// Replication groups (the node count must be a multiple): keys are spread over them by a
    /// consistent-hash ring. Default 1.
    pub groups: u32,
    /// Virtual nodes per group on the ring. Default 64.
    pub vnodes_per_group: u32,
    /// Raft election timeout bounds (local monotonic ms). Defaults 150 and 300.
    pub election_timeout_ms_min: u64,
    /// See `election_timeout_ms_min`.
    pub election_timeout_ms_max: u64,
    /// Leader heartbeat interval. Default 50.
    pub heartbeat_ms: u64,
    /// A node first asks whether it could win (PreVote) before raising its term, so a node
    /// that was cut off cannot depose a healthy leader when it returns. Default true (etcd
    /// shipped it off until 3.4).
    pub pre_vote: bool,
    /// A leader that has not heard from a majority for an election timeout steps down. etcd
    /// ships with it off; then a leader cut off in a minority keeps believing it leads until
    /// it hears a higher term — correct reads must still confirm leadership (ReadIndex).
    /// Default true.
    pub check_quorum: bool,
    /// Applied log entries that trigger a snapshot and log compaction. Default 500.
    pub compact_after_entries: u64,
    /// Entries per AppendEntries message. Default 64.
    pub append_entries_max: usize,
    /// Serve reads from a leader lease instead of a ReadIndex round. Default false.
    pub lease_reads: bool,
    /// The clock drift the lease tolerates (ppm); the scenario's clocks must stay within it for
    /// lease reads to be safe. Default 10000 (1 %).
    pub lease_drift_bound_ppm: u32,
    /// A client tries another node after this long without a reply. Default 100.
    pub attempt_timeout_ms: u64,
    /// A client waits this long before retrying when no leader is known. Default 10.
    pub backoff_ms: u64,
    /// Bound on the client session table. Default 4096.
    pub sessions_max: usize,
}

impl Default for KvOptions {
    fn default() -> Self {
        KvOptions {
            keys: 5,
            get_weight: 35,
            put_weight: 20,
            cas_weight: 20,
            append_weight: 20,
            delete_weight: 5,
            read_only_clients: 0,
            groups: 1,
            vnodes_per_group: 64,
            election_timeout_ms_min: 150,
            election_timeout_ms_max: 300,
            heartbeat_ms: 50,
            pre_vote: true,
            check_quorum: true,
            compact_after_entries: 500,
            append_entries_max: 64,
            lease_reads: false,
            lease_drift_bound_ppm: 10_000,
            attempt_timeout_ms: 100,
            backoff_ms: 10,
            sessions_max: 4096,
        }
    }
}

impl KvOptions {
    /// The Raft core's options.
    pub fn raft(&self) -> RaftConfig {
        RaftConfig {
            election_timeout_ms_min: self.election_timeout_ms_min,
            election_timeout_ms_max: self.election_timeout_ms_max,
            heartbeat_ms: self.heartbeat_ms,
            pre_vote: self.pre_vote,
            check_quorum: self.check_quorum,
            compact_after_entries: self.compact_after_entries,
            append_entries_max: self.append_entries_max,
            lease_read: self.lease_reads.then_some(LeaseConfig {
                drift_bound_ppm: self.lease_drift_bound_ppm,
            }),
            ..RaftConfig::default()
        }
    }

    /// How nodes form groups and keys map to them.
    pub fn routing(&self) -> Routing {
        Routing {
            groups: self.groups,
            vnodes_per_group: self.vnodes_per_group,
        }
    }

    /// Client sessions.
    pub fn sessions(&self) -> SessionOptions {
        SessionOptions {
            sessions_max: self.sessions_max,
            no_dedup: false,
        }
    }

    /// How clients behave.
    pub fn client(&self) -> ClientOptions {
        ClientOptions {
            attempt_timeout_ms: self.attempt_timeout_ms,
            backoff_ms: self.backoff_ms,
            routing: self.routing(),
        }
    }

    /// Checks the options for a cluster of this shape.
    pub fn validate(&self, shape: &Shape) -> Result<(), OptionError> {
        if self.keys == 0 {
            return Err(OptionError::new("keys", "must be at least 1"));
        }
        let weights = self.get_weight
            + self.put_weight
            + self.cas_weight
            + self.append_weight
            + self.delete_weight;
        if weights == 0 {
            return Err(OptionError::new(
                "get_weight",
                "the operation weights sum to 0",
            ));
        }
        if self.groups == 0 || !shape.nodes.is_multiple_of(self.groups) {
            return Err(OptionError::new(
                "groups",
                format!(
                    "{} nodes cannot be split into {} equal groups",
                    shape.nodes, self.groups
                ),
            ));
        }
        if self.vnodes_per_group == 0 {
            return Err(OptionError::new("vnodes_per_group", "must be at least 1"));
        }
        replicated::validate_common(&self.client(), &self.sessions(), shape)?;
        self.raft()
            .validate()
            .map_err(|(field, message)| OptionError::new(raft_field(field), message))
    }
}

/// The `[kv]` field a Raft option comes from.
fn raft_field(field: &'static str) -> &'static str {
    match field {
        "lease_read" => "lease_drift_bound_ppm",
        other => other,
    }
}
