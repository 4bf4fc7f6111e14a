//! Snowflake-style unique IDs: `timestamp | worker | sequence`, one generator per node, with
//! statically assigned worker ids (the node index).
//!
//! Guarantees: ids are unique, and the ids one node hands out strictly increase — also across
//! crashes, because the node persists (and fsyncs) a timestamp high-water mark `reserve_ms`
//! ahead of the ids it issues and never issues at or below it after a restart. When the wall
//! clock steps back, the node waits (up to `backwards_wait_ms_max`) or refuses; when a
//! millisecond's sequence is exhausted, it waits for the next millisecond.

mod config;
mod core;
mod layout;
mod workload;

pub use config::IdgenConfig;
pub use core::{IdGen, IdRequest, IdResponse, NoPeerMsg, Refusal};
pub use layout::IdLayout;
pub use workload::IdgenWorkload;
