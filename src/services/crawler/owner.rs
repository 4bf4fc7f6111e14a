//! A crawler node: it claims the hosts the consistent-hash ring gives it (and, once it has
//! been up a lease's length, any host nobody holds), and for each host it owns fetches the
//! host's frontier one URL at a time, politely, reporting each page's links to the crawl state
//! before it fetches the next.
//!
//! Ownership is a lease with a fencing token from the crawl state. The owner acts on it only
//! while its own monotonic clock says it is good — `lease_ms × (1 − drift bound) − guard_ms`
//! from when it sent the last accepted operation — which ends before the leader can expire it.
//! A new owner waits `(crawl delay + fetch timeout) × (1 + bound)` before its first request: the
//! old owner's last request was sent before its lease ended and arrives within a fetch timeout.
//! Between its own requests an owner waits the host's crawl delay (robots.txt), stretched by
//! the drift bound, from the response (or the fetch timeout): a late request never lands
//! closer than the delay to the next.

use super::bugs;
use super::calls::{Answered, Calls};
use super::machine::{CrawlOp, CrawlResult, Pending};
use super::msg::CrawlMsg;
use super::options::CrawlerOptions;
use super::web::{self, Robots, Served};
use crate::ids::NodeId;
use crate::node::service::{Ctx, Service, TimerId};
use crate::services::ring::Ring;
use crate::time::LocalInstant;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

/// Try to claim hosts.
pub const CLAIM_TIMER: TimerId = TimerId(12);
/// The planted bug's liveness pings.
pub const PING_TIMER: TimerId = TimerId(13);
/// Host `h`'s step: `TimerId(HOST_TIMER_BASE + h)`.
pub const HOST_TIMER_BASE: u64 = 100;

const PING_MS: u64 = 40;
const LIVE_MS: u64 = 150;

/// Where an owner is with its host.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    /// Free to fetch (or renew) once the wait is over.
    Ready,
    /// A request is out.
    Fetching {
        fetch: u64,
        id: u64,
        url: String,
        sent: LocalInstant,
    },
    /// An operation on the crawl state is queued or in flight.
    Reporting,
}

/// A host this crawler owns.
#[derive(Debug, Clone)]
struct Own {
    token: u64,
    /// When to stop acting on the lease, by the monotonic clock.
    valid_until: LocalInstant,
    /// No request before this (monotonic clock).
    ready_at: LocalInstant,
    /// The same on the wall clock, unstretched (the planted bug's judgement).
    ready_wall_ms: i64,
    /// When an operation under the lease was last sent (renew after `renew_ms`).
    last_asked: LocalInstant,
    robots: Option<Robots>,
    next: VecDeque<Pending>,
    phase: Phase,
}

/// Which planted bugs this crawler carries.
#[derive(Debug, Clone, Copy, Default)]
struct Flaws {
    per_node: bool,
    memory_seen: bool,
    raw_urls: bool,
    batch: bool,
    wall: bool,
    retry_at_once: bool,
}

/// A crawler.
#[derive(Debug)]
pub struct Crawler {
    opts: CrawlerOptions,
    calls: Calls,
    ring: Option<Ring>,
    started: LocalInstant,
    owned: BTreeMap<u32, Own>,
    fetches: u64,
    flaws: Flaws,
    seen_mem: BTreeSet<String>,
    heard: BTreeMap<NodeId, LocalInstant>,
    last_request: BTreeMap<u32, LocalInstant>,
}

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

