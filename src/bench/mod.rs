//! Benchmarks, reported as numbers (never asserted by timed unit tests): the simulator's speed
//! (`faultlab bench sim`) and the checker's (`faultlab bench check`).

pub mod sim;
