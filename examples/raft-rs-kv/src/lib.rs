//! A replicated key-value service on TiKV's `raft` crate (raft-rs 0.7: the sans-IO `RawNode`
//! and its `Ready`), written only against faultlab's public API and run inside faultlab's
//! simulator: faultlab's disk (syncs, crashes that lose unsynced writes), its clocks (skew,
//! drift, pauses) and its network (loss, duplication, delay, partitions).
//!
//! - [`node`]: the [`Service`] — one `RawNode` per node, the Ready loop wired to faultlab
//!   (persist → `ctx.sync()` → send persisted messages → apply), ReadIndex reads, client
//!   sessions, log compaction and snapshots, and the determinism fix for raft-rs's
//!   `thread_rng` election timeouts;
//! - [`wal`]: the durable format (one checksummed write-ahead log) and raft-rs's `Storage`;
//! - [`machine`]: the state machine (keys → values, client sessions, a rolling digest);
//! - [`client`]: leader discovery, redirects, retries under the same session number;
//! - [`invariants`]: Raft's safety properties from what the nodes observed.
//!
//! Four planted bugs, the classic mistakes with raft-rs's Ready loop, each switched on with
//! `ctx.bug(..)`: [`SEND_BEFORE_PERSIST`], [`APPLY_BEFORE_PERSIST`], [`LEASE_READ`],
//! [`SNAPSHOT_NOT_PERSISTED`].

pub mod client;
pub mod invariants;
pub mod log_store;
pub mod machine;
pub mod msg;
pub mod node;
pub mod wal;

use faultlab::invariants::linearizable::Linearizable;
use faultlab::prelude::*;
use serde::{Deserialize, Serialize};

pub use client::KvClient;
pub use node::{NodeConfig, RaftKvNode};

/// Votes and append acknowledgements (`persisted_messages`) are sent before the entries and
/// hard state they vouch for are durable.
pub const SEND_BEFORE_PERSIST: Bug = Bug::new(
    "raftkv-send-before-persist",
    "votes and append acks (persisted_messages) are sent before the entries and hard state are synced",
);

/// The Ready is advanced, its committed entries applied and clients answered, while its
/// entries and hard state are still being synced in the background (group commit).
pub const APPLY_BEFORE_PERSIST: Bug = Bug::new(
    "raftkv-apply-before-persist",
    "the Ready is advanced and committed entries applied and answered before the local fsync (background group commit): the leader counts its own unsynced entries toward the quorum",
);

/// Reads are served with `ReadOnlyOption::LeaseBased`: the leader trusts its CheckQuorum
/// lease, measured in ticks of a clock that drifts and pauses.
pub const LEASE_READ: Bug = Bug::new(
    "raftkv-lease-read",
    "reads use ReadOnlyOption::LeaseBased: a leader trusts its lease under clock drift and pauses",
);

/// A snapshot received from the leader is installed in memory (state machine and log) and
/// acknowledged, but never written to disk.
pub const SNAPSHOT_NOT_PERSISTED: Bug = Bug::new(
    "raftkv-snapshot-not-persisted",
    "a snapshot received from the leader is applied and acknowledged but never written to disk",
);

/// The plug-in.
pub struct RaftKvService;

/// `[raftkv]` in a scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RaftKvOptions {
    /// One raft tick on the node's local monotonic clock. Default 10.
    pub tick_ms: u64,
    /// Election timeout in ticks, randomized in `[n, 2n)`. Default 10.
    pub election_ticks: u64,
    /// Heartbeat interval in ticks. Default 2.
    pub heartbeat_ticks: u64,
    /// CheckQuorum: a leader that has not heard from a quorum for an election timeout steps
    /// down. Default true.
    pub check_quorum: bool,
    /// PreVote. Default true.
    pub pre_vote: bool,
    /// Snapshot (and compact the log) every this many applied entries. Default 200.
    pub compact_after_entries: u64,
    /// Rewrite the WAL after this many appended records (one per Ready). Default 1000.
    pub rewrite_after_records: u64,
    /// The background fsync interval of `raftkv-apply-before-persist`. Default 20.
    pub group_commit_ms: u64,
    /// Keys the clients use (`k0`, `k1`, ...). Default 3.
    pub keys: u32,
    /// Operation weights. Defaults 50, 25, 15, 10.
    pub get_weight: u32,
    /// See `get_weight`.
    pub put_weight: u32,
    /// See `get_weight`.
    pub cas_weight: u32,
    /// See `get_weight`.
    pub append_weight: u32,
    /// The first this many clients only read. Default 0.
    pub read_only_clients: u32,
    /// One client attempt waits this long for its answer before trying another node.
    /// Default 200.
    pub attempt_timeout_ms: u64,
    /// A client waits this long before retrying when no leader is known. Default 20.
    pub backoff_ms: u64,
}

