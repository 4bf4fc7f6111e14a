//! What every simulated backend shares: the software that runs on a node host and on the
//! clients' host, the node and client environments, and the transport that puts every
//! message through the network fault layer. A simulator plugs in with a [`SimRuntime`].

mod client_env;
mod node_env;
mod panic_guard;
mod runtime;
mod transport;

pub use panic_guard::panic_text;
pub use runtime::{SimRuntime, SimSocket};

use super::HostSetup;
use crate::client::ClientLogic;
use crate::client::host::run_client;
use crate::ids::{Addr, ClientId, NodeId};
use crate::node::host::run_node;
use crate::node::service::{NodeInfo, Service};
use crate::world::WorldState;
use client_env::SimClientEnv;
use node_env::SimNodeEnv;
use std::cell::RefCell;
use std::io;
use std::rc::Rc;
use tracing::Instrument;
use transport::Transport;

/// The software of a node host: starts the node's incarnation, binds its socket and runs the
/// service's core until the host is killed.
pub async fn node_software<R, S, C>(
    world: Rc<RefCell<WorldState>>,
    setup: Rc<HostSetup<S, C>>,
    node: NodeId,
) -> io::Result<()>
where
    R: SimRuntime,
    S: Service,
    C: ClientLogic<S>,
{
    let incarnation = world.borrow_mut().node_started(R::now(), node);
    let world_ref = world.clone();
    let socket = R::bind(Addr::Node(node), setup.nodes, setup.clients).await?;
    let transport = Transport::<R>::start(
        world,
        Addr::Node(node),
        Some(incarnation),
        socket,
        setup.inbox_capacity,
    );
    let env = SimNodeEnv {
        transport,
        node,
        fsync: setup.fsync,
    };
    let info = NodeInfo {
        node,
        incarnation,
        cluster: (0..setup.nodes).map(NodeId).collect(),
        bugs: setup.bugs.clone(),
        buggify: setup.buggify,
    };
    let rng = setup.seeds.node(node.0, incarnation.0);
    let span = tracing::info_span!("node", node = %node, inc = incarnation.0);
    let run = run_node::<S, _>(env, setup.service_cfg.clone(), info, rng).instrument(span);
    panic_guard::guarded(world_ref, format!("{node}"), run).await;
    Ok(())
}

/// The software of the clients' host: one task per client, each with its own socket.
pub async fn clients_software<R, S, C>(
    world: Rc<RefCell<WorldState>>,
    setup: Rc<HostSetup<S, C>>,
) -> io::Result<()>
where
    R: SimRuntime,
    S: Service,
    C: ClientLogic<S>,
{
    let mut tasks = Vec::new();
    for c in 0..setup.clients {
        let me = ClientId(c);
        let socket = R::bind(Addr::Client(me), setup.nodes, setup.clients).await?;
        let transport = Transport::<R>::start(
            world.clone(),
            Addr::Client(me),
            None,
            socket,
            setup.inbox_capacity,
        );
        let env = SimClientEnv { transport, me };
        let rng = setup.seeds.client(c);
        let span = tracing::info_span!("client", client = %me);
        let logic = (setup.make_client)(me);
        let fut = run_client::<S, C, _>(env, logic, setup.client.clone(), rng).instrument(span);
        tasks.push(R::spawn(panic_guard::guarded(
            world.clone(),
            format!("client {me}"),
            fut,
        )));
    }
    for t in tasks {
        t.await;
    }
    Ok(())
}
