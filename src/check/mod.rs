//! Linearizability checking (Wing–Gong/Lowe with memoisation and P-compositionality).
//!
//! The checker consumes histories only: it never imports a service or the simulator.