impl Crawler {
    /// A crawler (re)starting: a fresh session, no host.
    pub fn start<S: Service<Msg = CrawlMsg>>(
        opts: &CrawlerOptions,
        ctx: &mut Ctx<'_, S>,
    ) -> Crawler {
        let info = ctx.info();
        let session = CrawlerOptions::crawler_session(info.node, info.incarnation.0);
        let groups: Vec<u32> = opts.crawler_ids().iter().map(|n| n.0).collect();
        let flaws = Flaws {
            per_node: ctx.bug(bugs::POLITENESS_PER_NODE),
            memory_seen: ctx.bug(bugs::SEEN_SET_IN_MEMORY),
            raw_urls: ctx.bug(bugs::NO_NORMALISATION),
            batch: ctx.bug(bugs::FRONTIER_LOST_ON_CRASH),
            wall: ctx.bug(bugs::DELAY_WALL_CLOCK),
            retry_at_once: ctx.bug(bugs::RETRY_AT_ONCE),
        };
        let now = ctx.now().mono;
        let me = info.node;
        // The planted bug's view starts with every crawler alive (as a node that just joined a
        // healthy cluster would): only silence makes it take over another's hosts.
        let heard = opts
            .crawler_ids()
            .into_iter()
            .filter(|c| *c != me)
            .map(|c| (c, now))
            .collect();
        let c = Crawler {
            opts: opts.clone(),
            calls: Calls::new(
                session,
                opts.replicas,
                opts.attempt_timeout_ms,
                opts.backoff_ms,
            ),
            ring: Ring::new(&groups, 16).ok(),
            started: ctx.now().mono,
            owned: BTreeMap::new(),
            fetches: u64::from(info.incarnation.0) << 32,
            flaws,
            seen_mem: BTreeSet::new(),
            heard,
            last_request: BTreeMap::new(),
        };
        ctx.set_timer(CLAIM_TIMER, ms(1));
        if flaws.per_node {
            ctx.set_timer(PING_TIMER, ms(1));
        }
        c
    }

    /// The crawler the ring gives `host` to, among `live` crawlers.
    fn ring_owner(&self, host: u32, live: &[u32]) -> Option<u32> {
        let mut ring = self.ring.clone()?;
        for c in self.opts.crawler_ids() {
            if !live.contains(&c.0) {
                let _ = ring.remove_group(c.0);
            }
        }
        ring.group_of(&format!("h{host}.example"))
    }

    /// The planted bug's view of who is alive: itself and whoever pinged lately.
    fn live(&self, me: NodeId, now: LocalInstant) -> Vec<u32> {
        let mut live: Vec<u32> = self
            .heard
            .iter()
            .filter(|(_, t)| now.saturating_since(**t) < ms(LIVE_MS))
            .map(|(n, _)| n.0)
            .collect();
        live.push(me.0);
        live
    }

    /// Claims what it should own and does not.
    pub fn on_claim_timer<S: Service<Msg = CrawlMsg>>(&mut self, ctx: &mut Ctx<'_, S>) {
        ctx.set_timer(CLAIM_TIMER, ms(self.opts.claim_ms));
        let me = ctx.node();
        let now = ctx.now().mono;
        let all: Vec<u32> = self.opts.crawler_ids().iter().map(|n| n.0).collect();
        let live = if self.flaws.per_node {
            self.live(me, now)
        } else {
            all.clone()
        };
        let settled = now.saturating_since(self.started) >= ms(self.opts.lease_ms);
        for host in 0..self.opts.hosts {
            let mine = self.ring_owner(host, &live) == Some(me.0);
            if self.flaws.per_node && !mine && self.owned.remove(&host).is_some() {
                ctx.note("crawler/ring-moved", json!({"host": host}));
            }
            let wanted = mine || (settled && !self.flaws.per_node);
            let claiming = self
                .calls
                .has(|op| matches!(op, CrawlOp::Claim { host: h, .. } if *h == host));
            if wanted && !claiming && !self.owned.contains_key(&host) {
                let op = CrawlOp::Claim {
                    host,
                    force: self.flaws.per_node,
                    batch: self.flaws.batch,
                };
                self.calls.push(ctx, op);
            }
        }
    }

    /// The planted bug's pings.
    pub fn on_ping_timer<S: Service<Msg = CrawlMsg>>(&mut self, ctx: &mut Ctx<'_, S>) {
        ctx.set_timer(PING_TIMER, ms(PING_MS));
        let me = ctx.node();
        for c in self.opts.crawler_ids() {
            if c != me {
                ctx.send(c, CrawlMsg::Ping);
            }
        }
    }

