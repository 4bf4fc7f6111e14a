//! Raft tests: scripted interactions (etcd-raft style), the durable format, a randomized
//! in-memory cluster, and one test per planted bug showing the property it breaks.

mod bugs;
mod harness;
mod hostile;
mod random;
mod scripted;
mod store;
