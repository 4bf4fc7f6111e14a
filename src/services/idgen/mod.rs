//! Snowflake-style unique IDs: `timestamp | worker | sequence`, one generator per node, with
//! statically assigned worker ids (the node index).
//!
//! Guarantees: ids are unique, and the ids one node hands out strictly increase — also across
//! crashes, because the node persists (and fsyncs) a timestamp high-water mark `reserve_ms`
//! ahead of the ids it issues and never issues at or below it after a restart (checksummed, see
//! [`hwm`]: a torn last record is ignored, a corrupt one makes the node refuse for good rather
//! than risk a repeat; a failed write refuses the request, a failed sync restarts the node from
//! what the disk holds). When the wall
//! clock steps back, the node waits (up to `backwards_wait_ms_max`) or refuses; when a
//! millisecond's sequence is exhausted, it waits for the next millisecond.

pub mod bugs;
mod client;
mod config;
mod core;
pub mod hwm;
pub mod invariants;
mod layout;

pub use client::IdgenClient;
pub use config::IdgenConfig;
pub use core::{IdGen, IdRequest, IdResponse, NoPeerMsg, Refusal};
pub use layout::IdLayout;

use super::{OptionError, ServiceSpec, Shape};
use crate::bugs::Bug;
use crate::history::History;
use crate::ids::ClientId;
use crate::invariants::{Invariant, Verdict};

/// The ID generator's plug-in.
#[derive(Debug, Clone, Copy, Default)]
pub struct IdgenService;

impl ServiceSpec for IdgenService {
    const NAME: &'static str = "idgen";
    const ABOUT: &'static str =
        "Snowflake-style unique ID generator (timestamp | worker | sequence)";
    const BUGS: &'static [Bug] = bugs::ALL;
    type Options = IdgenConfig;
    type Server = IdGen;
    type Client = IdgenClient;

    fn validate(opts: &IdgenConfig, shape: &Shape) -> Result<(), OptionError> {
        opts.validate(shape.nodes)
    }

    fn server_config(opts: &IdgenConfig, _shape: &Shape) -> IdgenConfig {
        opts.clone()
    }

    fn client(
        _opts: &IdgenConfig,
        _shape: &Shape,
        _client: ClientId,
        _bugs: &crate::bugs::BugSet,
    ) -> IdgenClient {
        IdgenClient
    }

    fn invariants(opts: &IdgenConfig) -> Vec<Box<dyn Invariant>> {
        invariants::all(IdLayout::of(opts))
    }

    fn history_checks(_opts: &IdgenConfig, history: &History) -> Vec<Verdict> {
        invariants::history_only(history)
    }
}
