//! Options of the web crawler (`[crawler]` in a scenario file); every default is stated here.
//!
//! Node layout: nodes `n0 .. n(replicas-1)` are the crawl state's Raft replicas, the next
//! `crawlers` nodes are crawlers, and the last `hosts` nodes are the simulated web's hosts
//! (`h0.example` is the first of them).

use super::machine::DutyConfig;
use crate::ids::NodeId;
use crate::plugin::{OptionError, Shape};
use crate::services::raft::RaftConfig;
use crate::services::replicated::{self, ClientOptions, Routing, SessionOptions};
use serde::Deserialize;

/// Crawler sessions start here; clients' are their client number + 1, below 2^32.
pub const CRAWLER_SESSION_BASE: u64 = 1 << 48;
/// A crawler's session is `CRAWLER_SESSION_BASE + node × this + incarnation`.
pub const CRAWLER_SESSION_STRIDE: u64 = 100_000;

/// The `[crawler]` table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CrawlerOptions {
    /// Raft replicas of the crawl state (the first nodes). Default 3.
    pub replicas: u32,
    /// Crawler nodes (after the replicas). Default 3.
    pub crawlers: u32,
    /// Web hosts (the last nodes). Default 3.
    pub hosts: u32,
    /// Pages per host (`/p0 ..`), besides its redirects, its private pages and robots.txt.
    /// Default 6.
    pub pages_per_host: u32,
    /// Picks the link graph (its links, their spellings, which pages redirect). Default 1.
    pub graph_seed: u64,
    /// The longest crawl delay a host asks for in its robots.txt; host `hK` asks for this
    /// minus `20 × (K mod 3)` ms. Default 150.
    pub crawl_delay_ms: u64,
    /// A host owner's lease, judged by the leader's monotonic clock. Default 400.
    pub lease_ms: u64,
    /// The clock drift tolerated (ppm): the leader expires a lease after
    /// `lease_ms × (1 + bound)`; an owner stops after `lease_ms × (1 − bound) − guard_ms` on
    /// its own clock, and stretches every wait by `1 + bound`. Default 100000 (10 %).
    pub drift_bound_ppm: u32,
    /// An owner also stops this long before its lease runs out by its clock. Default 20.
    pub guard_ms: u64,
    /// An idle owner renews its lease this often. Default 100.
    pub renew_ms: u64,
    /// A crawler tries to claim the hosts the ring gives it (and, after `lease_ms`, any
    /// other) this often. Default 60.
    pub claim_ms: u64,
    /// A fetch not answered by then is over (the next request to the host waits for it too):
    /// keep it above the network's worst one-way latency. Default 120.
    pub fetch_timeout_ms: u64,
    /// A web host answers within `0..=serve_ms_max` ms (drawn per request). Default 5.
    pub serve_ms_max: u64,
    /// A web host answers 503 to this many requests in a million. Default 0.
    pub host_fail_ppm: u32,
    /// Longest URL a node takes, in bytes. Default 128.
    pub url_bytes_max: usize,
    /// Most links one page may report. Default 16.
    pub links_max: usize,
    /// Raft election timeout bounds (local monotonic ms). Defaults 150 and 300.
    pub election_timeout_ms_min: u64,
    /// See `election_timeout_ms_min`.
    pub election_timeout_ms_max: u64,
    /// Leader heartbeat interval. Default 50.
    pub heartbeat_ms: u64,
    /// Applied log entries that trigger a snapshot and log compaction. Default 500.
    pub compact_after_entries: u64,
    /// A client or crawler tries another replica after this long without a reply.
    /// Default 100.
    pub attempt_timeout_ms: u64,
    /// Wait this long before retrying when no leader is known. Default 20.
    pub backoff_ms: u64,
    /// Bound on the client session table. Default 4096.
    pub sessions_max: usize,
}

impl Default for CrawlerOptions {
    fn default() -> Self {
        CrawlerOptions {
            replicas: 3,
            crawlers: 3,
            hosts: 3,
            pages_per_host: 6,
            graph_seed: 1,
            crawl_delay_ms: 150,
            lease_ms: 400,
            drift_bound_ppm: 100_000,
            guard_ms: 20,
            renew_ms: 100,
            claim_ms: 60,
            fetch_timeout_ms: 120,
            serve_ms_max: 5,
            host_fail_ppm: 0,
            url_bytes_max: 128,
            links_max: 16,
            election_timeout_ms_min: 150,
            election_timeout_ms_max: 300,
            heartbeat_ms: 50,
            compact_after_entries: 500,
            attempt_timeout_ms: 100,
            backoff_ms: 20,
            sessions_max: 4096,
        }
    }
}

/// What a node of a crawl cluster is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A Raft replica of the crawl state.
    Replica,
    /// A crawler.
    Crawler,
    /// Web host number `.0`.
    Host(u32),
}

impl CrawlerOptions {
    /// What node `n` is.
    pub fn role(&self, n: NodeId) -> Role {
        if n.0 < self.replicas {
            Role::Replica
        } else if n.0 < self.replicas + self.crawlers {
            Role::Crawler
        } else {
            Role::Host(n.0 - self.replicas - self.crawlers)
        }
    }

    /// The replicas.
    pub fn replica_ids(&self) -> Vec<NodeId> {
        (0..self.replicas).map(NodeId).collect()
    }

    /// The crawlers.
    pub fn crawler_ids(&self) -> Vec<NodeId> {
        (self.replicas..self.replicas + self.crawlers)
            .map(NodeId)
            .collect()
    }

