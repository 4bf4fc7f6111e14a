//! The madsim backend (`--backend madsim`, compiled only under `--cfg madsim`: `cargo simtest`).
//!
//! madsim is an event-driven, single-threaded simulator: time jumps to the next timer, so a
//! run costs what its events cost, however many nodes sit idle. Every node is a madsim node
//! (crash and restart are madsim's `kill` and `restart`, which drop and respawn all of the
//! node's tasks), the clients share one more. Datagrams cross our own wire ([`wire`]) on
//! madsim's timers. Everything else — the fault layer, clocks, disks, pauses — is shared with
//! every simulated backend (`backend::sim`), so scenarios run unchanged.
//!
//! Under `--cfg madsim`, madsim also takes over the process's time, randomness and `HashMap`
//! seeds inside a run (it interposes `clock_gettime`, `getrandom`, ...), so a dependency that
//! reads the real clock or the OS RNG becomes deterministic — and the runner's determinism check
//! (`runner::determinism`) finds what still is not. Each run executes on a fresh OS thread ([`isolate`]): std seeds a
//! thread's `HashMap` keys once, from the first `getrandom` on that thread, so a reused thread
//! would carry one run's state into the next.
//!
//! This module never grows service- or fault-specific code: it moves bytes, keeps time and
//! starts and stops software.

mod run_ctx;
mod runtime;
mod wire;

pub use runtime::MadsimRuntime;

use super::sim::{clients_software, node_software};
use super::{Backend, DriverError, HostSetup, SimDriver, SimOptions};
use crate::client::ClientLogic;
use crate::ids::NodeId;
use crate::node::service::Service;
use crate::rng::component_rng;
use crate::time::SimTime;
use crate::world::WorldState;
use madsim::runtime::Runtime;
use madsim::time::TimeHandle;
use run_ctx::{Installed, RunCtx, Software};
use std::cell::RefCell;
use std::rc::Rc;
use wire::Wire;

/// The madsim backend.
pub struct MadsimBackend;

impl Backend for MadsimBackend {
    type Driver = MadsimDriver;

    fn build<S, C>(
        setup: Rc<HostSetup<S, C>>,
        world: Rc<RefCell<WorldState>>,
        opts: &SimOptions,
    ) -> Result<MadsimDriver, DriverError>
    where
        S: Service,
        C: ClientLogic<S>,
    {
        let sim_seed = setup.seeds.simulator();
        // madsim's own draws (which ready task runs next, the few ns each poll takes) and our
        // wire's latencies come from the simulator's seed, in two streams.
        let rt = Runtime::with_seed_and_config(sim_seed, madsim::Config::default());
        let wire = Wire::new(
            setup.nodes,
            setup.clients,
            (opts.latency_min, opts.latency_max),
            component_rng(sim_seed, "madsim-wire", 0),
        );
        let ctx = Rc::new(RunCtx::new(wire));
        let installed = run_ctx::install(ctx.clone())?;
        let mut nodes = Vec::new();
        for n in 0..setup.nodes {
            let (world, setup) = (world.clone(), setup.clone());
            let index = ctx.add_launcher(Box::new(move || -> Software {
                let (world, setup) = (world.clone(), setup.clone());
                Box::pin(async move {
                    let ran = node_software::<MadsimRuntime, S, C>(world, setup, NodeId(n)).await;
                    if let Err(e) = ran {
                        run_ctx::with(|ctx| ctx.report(format!("node n{n}: {e}")));
                    }
                })
            }));
            let node = rt
                .create_node()
                .name(format!("n{n}"))
                .init(move || run_ctx::launch(index))
                .build();
            nodes.push(node.id());
        }
        let index = ctx.add_launcher(Box::new(move || -> Software {
            let (world, setup) = (world.clone(), setup.clone());
            Box::pin(async move {
                if let Err(e) = clients_software::<MadsimRuntime, S, C>(world, setup).await {
                    run_ctx::with(|ctx| ctx.report(format!("clients: {e}")));
                }
            })
        }));
        let clients = rt
            .create_node()
            .name("clients")
            .init(move || run_ctx::launch(index))
            .build()
            .id();
        Ok(MadsimDriver {
            rt,
            nodes,
            clients,
            now: SimTime::ZERO,
            ctx,
            _installed: installed,
        })
    }
}

/// A running madsim simulation, driven from outside: each [`SimDriver::run_until`] is one
/// `block_on` that lets madsim jump from event to event until the target time.
pub struct MadsimDriver {
    rt: Runtime,
    /// madsim's id of each of our nodes.
    nodes: Vec<madsim::task::NodeId>,
    clients: madsim::task::NodeId,
    /// True time when control last returned here (nothing runs in between).
    now: SimTime,
    ctx: Rc<RunCtx>,
    // Declared last: uninstalled after the runtime and the context are gone.
    _installed: Installed,
}

impl MadsimDriver {
    fn madsim_id(&self, node: NodeId) -> madsim::task::NodeId {
        self.nodes[node.0 as usize]
    }

    fn read_clock(&self) -> SimTime {
        // Outside `block_on` madsim's clock is not reachable (its context is not entered);
        // an empty future reads it, and runs nothing else: the ready queue is empty here.
        let elapsed = self.rt.block_on(async { TimeHandle::current().elapsed() });
        SimTime::from_duration(elapsed)
    }
}

impl SimDriver for MadsimDriver {
    fn now(&self) -> SimTime {
        self.now
    }

    fn run_until(&mut self, until: SimTime) -> Result<(), DriverError> {
        if until > self.now {
            let wait = until.saturating_since(self.now);
            self.rt.block_on(async move {
                TimeHandle::current().sleep(wait).await;
            });
            self.now = self.read_clock();
        }
        self.ctx.first_error(self.now)
    }

    fn kill(&mut self, node: NodeId) {
        self.rt.handle().kill(self.madsim_id(node));
    }

    fn start(&mut self, node: NodeId) {
        // A fresh process: madsim drops what is left of the old one and runs `init` again.
        self.rt.handle().restart(self.madsim_id(node));
    }
}

impl Drop for MadsimDriver {
    fn drop(&mut self) {
        // Tasks hold the world; madsim drops a killed node's tasks the next time it runs its
        // ready queue, so kill everything and let it run once. Without this the tasks (and the
        // world) would outlive the run, kept alive by the timers that would wake them.
        let handle = self.rt.handle().clone();
        for &id in self.nodes.iter().chain([&self.clients]) {
            handle.kill(id);
        }
        self.rt.block_on(async {});
    }
}

/// Runs `f` on a fresh OS thread and returns what it returns (a panic propagates). One run per
/// thread: std seeds a thread's `HashMap` keys once, and madsim seeds them only when that
/// happens inside its runtime, so a reused thread would leak one run's state into the next.
pub fn isolate<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        // Simulated hosts are deep futures; give them a main thread's stack.
        let spawned = std::thread::Builder::new()
            .name("madsim-run".into())
            .stack_size(8 << 20)
            .spawn_scoped(s, f);
        match spawned {
            Ok(handle) => match handle.join() {
                Ok(v) => v,
                Err(panic) => std::panic::resume_unwind(panic),
            },
            // The harness cannot keep its isolation promise: say so rather than run anyway.
            Err(e) => panic!("cannot start a thread for a madsim run: {e}"),
        }
    })
}
