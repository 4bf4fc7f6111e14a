//! Raft tests.