    /// A ping from another crawler.
    pub fn on_ping<S: Service<Msg = CrawlMsg>>(&mut self, ctx: &mut Ctx<'_, S>, from: NodeId) {
        if self.opts.crawler_ids().contains(&from) {
            self.heard.insert(from, ctx.now().mono);
        }
    }

    /// The call line's timer.
    pub fn on_call_timer<S: Service<Msg = CrawlMsg>>(&mut self, ctx: &mut Ctx<'_, S>) {
        self.calls.on_timer(ctx);
    }

    /// A replica answered a call.
    pub fn on_answer<S: Service<Msg = CrawlMsg>>(
        &mut self,
        ctx: &mut Ctx<'_, S>,
        from: NodeId,
        seq: u64,
        resp: crate::services::replicated::Response<CrawlResult>,
    ) {
        if let Some(a) = self.calls.on_answer(ctx, from, seq, resp) {
            self.answered(ctx, a);
        }
    }

    fn host_of_op(op: &CrawlOp) -> Option<u32> {
        match op {
            CrawlOp::Claim { host, .. }
            | CrawlOp::Renew { host, .. }
            | CrawlOp::Fetched { host, .. } => Some(*host),
            CrawlOp::Seed { .. } | CrawlOp::Expire { .. } => None,
        }
    }

