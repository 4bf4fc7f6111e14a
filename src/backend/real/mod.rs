//! The real backend: services on real UDP sockets, real clocks and a real disk, one process per
//! node — the same service cores and host loop as under simulation. `faultlab serve` runs a
//! node, `faultlab load` runs clients against a cluster and checks what they saw.
//!
//! This is the one module allowed to read the machine's clocks.

pub mod auth;
mod disk;
mod service;
mod transport;

pub use auth::ClusterKey;
pub use disk::{DirLock, DirStorage};
pub use service::{load_service, serve_service};
pub use transport::{Drops, Security};

use crate::bugs::BugSet;
use crate::client::host::run_client;
use crate::client::{ClientConfig, ClientEnv, ClientLogic};
use crate::disk::{Storage, StorageError};
use crate::event::Event;
use crate::history::{History, HistoryEvent, OpRecord, Process};
use crate::ids::{Addr, ClientId, Incarnation, NodeId};
use crate::node::env::{Inbound, NodeEnv};
use crate::node::host::run_node;
use crate::node::service::{NodeInfo, Service};
use crate::rng::RunSeeds;
use crate::time::{LocalInstant, LocalNow, SimTime, WallTime, duration_ns};
use serde_json::value::RawValue;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Duration;
use tokio::net::UdpSocket;
use transport::RealTransport;

const INCARNATION_FILE: &str = "faultlab.incarnation";

/// The machine's monotonic clock, as nanoseconds since this process started.
#[derive(Clone, Copy)]
struct RealClock {
    #[allow(clippy::disallowed_types)]
    start: std::time::Instant,
}

impl RealClock {
    #[allow(clippy::disallowed_methods)] // real time is the truth on a real machine
    fn new() -> Self {
        RealClock {
            start: std::time::Instant::now(),
        }
    }

    fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    #[allow(clippy::disallowed_methods)]
    fn now(&self) -> LocalNow {
        let wall = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
        LocalNow {
            mono: LocalInstant {
                ns: duration_ns(self.elapsed()),
            },
            wall: WallTime { ns: wall },
        }
    }
}

/// How to run one real node.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// This node.
    pub node: NodeId,
    /// Every node's address, in node order (this node's own included).
    pub cluster: Vec<SocketAddr>,
    /// Directory for the node's durable state.
    pub data_dir: PathBuf,
    /// Planted bugs switched on.
    pub bugs: BugSet,
    /// Seed of the RNGs.
    pub seed: u64,
    /// The cluster's shared key: every datagram authenticated (`None`: only source addresses
    /// are checked, which is enough on loopback and nowhere else).
    pub cluster_key: Option<ClusterKey>,
}

struct RealNodeEnv {
    node: NodeId,
    incarnation: Incarnation,
    transport: RealTransport,
    storage: DirStorage,
    clock: RealClock,
}

impl NodeEnv for RealNodeEnv {
    fn me(&self) -> Addr {
        Addr::Node(self.node)
    }

    fn now(&self) -> LocalNow {
        self.clock.now()
    }

    fn sleep_until(&self, deadline: LocalInstant) -> impl Future<Output = ()> + 'static {
        let now = self.clock.now().mono;
        tokio::time::sleep(deadline.saturating_since(now))
    }

    async fn recv(&mut self) -> Inbound {
        self.transport.recv().await
    }

    fn send(&mut self, to: Addr, _label: &'static str, body: &RawValue) {
        self.transport.send(to, body);
    }

    fn with_storage<R>(&mut self, f: impl FnOnce(&mut dyn Storage) -> R) -> R {
        f(&mut self.storage)
    }

    async fn sync(&mut self) -> Result<(), StorageError> {
        // fsync blocks the node, as it would a single-threaded server.
        self.storage.sync()
    }

    async fn wait_while_paused(&mut self) {
        // A real process is paused by the OS (SIGSTOP), not by itself.
    }

    fn record(&mut self, event: Event) {
        match &event {
            Event::Halt { .. } => tracing::warn!(node = %self.node, ?event, "the node stops"),
            _ => tracing::debug!(?event, "node event"),
        }
    }

    fn alert(&mut self, label: &'static str, value: &serde_json::Value) {
        tracing::warn!(node = %self.node, label, %value, "the node cannot serve");
    }

    fn restarted(&mut self) -> Incarnation {
        // A real fsync failure: the software starts again in this process, from the disk.
        self.incarnation = Incarnation(self.incarnation.0.saturating_add(1));
        tracing::warn!(node = %self.node, incarnation = self.incarnation.0, "restarting after a failed sync");
        self.incarnation
    }
}

