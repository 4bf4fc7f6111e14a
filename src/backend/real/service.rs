//! A registered service on real sockets: the typed bodies of `serve` and `load` that
//! [`crate::plugin::DynService`] calls, each on its own single-threaded tokio runtime.

use super::{LoadConfig, ServeConfig, load, serve};
use crate::bugs::BugSet;
use crate::history::History;
use crate::invariants::Verdict;
use crate::plugin::{ServiceSpec, Shape};
use std::io;

fn runtime() -> io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

fn cluster_size(cluster: &[std::net::SocketAddr]) -> u32 {
    u32::try_from(cluster.len()).unwrap_or(u32::MAX)
}

/// Runs one node of `S` with `opts` until the process is killed.
pub fn serve_service<S: ServiceSpec>(opts: &S::Options, cfg: ServeConfig) -> io::Result<()> {
    let shape = Shape {
        nodes: cluster_size(&cfg.cluster),
        clients: 0,
    };
    S::validate(opts, &shape).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("[{}] {}: {}", S::NAME, e.field, e.message),
        )
    })?;
    let service_cfg = S::server_config(opts, &shape);
    let local = tokio::task::LocalSet::new();
    runtime()?.block_on(local.run_until(serve::<S::Server>(cfg, service_cfg)))
}

/// Drives a real cluster of `S` with `cfg.clients` clients; returns the history and what the
/// service's history checks say of it.
pub fn load_service<S: ServiceSpec>(
    opts: &S::Options,
    cfg: LoadConfig,
    bugs: &BugSet,
) -> io::Result<(History, Vec<Verdict>)> {
    let shape = Shape {
        nodes: cluster_size(&cfg.cluster),
        clients: cfg.clients,
    };
    let local = tokio::task::LocalSet::new();
    let make = |c| S::client(opts, &shape, c, bugs);
    let history = runtime()?.block_on(local.run_until(load::<S::Server, S::Client>(cfg, make)))?;
    let verdicts = S::history_checks(opts, &history);
    Ok((history, verdicts))
}
