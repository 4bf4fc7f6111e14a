//! The turmoil backend: one turmoil host per node (so crash and restart are turmoil's), one
//! host for all clients. Everything else — the fault layer, clocks, disks, pauses — is shared
//! with every simulated backend (`backend::sim`).

mod runtime;

pub use runtime::{CLIENTS_HOST, TurmoilRuntime, node_host};

use super::sim::{clients_software, node_software};
use super::{Backend, DriverError, HostSetup, SimDriver, SimOptions};
use crate::client::ClientLogic;
use crate::ids::NodeId;
use crate::node::service::Service;
use crate::time::SimTime;
use crate::world::WorldState;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, UNIX_EPOCH};

/// The turmoil backend.
pub struct TurmoilBackend;

impl Backend for TurmoilBackend {
    type Driver = TurmoilDriver;

    fn build<S, C>(
        setup: Rc<HostSetup<S, C>>,
        world: Rc<RefCell<WorldState>>,
        opts: &SimOptions,
    ) -> Result<TurmoilDriver, DriverError>
    where
        S: Service,
        C: ClientLogic<S>,
    {
        let epoch =
            UNIX_EPOCH + Duration::from_nanos(u64::try_from(opts.epoch_unix_ns).unwrap_or(0));
        let mut sim = turmoil::Builder::new()
            .rng_seed(setup.seeds.simulator())
            .epoch(epoch)
            .tick_duration(opts.tick)
            .simulation_duration(opts.horizon)
            .min_message_latency(opts.latency_min)
            .max_message_latency(opts.latency_max)
            // Our inbox is the bound that matters (and logs its drops); keep turmoil's out of the way.
            .udp_capacity(setup.inbox_capacity.max(64) * 4)
            .build();
        for n in 0..setup.nodes {
            let (world, setup) = (world.clone(), setup.clone());
            sim.host(node_host(NodeId(n)), move || {
                let (world, setup) = (world.clone(), setup.clone());
                async move {
                    node_software::<TurmoilRuntime, S, C>(world, setup, NodeId(n)).await?;
                    Ok(())
                }
            });
        }
        let clients_world = world.clone();
        sim.host(CLIENTS_HOST, move || {
            let (world, setup) = (clients_world.clone(), setup.clone());
            async move {
                clients_software::<TurmoilRuntime, S, C>(world, setup).await?;
                Ok(())
            }
        });
        Ok(TurmoilDriver { sim, world })
    }
}

/// A running turmoil simulation.
pub struct TurmoilDriver {
    sim: turmoil::Sim<'static>,
    world: Rc<RefCell<WorldState>>,
}

impl SimDriver for TurmoilDriver {
    fn now(&self) -> SimTime {
        SimTime::from_duration(self.sim.elapsed())
    }

    fn run_until(&mut self, until: SimTime) -> Result<(), DriverError> {
        // turmoil turns every host once per tick, whatever is due: time moves in fixed steps.
        // A panicked host ends the run where it panicked (see `backend::sim::panic_guard`).
        while self.now() < until && self.world.borrow().panic.is_none() {
            let at = self.now();
            self.sim.step().map_err(|e| DriverError::Sim {
                at,
                message: e.to_string(),
            })?;
        }
        Ok(())
    }

    fn kill(&mut self, node: NodeId) {
        self.sim.crash(node_host(node));
    }

    fn start(&mut self, node: NodeId) {
        self.sim.bounce(node_host(node));
    }
}
