//! Consistent hashing: maps string keys to replication groups through a ring of virtual nodes.
//!
//! Pure and deterministic: the hash is specified here (FNV-1a 64 followed by the SplitMix64
//! finaliser, see [`ring_hash`]), never `std`'s randomly seeded hasher, so every node, client
//! and replay agrees on where a key lives. This module never does I/O.

mod hash_ring;

pub use hash_ring::{GroupId, Ring, RingError, ring_hash};

#[cfg(test)]
mod tests;
