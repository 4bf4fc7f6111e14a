//! Benchmark support for the checker: seeded generators of histories that are linearizable by
//! construction (also used by tests), and the mutations that break them.

pub mod histories;
pub mod mutate;