fn node_book(cluster: &[SocketAddr]) -> BTreeMap<Addr, SocketAddr> {
    cluster
        .iter()
        .enumerate()
        .map(|(i, a)| (Addr::Node(NodeId(i as u32)), *a))
        .collect()
}

/// Runs a node until the process is killed. Must run inside a `LocalSet`.
pub async fn serve<S: Service>(cfg: ServeConfig, service_cfg: S::Config) -> io::Result<()> {
    let listen = *cfg.cluster.get(cfg.node.0 as usize).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is not in the cluster list", cfg.node),
        )
    })?;
    check_exposure(listen, cfg.cluster_key.is_some())?;
    // One process per data directory: two would interleave their writes to one log.
    let _lock = DirLock::acquire(&cfg.data_dir)?;
    let mut storage = DirStorage::open(&cfg.data_dir).map_err(io::Error::other)?;
    let incarnation = next_incarnation(&mut storage).map_err(io::Error::other)?;
    let sock = UdpSocket::bind(listen)
        .await
        .map_err(|e| io::Error::new(e.kind(), format!("cannot bind {listen}: {e}")))?;
    tracing::info!(node = %cfg.node, %listen, incarnation = incarnation.0, "serving");
    let security = Security {
        key: cfg.cluster_key.clone(),
        // A restarted node's datagrams must outrank its previous life's (replay windows).
        epoch: u64::from(incarnation.0),
    };
    let transport = RealTransport::start(
        Addr::Node(cfg.node),
        sock,
        node_book(&cfg.cluster),
        security,
    );
    let env = RealNodeEnv {
        node: cfg.node,
        incarnation,
        transport,
        storage,
        clock: RealClock::new(),
    };
    let info = NodeInfo {
        node: cfg.node,
        incarnation,
        cluster: (0..cfg.cluster.len() as u32).map(NodeId).collect(),
        bugs: cfg.bugs,
        // BUGGIFY is for simulation only.
        buggify: None,
    };
    let rng = RunSeeds::new(cfg.seed).node(cfg.node.0, incarnation.0);
    run_node::<S, _>(env, service_cfg, info, rng).await;
    Ok(())
}

/// Refuses to listen on every interface without a key (anyone on the network could speak for
/// a node); warns when listening beyond loopback without one.
fn check_exposure(listen: SocketAddr, keyed: bool) -> io::Result<()> {
    if keyed {
        return Ok(());
    }
    if listen.ip().is_unspecified() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{listen} listens on every interface without --cluster-key: anyone who can reach \
                 it could speak for a node; give --cluster-key FILE, or a specific address"
            ),
        ));
    }
    if !listen.ip().is_loopback() {
        tracing::warn!(
            %listen,
            "no --cluster-key: datagrams are checked only by source address, which a host on \
             the path can forge; use a cluster key beyond loopback"
        );
    }
    Ok(())
}

/// Counts process starts in the data directory, so restarts are distinguishable.
fn next_incarnation(storage: &mut DirStorage) -> Result<Incarnation, StorageError> {
    let last = storage
        .read(INCARNATION_FILE)?
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.trim().parse::<u32>().ok())
        .unwrap_or(0);
    let next = Incarnation(last + 1);
    storage.write(INCARNATION_FILE, next.0.to_string().as_bytes())?;
    storage.sync()?;
    Ok(next)
}

/// How to drive a real cluster.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// Every node's address, in node order.
    pub cluster: Vec<SocketAddr>,
    /// Concurrent clients.
    pub clients: u32,
    /// How long clients start new operations.
    pub duration: Duration,
    /// Pause between a client's operations, lower bound.
    pub think_ms_min: u64,
    /// Pause between a client's operations, upper bound.
    pub think_ms_max: u64,
    /// A client gives up on an operation after this long.
    pub timeout_ms: u64,
    /// Seed of the RNGs.
    pub seed: u64,
    /// The cluster's shared key (see [`ServeConfig::cluster_key`]).
    pub cluster_key: Option<ClusterKey>,
}

