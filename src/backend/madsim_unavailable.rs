//! Stand-in for the madsim backend in builds without `--cfg madsim`: the variant exists
//! everywhere (so scenarios, flags and reports are the same in every build), and asking for it
//! here is an error that says how to get a build that has it.

use super::{Backend, BackendKind, DriverError, HostSetup, SimDriver, SimOptions};
use crate::client::ClientLogic;
use crate::ids::NodeId;
use crate::node::service::Service;
use crate::time::SimTime;
use crate::world::WorldState;
use std::cell::RefCell;
use std::rc::Rc;

/// How to get a build with the madsim backend.
pub const HOW: &str = "rebuild with `--cfg madsim` in RUSTFLAGS, in a target directory of its own \
     (every crate is rebuilt for it), e.g. `RUSTFLAGS=\"--cfg madsim\" cargo build --release \
     --target-dir target/sim`; in faultlab's own repository `cargo simbuild` and `cargo simtest` \
     do this (a RUSTFLAGS environment variable overrides the cfg they set)";

/// The madsim backend, absent from this build.
pub struct MadsimBackend;

/// Never built: this build has no madsim.
pub enum MadsimDriver {}

impl Backend for MadsimBackend {
    type Driver = MadsimDriver;

    fn build<S, C>(
        _setup: Rc<HostSetup<S, C>>,
        _world: Rc<RefCell<WorldState>>,
        _opts: &SimOptions,
    ) -> Result<MadsimDriver, DriverError>
    where
        S: Service,
        C: ClientLogic<S>,
    {
        Err(DriverError::Unavailable {
            backend: BackendKind::Madsim,
            how: HOW,
        })
    }
}

impl SimDriver for MadsimDriver {
    fn now(&self) -> SimTime {
        match *self {}
    }
    fn run_until(&mut self, _until: SimTime) -> Result<(), DriverError> {
        match *self {}
    }
    fn kill(&mut self, _node: NodeId) {
        match *self {}
    }
    fn start(&mut self, _node: NodeId) {
        match *self {}
    }
}

/// Runs `f` here: without madsim there is no process-wide state to isolate runs from.
pub fn isolate<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    f()
}
