//! Benchmarks, reported as numbers (never asserted by timed unit tests): the simulator's speed
//! (`faultlab bench sim`) and the checker's (`faultlab bench check`, whose seeded history
//! generators and mutations are also used by the checker's tests).

pub mod histories;
pub mod mutate;
pub mod sim;
pub mod timed;
