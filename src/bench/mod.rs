//! Benchmarks, reported as numbers (never asserted by timed unit tests): how fast planted bugs
//! are found (`faultlab bench bugs`), the simulator's speed
//! (`faultlab bench sim`) and the checker's (`faultlab bench check`, whose seeded history
//! generators and mutations are also used by the checker's tests).

// The checker's generators are documented on the checker branch (issue 12); until it merges
// they are exempt from `missing_docs`.
pub mod bugs;
#[allow(missing_docs)]
pub mod histories;
pub mod mutate;
pub mod sim;
#[allow(missing_docs)]
pub mod timed;