    /// The node serving web host `host`.
    pub fn host_node(&self, host: u32) -> NodeId {
        NodeId(self.replicas + self.crawlers + host)
    }

    /// The crawl delay host `host` asks for.
    pub fn delay_ms(&self, host: u32) -> u64 {
        self.crawl_delay_ms
            .saturating_sub(20 * u64::from(host % 3))
            .max(1)
    }

    /// `ms` stretched by the drift bound: a wait this long on a clock running up to the bound
    /// fast still lasts `ms` of true time.
    pub fn stretched_ms(&self, ms: u64) -> u64 {
        ms + (ms * u64::from(self.drift_bound_ppm)).div_ceil(1_000_000)
    }

    /// How long an owner may act on its lease by its own clock, counted from when it asked.
    pub fn usable_ms(&self) -> u64 {
        let drift = (self.lease_ms * u64::from(self.drift_bound_ppm)).div_ceil(1_000_000);
        self.lease_ms
            .saturating_sub(drift)
            .saturating_sub(self.guard_ms)
    }

    /// How long a new owner waits on its own clock before its first request to a host: the
    /// longest crawl delay after the old owner's last request could still be on its way (a
    /// fetch timeout), stretched by the drift bound.
    pub fn handover_wait_ms(&self) -> u64 {
        self.stretched_ms(self.crawl_delay_ms + self.fetch_timeout_ms)
    }

    /// The session of crawler `node` in its incarnation `incarnation`.
    pub fn crawler_session(node: NodeId, incarnation: u32) -> u64 {
        CRAWLER_SESSION_BASE
            + u64::from(node.0) * CRAWLER_SESSION_STRIDE
            + u64::from(incarnation) % CRAWLER_SESSION_STRIDE
    }

    /// True when `session` may be crawler `node`'s.
    pub fn is_crawler_session(node: NodeId, session: u64) -> bool {
        session >= CRAWLER_SESSION_BASE
            && (session - CRAWLER_SESSION_BASE) / CRAWLER_SESSION_STRIDE == u64::from(node.0)
    }

    /// The Raft core's options.
    pub fn raft(&self) -> RaftConfig {
        RaftConfig {
            election_timeout_ms_min: self.election_timeout_ms_min,
            election_timeout_ms_max: self.election_timeout_ms_max,
            heartbeat_ms: self.heartbeat_ms,
            pre_vote: true,
            check_quorum: true,
            compact_after_entries: self.compact_after_entries,
            ..RaftConfig::default()
        }
    }

    /// One group of every replica.
    pub fn routing(&self) -> Routing {
        Routing {
            groups: 1,
            vnodes_per_group: 1,
        }
    }

    /// Client sessions.
    pub fn sessions(&self) -> SessionOptions {
        SessionOptions {
            sessions_max: self.sessions_max,
            no_dedup: false,
        }
    }

    /// How clients find the leader.
    pub fn client(&self) -> ClientOptions {
        ClientOptions {
            attempt_timeout_ms: self.attempt_timeout_ms,
            backoff_ms: self.backoff_ms,
            routing: self.routing(),
        }
    }

    /// How the leader times host leases.
    pub fn duties(&self) -> DutyConfig {
        DutyConfig {
            expiry_ms: self.stretched_ms(self.lease_ms),
        }
    }

    /// Checks the options for a cluster of this shape.
    pub fn validate(&self, shape: &Shape) -> Result<(), OptionError> {
        let at_least_1 = [
            ("replicas", u64::from(self.replicas)),
            ("crawlers", u64::from(self.crawlers)),
            ("hosts", u64::from(self.hosts)),
            ("pages_per_host", u64::from(self.pages_per_host)),
            ("crawl_delay_ms", self.crawl_delay_ms),
            ("renew_ms", self.renew_ms),
            ("claim_ms", self.claim_ms),
            ("fetch_timeout_ms", self.fetch_timeout_ms),
        ];
        if let Some((field, _)) = at_least_1.iter().find(|(_, v)| *v == 0) {
            return Err(OptionError::new(field, "must be at least 1"));
        }
        let total = self.replicas + self.crawlers + self.hosts;
        if shape.nodes != total {
            return Err(OptionError::new(
                "hosts",
                format!(
                    "{} replicas + {} crawlers + {} hosts make {total} nodes, the scenario has {}",
                    self.replicas, self.crawlers, self.hosts, shape.nodes
                ),
            ));
        }
        if self.hosts > 64 || self.pages_per_host > 64 {
            return Err(OptionError::new(
                "hosts",
                "hosts and pages_per_host: at most 64",
            ));
        }
        if self.drift_bound_ppm >= 500_000 {
            return Err(OptionError::new("drift_bound_ppm", "must be below 500000"));
        }
        if self.renew_ms * 2 >= self.usable_ms() {
            return Err(OptionError::new(
                "renew_ms",
                format!(
                    "{} ms: an owner must renew at least twice within its usable lease ({} ms)",
                    self.renew_ms,
                    self.usable_ms()
                ),
            ));
        }
        if self.host_fail_ppm >= 1_000_000 {
            return Err(OptionError::new("host_fail_ppm", "must be below 1000000"));
        }
        if self.url_bytes_max < 48 {
            return Err(OptionError::new("url_bytes_max", "must be at least 48"));
        }
        if self.links_max < 4 {
            return Err(OptionError::new("links_max", "must be at least 4"));
        }
        replicated::validate_common(&self.client(), &self.sessions(), shape)?;
        self.raft()
            .validate()
            .map_err(|(field, message)| OptionError::new(field, message))
    }
}