impl Default for RaftKvOptions {
    fn default() -> Self {
        RaftKvOptions {
            tick_ms: 10,
            election_ticks: 10,
            heartbeat_ticks: 2,
            check_quorum: true,
            pre_vote: true,
            compact_after_entries: 200,
            rewrite_after_records: 1000,
            group_commit_ms: 20,
            keys: 3,
            get_weight: 50,
            put_weight: 25,
            cas_weight: 15,
            append_weight: 10,
            read_only_clients: 0,
            attempt_timeout_ms: 200,
            backoff_ms: 20,
        }
    }
}

fn usize_of(v: u64) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

impl ServiceSpec for RaftKvService {
    const NAME: &'static str = "raftkv";
    const ABOUT: &'static str =
        "KV store on TiKV's raft crate (RawNode + Ready): ReadIndex reads, sessions, snapshots";
    const BUGS: &'static [Bug] = &[
        SEND_BEFORE_PERSIST,
        APPLY_BEFORE_PERSIST,
        LEASE_READ,
        SNAPSHOT_NOT_PERSISTED,
    ];
    type Options = RaftKvOptions;
    type Server = RaftKvNode;
    type Client = KvClient;

    fn validate(o: &RaftKvOptions, shape: &Shape) -> Result<(), OptionError> {
        if shape.nodes == 0 || shape.nodes > 15 {
            return Err(OptionError::new("nodes", "raftkv runs on 1 to 15 nodes"));
        }
        let positive = [
            ("tick_ms", o.tick_ms),
            ("heartbeat_ticks", o.heartbeat_ticks),
            ("compact_after_entries", o.compact_after_entries),
            ("rewrite_after_records", o.rewrite_after_records),
            ("group_commit_ms", o.group_commit_ms),
            ("attempt_timeout_ms", o.attempt_timeout_ms),
        ];
        for (field, v) in positive {
            if v == 0 {
                return Err(OptionError::new(field, "must be at least 1"));
            }
        }
        if o.election_ticks <= o.heartbeat_ticks || o.election_ticks > 10_000 {
            return Err(OptionError::new(
                "election_ticks",
                "must exceed heartbeat_ticks (and be at most 10000)",
            ));
        }
        if o.keys == 0 {
            return Err(OptionError::new("keys", "must be at least 1"));
        }
        let sum = [o.get_weight, o.put_weight, o.cas_weight, o.append_weight]
            .iter()
            .try_fold(0u32, |a, &w| a.checked_add(w));
        if sum.is_none_or(|s| s == 0) {
            return Err(OptionError::new(
                "get_weight",
                "the operation weights must add up to between 1 and u32::MAX",
            ));
        }
        Ok(())
    }

    fn server_config(o: &RaftKvOptions, _shape: &Shape) -> NodeConfig {
        NodeConfig {
            tick_ms: o.tick_ms,
            election_ticks: usize_of(o.election_ticks),
            heartbeat_ticks: usize_of(o.heartbeat_ticks),
            check_quorum: o.check_quorum,
            pre_vote: o.pre_vote,
            compact_after_entries: o.compact_after_entries,
            rewrite_after_records: o.rewrite_after_records,
            max_size_per_msg: 1 << 20,
            max_inflight_msgs: 256,
            group_commit_ms: o.group_commit_ms,
        }
    }

    fn client(o: &RaftKvOptions, _shape: &Shape, client: ClientId, _bugs: &BugSet) -> KvClient {
        KvClient::new(o, client)
    }

    fn invariants(_o: &RaftKvOptions) -> Vec<Box<dyn Invariant>> {
        let mut all: Vec<Box<dyn Invariant>> = vec![Box::new(Linearizable::kv())];
        all.extend(invariants::all());
        all
    }

    fn history_checks(_o: &RaftKvOptions, history: &History) -> Vec<Verdict> {
        vec![Linearizable::kv().judge_history(history)]
    }
}