    fn answered<S: Service<Msg = CrawlMsg>>(&mut self, ctx: &mut Ctx<'_, S>, a: Answered) {
        let Some(host) = Self::host_of_op(&a.op) else {
            return;
        };
        let usable = ms(self.opts.usable_ms());
        match a.result {
            CrawlResult::Owner {
                token,
                next,
                robots,
                handover,
            } => {
                let now = ctx.now();
                if let Some(own) = self.owned.get_mut(&host).filter(|o| o.token == token) {
                    own.valid_until = own.valid_until.max(a.asked.saturating_add(usable));
                    if robots.is_some() {
                        own.robots = robots;
                    }
                    if self.flaws.batch {
                        // The report was for the URL at the front (not robots.txt).
                        if let CrawlOp::Fetched { id, .. } = &a.op
                            && own.next.front().is_some_and(|p| p.id == *id)
                        {
                            own.next.pop_front();
                        }
                        own.next.extend(next);
                    } else {
                        own.next = next.into();
                    }
                    if own.phase == Phase::Reporting {
                        own.phase = Phase::Ready;
                    }
                } else if matches!(a.op, CrawlOp::Claim { .. }) {
                    if handover {
                        ctx.note("crawler/handover", json!({"host": host, "token": token}));
                    }
                    self.own(ctx, host, token, a.asked, next, robots, now);
                } else {
                    return;
                }
                self.step(ctx, host);
            }
            CrawlResult::NotOwner => {
                if self.owned.remove(&host).is_some() {
                    ctx.note("crawler/not-owner", json!({"host": host}));
                }
            }
            CrawlResult::OwnedElsewhere | CrawlResult::Seeded { .. } | CrawlResult::Done => {}
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn own<S: Service<Msg = CrawlMsg>>(
        &mut self,
        ctx: &mut Ctx<'_, S>,
        host: u32,
        token: u64,
        asked: LocalInstant,
        next: Vec<Pending>,
        robots: Option<Robots>,
        now: crate::time::LocalNow,
    ) {
        // Per node, the only delay known is this node's own last request to the host.
        let wait = if self.flaws.per_node {
            self.last_request.get(&host).map_or(Duration::ZERO, |t| {
                t.saturating_add(ms(self.opts.crawl_delay_ms))
                    .saturating_since(now.mono)
            })
        } else {
            ms(self.opts.handover_wait_ms())
        };
        let me = ctx.node().0;
        ctx.observe(
            "crawler/own",
            json!({"host": host, "token": token, "crawler": me}),
        );
        self.owned.insert(
            host,
            Own {
                token,
                valid_until: asked.saturating_add(ms(self.opts.usable_ms())),
                ready_at: now.mono.saturating_add(wait),
                ready_wall_ms: now.wall.as_unix_ms().saturating_add(millis_i64(wait)),
                last_asked: asked,
                robots,
                next: next.into(),
                phase: Phase::Ready,
            },
        );
    }

    /// Host `host`'s timer.
    pub fn on_host_timer<S: Service<Msg = CrawlMsg>>(&mut self, ctx: &mut Ctx<'_, S>, host: u32) {
        let now = ctx.now().mono;
        let timed_out = match self.owned.get(&host).map(|o| &o.phase) {
            Some(Phase::Fetching { sent, fetch, .. }) => {
                (now.saturating_since(*sent) >= ms(self.opts.fetch_timeout_ms)).then_some(*fetch)
            }
            _ => None,
        };
        if let Some(fetch) = timed_out {
            ctx.note(
                "crawler/fetch-timeout",
                json!({"host": host, "fetch": fetch}),
            );
            self.after_request(ctx, host);
            if self.flaws.retry_at_once
                && let Some(own) = self.owned.get_mut(&host)
            {
                own.ready_at = now;
                own.ready_wall_ms = ctx.now().wall.as_unix_ms();
            }
        }
        self.step(ctx, host);
    }

    /// The wait before the next request, counted from now (the response, or the timeout).
    fn after_request<S: Service<Msg = CrawlMsg>>(&mut self, ctx: &mut Ctx<'_, S>, host: u32) {
        let now = ctx.now();
        let stretch = !self.flaws.per_node;
        let opts = &self.opts;
        let Some(own) = self.owned.get_mut(&host) else {
            return;
        };
        let delay = own
            .robots
            .as_ref()
            .map_or(opts.crawl_delay_ms, |r| r.delay_ms);
        let wait = if stretch {
            opts.stretched_ms(delay)
        } else {
            delay
        };
        own.ready_at = now.mono.saturating_add(ms(wait));
        own.ready_wall_ms = now.wall.as_unix_ms().saturating_add(millis_i64(ms(delay)));
        own.phase = Phase::Ready;
        self.last_request.insert(host, now.mono);
    }

    /// Moves host `host` on: fetch, skip, renew, or wait.
    fn step<S: Service<Msg = CrawlMsg>>(&mut self, ctx: &mut Ctx<'_, S>, host: u32) {
        let now = ctx.now();
        let timer = TimerId(HOST_TIMER_BASE + u64::from(host));
        let Some(own) = self.owned.get(&host) else {
            return;
        };
        if !self.flaws.per_node && now.mono >= own.valid_until {
            ctx.note(
                "crawler/lease-lapsed",
                json!({"host": host, "token": own.token}),
            );
            self.owned.remove(&host);
            return;
        }
        if own.phase != Phase::Ready {
            if let Phase::Fetching { sent, .. } = own.phase {
                ctx.set_timer(
                    timer,
                    sent.saturating_add(ms(self.opts.fetch_timeout_ms))
                        .saturating_since(now.mono)
                        .max(ms(1)),
                );
            }
            return;
        }
        let renew_due = own.last_asked.saturating_add(ms(self.opts.renew_ms));
        let (token, batch) = (own.token, self.flaws.batch);
        // What to fetch: robots.txt first, then the frontier, skipping what robots.txt
        // disallows (and, with the planted bug, what this node remembers fetching).
        let target = match (&own.robots, own.next.front()) {
            (None, _) => Some((0, format!("http://h{host}.example/robots.txt"))),
            (Some(_), None) => None,
            (Some(r), Some(p)) => {
                let path = web::path_of(&p.url, self.opts.hosts).unwrap_or_default();
                let skip =
                    !r.allows(&path) || (self.flaws.memory_seen && self.seen_mem.contains(&p.url));
                if skip {
                    let op = self.fetched_op(host, token, p.id, Vec::new(), None);
                    self.report(ctx, host, op);
                    return;
                }
                Some((p.id, p.url.clone()))
            }
        };
        let Some((id, url)) = target else {
            if now.mono >= renew_due {
                let op = CrawlOp::Renew { host, token, batch };
                self.report(ctx, host, op);
            } else {
                ctx.set_timer(timer, renew_due.saturating_since(now.mono).max(ms(1)));
            }
            return;
        };
        let wait = if self.flaws.wall {
            let left = own.ready_wall_ms.saturating_sub(now.wall.as_unix_ms());
            ms(u64::try_from(left).unwrap_or(0))
        } else {
            own.ready_at.saturating_since(now.mono)
        };
        if !wait.is_zero() {
            let until_renew = renew_due.saturating_since(now.mono);
            if until_renew.is_zero() {
                let op = CrawlOp::Renew { host, token, batch };
                return self.report(ctx, host, op);
            }
            ctx.set_timer(timer, wait.min(until_renew).max(ms(1)));
            return;
        }
        self.fetches += 1;
        let fetch = self.fetches;
        ctx.send(
            self.opts.host_node(host),
            CrawlMsg::Fetch {
                url: url.clone(),
                token,
                fetch,
            },
        );
        if self.flaws.memory_seen {
            self.seen_mem.insert(url.clone());
        }
        if let Some(own) = self.owned.get_mut(&host) {
            own.phase = Phase::Fetching {
                fetch,
                id,
                url,
                sent: now.mono,
            };
        }
        ctx.set_timer(timer, ms(self.opts.fetch_timeout_ms));
    }

    fn fetched_op(
        &self,
        host: u32,
        token: u64,
        id: u64,
        links: Vec<(u32, String)>,
        robots: Option<Robots>,
    ) -> CrawlOp {
        CrawlOp::Fetched {
            host,
            token,
            id,
            links,
            robots,
            dedup: !self.flaws.memory_seen,
            batch: self.flaws.batch,
        }
    }

    fn report<S: Service<Msg = CrawlMsg>>(&mut self, ctx: &mut Ctx<'_, S>, host: u32, op: CrawlOp) {
        let now = ctx.now().mono;
        if let Some(own) = self.owned.get_mut(&host) {
            own.phase = Phase::Reporting;
            own.last_asked = now;
        }
        self.calls.push(ctx, op);
    }

    /// A web host answered request `fetch`.
    pub fn on_page<S: Service<Msg = CrawlMsg>>(
        &mut self,
        ctx: &mut Ctx<'_, S>,
        from: NodeId,
        fetch: u64,
        served: Served,
    ) {
        let hosts = self.opts.hosts;
        let Some((&host, own)) = self
            .owned
            .iter()
            .find(|(_, o)| matches!(&o.phase, Phase::Fetching { fetch: f, .. } if *f == fetch))
        else {
            return;
        };
        if self.opts.host_node(host) != from {
            return;
        }
        let (token, id) = match &own.phase {
            Phase::Fetching { id, .. } => (own.token, *id),
            _ => return,
        };
        if let Some(r) = &served.robots
            && let Some(own) = self.owned.get_mut(&host)
        {
            own.robots = Some(r.clone());
        }
        self.after_request(ctx, host);
        if served.status == 503 {
            return self.step(ctx, host);
        }
        let mut links = Vec::new();
        for raw in served.links.iter().chain(served.location.iter()) {
            let Some(h) = web::host_of(raw, hosts) else {
                continue;
            };
            let url = if self.flaws.raw_urls {
                raw.clone()
            } else {
                match web::normalise(raw, hosts) {
                    Some(u) => u,
                    None => continue,
                }
            };
            if self.flaws.memory_seen && self.seen_mem.contains(&url) {
                continue;
            }
            if !links.iter().any(|(_, u)| *u == url) && links.len() < self.opts.links_max {
                links.push((h, url));
            }
        }
        let op = self.fetched_op(host, token, id, links, served.robots);
        self.report(ctx, host, op);
    }
}

fn millis_i64(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
