//! Placeholder: the KV service on TiKV's `raft` crate (being written).
