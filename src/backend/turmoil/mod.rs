//! The turmoil backend: one turmoil host per node (so crash and restart are turmoil's), one
//! host for all clients, our fault layer in front of turmoil's UDP, and our clocks and disks in
//! the shared world.

mod client_env;
mod node_env;
mod transport;

pub use transport::{AddrBook, CLIENTS_HOST, node_host, sim_now};

use super::{DriverError, SimDriver};
use crate::bugs::BugSet;
use crate::client::{ClientConfig, Workload, run_client};
use crate::ids::{Addr, ClientId, NodeId};
use crate::node::host::run_node;
use crate::node::service::{NodeInfo, Service};
use crate::rng::{child_seed, component_rng};
use crate::time::SimTime;
use crate::world::WorldState;
use client_env::TurmoilClientEnv;
use node_env::TurmoilNodeEnv;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, UNIX_EPOCH};
use tracing::Instrument;
use transport::Transport;

/// Everything the hosts of one run need, shared by their software factories.
pub struct HostSetup<S: Service, W> {
    pub seed: u64,
    pub nodes: u32,
    pub clients: u32,
    pub service_cfg: S::Config,
    pub bugs: BugSet,
    pub client: ClientConfig,
    pub workload: W,
    pub inbox_capacity: usize,
    pub fsync: Duration,
}

/// Simulator options.
#[derive(Debug, Clone)]
pub struct SimOptions {
    pub tick: Duration,
    pub latency_min: Duration,
    pub latency_max: Duration,
    pub epoch_unix_ns: i64,
    /// Longer than any run; turmoil only uses it to stop runaway client hosts, which we have none of.
    pub horizon: Duration,
}

pub struct TurmoilDriver<'a> {
    sim: turmoil::Sim<'a>,
}

impl<'a> TurmoilDriver<'a> {
    pub fn build<S, W>(
        setup: Rc<HostSetup<S, W>>,
        world: Rc<RefCell<WorldState>>,
        opts: &SimOptions,
    ) -> Self
    where
        S: Service,
        W: Workload<S> + Clone,
    {
        let epoch =
            UNIX_EPOCH + Duration::from_nanos(u64::try_from(opts.epoch_unix_ns).unwrap_or(0));
        let mut sim = turmoil::Builder::new()
            .rng_seed(child_seed(setup.seed, "turmoil", 0))
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
                node_software::<S, W>(world.clone(), setup.clone(), NodeId(n))
            });
        }
        let (world, setup) = (world.clone(), setup.clone());
        sim.host(CLIENTS_HOST, move || {
            clients_software::<S, W>(world.clone(), setup.clone())
        });
        TurmoilDriver { sim }
    }
}

impl SimDriver for TurmoilDriver<'_> {
    fn now(&self) -> SimTime {
        SimTime::from_duration(self.sim.elapsed())
    }

    fn step(&mut self) -> Result<(), DriverError> {
        let at = self.now();
        self.sim.step().map(|_| ()).map_err(|e| DriverError::Sim {
            at,
            message: e.to_string(),
        })
    }

    fn crash(&mut self, node: NodeId) {
        self.sim.crash(node_host(node));
    }

    fn restart(&mut self, node: NodeId) {
        self.sim.bounce(node_host(node));
    }
}

async fn node_software<S, W>(
    world: Rc<RefCell<WorldState>>,
    setup: Rc<HostSetup<S, W>>,
    node: NodeId,
) -> turmoil::Result
where
    S: Service,
    W: Workload<S> + Clone,
{
    let incarnation = world.borrow_mut().node_started(sim_now(), node);
    let book = Rc::new(AddrBook::resolve(setup.nodes, setup.clients));
    let transport = Transport::bind(
        world,
        Addr::Node(node),
        Some(incarnation),
        book,
        setup.inbox_capacity,
    )
    .await?;
    let env = TurmoilNodeEnv {
        transport,
        node,
        fsync: setup.fsync,
    };
    let info = NodeInfo {
        node,
        incarnation,
        cluster: (0..setup.nodes).map(NodeId).collect(),
        bugs: setup.bugs.clone(),
    };
    // A fresh stream per incarnation: a restarted node does not replay its old draws.
    let rng = component_rng(
        setup.seed,
        "node",
        (u64::from(node.0) << 32) | u64::from(incarnation.0),
    );
    let span = tracing::info_span!("node", node = %node, inc = incarnation.0);
    run_node::<S, _>(env, setup.service_cfg.clone(), info, rng)
        .instrument(span)
        .await;
    Ok(())
}

async fn clients_software<S, W>(
    world: Rc<RefCell<WorldState>>,
    setup: Rc<HostSetup<S, W>>,
) -> turmoil::Result
where
    S: Service,
    W: Workload<S> + Clone,
{
    let book = Rc::new(AddrBook::resolve(setup.nodes, setup.clients));
    let mut tasks = Vec::new();
    for c in 0..setup.clients {
        let me = ClientId(c);
        let transport = Transport::bind(
            world.clone(),
            Addr::Client(me),
            None,
            book.clone(),
            setup.inbox_capacity,
        )
        .await?;
        let env = TurmoilClientEnv { transport, me };
        let rng = component_rng(setup.seed, "client", u64::from(c));
        let span = tracing::info_span!("client", client = %me);
        let fut = run_client::<S, W, _>(env, setup.workload.clone(), setup.client.clone(), rng)
            .instrument(span);
        tasks.push(tokio::task::spawn_local(fut));
    }
    for t in tasks {
        t.await?;
    }
    Ok(())
}