/// Nanoseconds of the machine's wall clock: a load run's epoch and the source of its client
/// ids, so that runs neither collide with each other nor replay each other's datagrams.
#[allow(clippy::disallowed_methods)] // real mode: the machine's clock is the point
fn wall_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// The first client id of a load run of `clients` clients: drawn per run (session ids derive
/// from client ids, and a guessable or repeated one lets a session be mistaken for another).
fn client_id_base(clients: u32, run_ns: u64) -> u32 {
    let mut h = crate::rng::Fnv64::new();
    h.write(&run_ns.to_le_bytes());
    h.write(&std::process::id().to_le_bytes());
    let span = u64::from(u32::MAX - clients.min(u32::MAX - 1));
    u32::try_from(h.finish() % span).unwrap_or(0)
}

struct RealClientEnv {
    me: ClientId,
    transport: RealTransport,
    clock: RealClock,
    history: Rc<RefCell<History>>,
    stop_after: Duration,
}

impl ClientEnv for RealClientEnv {
    fn me(&self) -> ClientId {
        self.me
    }

    fn now(&self) -> SimTime {
        SimTime::from_duration(self.clock.elapsed())
    }

    fn sleep(&self, d: Duration) -> impl Future<Output = ()> + 'static {
        tokio::time::sleep(d)
    }

    fn local_now(&self) -> LocalNow {
        self.clock.now()
    }

    fn local_sleep_until(&self, deadline: LocalInstant) -> impl Future<Output = ()> + 'static {
        tokio::time::sleep(deadline.saturating_since(self.clock.now().mono))
    }

    async fn recv(&mut self) -> Inbound {
        self.transport.recv().await
    }

    fn send(&mut self, to: Addr, _label: &'static str, body: &RawValue) {
        self.transport.send(to, body);
    }

    fn record(&mut self, op: OpRecord) {
        let time = Some(self.now().ns);
        self.history.borrow_mut().push(HistoryEvent {
            process: Process::Int(op.process),
            kind: op.op_type,
            f: op.f.to_string(),
            key: op.key,
            value: op.value,
            time,
        });
    }

    fn should_stop(&self) -> bool {
        self.clock.elapsed() >= self.stop_after
    }
}

/// Runs clients against a real cluster for `duration` (plus the last operations' timeouts) and
/// returns what they saw. Must run inside a `LocalSet`.
pub async fn load<S, C>(cfg: LoadConfig, make_client: impl Fn(ClientId) -> C) -> io::Result<History>
where
    S: Service,
    C: ClientLogic<S>,
{
    let history = Rc::new(RefCell::new(History::default()));
    let clock = RealClock::new();
    let client_cfg = ClientConfig {
        nodes: (0..cfg.cluster.len() as u32).map(NodeId).collect(),
        process_stride: u64::from(cfg.clients),
        think_ms_min: cfg.think_ms_min,
        think_ms_max: cfg.think_ms_max,
        timeout_ms: cfg.timeout_ms,
    };
    let run_ns = wall_ns();
    let base = client_id_base(cfg.clients, run_ns);
    let security = Security {
        key: cfg.cluster_key.clone(),
        epoch: run_ns,
    };
    // Clients send from the family and scope of the cluster's addresses.
    let local: SocketAddr = match cfg.cluster.first() {
        Some(a) if a.ip().is_loopback() => (a.ip(), 0).into(),
        Some(a) if a.is_ipv6() => (std::net::Ipv6Addr::UNSPECIFIED, 0).into(),
        _ => (std::net::Ipv4Addr::UNSPECIFIED, 0).into(),
    };
    let mut tasks = Vec::new();
    for c in 0..cfg.clients {
        let me = ClientId(base + c);
        let sock = UdpSocket::bind(local)
            .await
            .map_err(|e| io::Error::new(e.kind(), format!("cannot bind {local}: {e}")))?;
        let transport = RealTransport::start(
            Addr::Client(me),
            sock,
            node_book(&cfg.cluster),
            security.clone(),
        );
        let env = RealClientEnv {
            me,
            transport,
            clock,
            history: history.clone(),
            stop_after: cfg.duration,
        };
        let rng = RunSeeds::new(cfg.seed).client(c);
        tasks.push(tokio::task::spawn_local(run_client::<S, C, _>(
            env,
            make_client(me),
            client_cfg.clone(),
            rng,
        )));
    }
    for t in tasks {
        t.await.map_err(io::Error::other)?;
    }
    let out = history.borrow().clone();
    Ok(out)
}
