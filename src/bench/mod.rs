//! Benchmarks, reported as numbers (never asserted by timed unit tests): how fast planted bugs
//! are found (`faultlab bench bugs`), the simulator's speed
//! (`faultlab bench sim`) and the checker's (`faultlab bench check`, whose seeded history
//! generators and mutations are also used by the checker's tests).

pub mod bugs;
pub mod explore;
pub mod histories;
pub mod mutate;
pub mod sim;
pub mod timed;
